;; bigmem: asks for 100 pages (6.25 MiB) of initial memory.
(module
  (memory 100)
  (func (export "_start")))
