;; calltree: a loop-free exponential call tree. $f calls itself twice with
;; n-1 until n is 0: 2^64 calls at a depth of 64, so the stack never
;; overflows and no loop header is ever reached. wazero checks for a stop
;; only at loop headers and cannot stop it; wasmtime checks at function
;; entries too.
(module
  (func $f (param $n i32)
    (if (local.get $n)
      (then
        (call $f (i32.sub (local.get $n) (i32.const 1)))
        (call $f (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "_start")
    (call $f (i32.const 64))))
