;; import_memory: imports its memory, which no host provides.
(module
  (import "env" "memory" (memory 1))
  (func (export "_start")))
