;; grow: grows memory a page at a time until memory.grow fails (-1), then
;; traps, as a guest out of memory would.
(module
  (memory 1)
  (func (export "_start")
    (loop $l
      (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))
