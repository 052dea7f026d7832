;; A guest module for tests/engine: probes the runtime's linear memory, traps
;; and stack-overflow handling. 2 initial pages, at most 1000.
(module
  (type $unary (func (param i32) (result i32)))
  (memory (export "memory") 2 1000)
  (table 2 funcref)
  (elem (i32.const 0) $ident)
  (global $counter (export "counter") (mut i32) (i32.const 41))
  (data (i32.const 16) "hello")

  (func $ident (type $unary) (local.get 0))

  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_far") (param i32) (result i32)
    (i32.load offset=0xffffffff (local.get 0)))
  (func (export "load64_far") (param i32) (result i64)
    (i64.load offset=0xfffffff8 (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "crash") (unreachable))
  (func (export "call_slot") (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 1) (local.get 0)))
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))

  ;; Recursion without end. Each frame stores to memory before and after the
  ;; call, so the C compiler can neither drop the calls nor turn them into a
  ;; loop.
  (func $recurse (export "recurse") (param $n i32) (result i32)
    (local $r i32)
    (i32.store (i32.const 0) (local.get $n))
    (local.set $r (call $recurse (i32.add (local.get $n) (i32.const 1))))
    (i32.store (i32.const 4) (local.get $r))
    (i32.add (i32.load (i32.const 4)) (i32.load (i32.const 0))))
  ;; Recursion to a given depth; returns the depth.
  (func $deep (export "deep") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else
        (i32.store (i32.const 8) (local.get $n))
        (i32.add
          (i32.add (call $deep (i32.sub (local.get $n) (i32.const 1)))
                   (i32.load8_u (i32.const 16)))
          (i32.const -103)))))  ;; 'h' (104) - 103 = 1 per level
)
