;; rotblock: puts a directory where its stdout's first old file goes
;; (stdout.1), writes 1,000 lines of 100 bytes to stdout, 100 kB, more than
;; a pipe holds, then "end", and exits with the first error fd_write
;; returns (0 if none).
(module
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "stdout.1")
  (data (i32.const 32) "end\n")
  (data (i32.const 64) "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n")
  ;; print writes len bytes at ptr to stdout, and exits on an error.
  (func $print (param $ptr i32) (param $len i32)
    (local $errno i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (local.set $errno (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (local.get $errno) (then (call $exit (local.get $errno)))))
  (func (export "_start")
    (local $i i32)
    (drop (call $mkdir (i32.const 3) (i32.const 16) (i32.const 8)))
    (loop $lines
      (call $print (i32.const 64) (i32.const 100))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lines (i32.lt_u (local.get $i) (i32.const 1000))))
    (call $print (i32.const 32) (i32.const 4))
    (call $exit (i32.const 0))))
