;; growsteps: grows memory 16 MiB (256 pages) at a time until memory.grow
;; fails, then traps. Under a 64 MiB limit it is refused at 48 MiB, a
;; quarter of the limit below it.
(module
  (memory 1)
  (func (export "_start")
    (loop $l
      (br_if $l (i32.ne (memory.grow (i32.const 256)) (i32.const -1))))
    unreachable))
