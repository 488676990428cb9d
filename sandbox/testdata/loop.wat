;; loop: spins forever in a tight loop.
(module
  (func (export "_start")
    (loop $l
      (br $l))))
