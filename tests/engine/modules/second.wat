;; A second module with its own linear memory, for tests/engine: only one
;; linear memory may be live per process.
(module
  (memory (export "memory") 1)
  (func (export "answer") (result i32) (i32.const 42)))
