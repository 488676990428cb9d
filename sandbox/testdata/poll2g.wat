;; poll2g: sleeps a millisecond through poll_oneoff with its subscription,
;; event and count all past 2 GiB in memory, where a guest address no
;; longer fits an int32, and exits with the errno poll_oneoff returns.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 32770)
  (func (export "_start")
    ;; a relative sleep on the monotonic clock (1) of 1 ms
    (i32.store (i32.const 0x80000010) (i32.const 1))
    (i64.store (i32.const 0x80000018) (i64.const 1000000))
    (call $exit (call $poll (i32.const 0x80000000) (i32.const 0x80001000) (i32.const 1) (i32.const 0x80002000)))))
