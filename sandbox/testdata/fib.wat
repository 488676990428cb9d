;; fib: a call-heavy benchmark, naive recursive Fibonacci of 30 (about 2.7
;; million calls).
(module
  (global $sink (mut i32) (i32.const 0))
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "_start")
    (global.set $sink (call $fib (i32.const 30)))))
