;; import_type: imports a WASI function with the wrong signature.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i64)))
  (func (export "_start")
    (call $w (i64.const 1))))
