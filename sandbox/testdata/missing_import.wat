;; missing_import: imports a function no host provides.
(module
  (import "env" "nope" (func $nope))
  (func (export "_start")
    (call $nope)))
