;; Guest for tests/engine/standalone: a loop with a branch the profile sees.
(module
  (memory (export "memory") 1)
  (func $step (param $x i32) (result i32)
    (if (result i32) (i32.and (local.get $x) (i32.const 1))
      (then (i32.add (i32.mul (local.get $x) (i32.const 3)) (i32.const 1)))
      (else (i32.shr_u (local.get $x) (i32.const 1)))))
  ;; Sum of Collatz path lengths of 1..n.
  (func (export "collatz_total") (param $n i32) (result i32)
    (local $i i32) (local $x i32) (local $total i32)
    (local.set $i (i32.const 1))
    (block $done
      (loop $outer
        (br_if $done (i32.gt_u (local.get $i) (local.get $n)))
        (local.set $x (local.get $i))
        (block $reached_one
          (loop $inner
            (br_if $reached_one (i32.le_u (local.get $x) (i32.const 1)))
            (local.set $x (call $step (local.get $x)))
            (local.set $total (i32.add (local.get $total) (i32.const 1)))
            (br $inner)))
        (i32.store (i32.const 0) (local.get $total))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $total)))
