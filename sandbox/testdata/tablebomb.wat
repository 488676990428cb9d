;; tablebomb: grows a table without a maximum by 0xF0000000 elements.
;; wazero allocates the elements at once (30 GiB) and the Go runtime dies,
;; whatever the memory limit; module.Validate refuses the module because
;; its table can grow and declares no maximum.
(module
  (table $t 1 funcref)
  (func (export "_start")
    (if (i32.eq (table.grow $t (ref.null func) (i32.const 0xF0000000)) (i32.const -1))
      (then unreachable))))
