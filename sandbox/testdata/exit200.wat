;; exit200: exits with code 200 through WASI proc_exit, past the 0 to 125
;; that a shell leaves to programs.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit (i32.const 200))))
