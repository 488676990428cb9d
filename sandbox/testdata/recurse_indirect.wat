;; recurse_indirect: calls itself through a table (call_indirect) until
;; the stack overflows.
(module
  (type $t (func))
  (table 1 funcref)
  (elem (i32.const 0) $f)
  (func $f (export "_start")
    (call_indirect (type $t) (i32.const 0))))
