;; arith: a CPU-bound benchmark, a tight loop of arithmetic: 100 million
;; rounds of xorshift64.
(module
  (global $sink (mut i64) (i64.const 0))
  (func (export "_start")
    (local $i i64) (local $x i64)
    (local.set $x (i64.const 88172645463325252))
    (local.set $i (i64.const 100000000))
    (loop $l
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
      (local.set $i (i64.sub (local.get $i) (i64.const 1)))
      (br_if $l (i64.ne (local.get $i) (i64.const 0))))
    (global.set $sink (local.get $x))))
