;; mutual: two functions that call each other until the stack overflows.
(module
  (func $ping (export "_start")
    (call $pong))
  (func $pong
    (call $ping)))
