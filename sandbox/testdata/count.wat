;; count: the tightest CPU-bound loop, a counter to 100 million: what a
;; check at every loop header costs at most.
(module
  (global $sink (mut i32) (i32.const 0))
  (func (export "_start")
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.ne (local.get $i) (i32.const 100000000))))
    (global.set $sink (local.get $i))))
