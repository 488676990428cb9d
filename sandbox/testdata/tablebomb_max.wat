;; tablebomb_max: tablebomb with a table whose declared maximum is as
;; large as a table can be, which module.Validate accepts only when
;; MaxTableElements allows it. Then only the engine's own limit stands in
;; the way: wasmtime's store limiter refuses the grow.
(module
  (table $t 1 0xFFFFFFFF funcref)
  (func (export "_start")
    (if (i32.eq (table.grow $t (ref.null func) (i32.const 0xF0000000)) (i32.const -1))
      (then unreachable))))
