;; tiny: an entry point that returns at once; the smallest task. It also
;; exports a function that takes a parameter, which is no entry point.
(module
  (func (export "_start"))
  (func (export "with_param") (param i32)))
