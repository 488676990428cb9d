;; recurse: calls itself until the stack overflows.
(module
  (func $f (export "_start")
    (call $f)))
