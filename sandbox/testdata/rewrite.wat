;; rewrite: a module whose calls reach functions in every way a module
;; can, for the tests of boundStack: imports (a function and a global),
;; multiple results, a start function, element segments and
;; call_indirect, ref.func and table.set, exports of functions and
;; globals.
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "base" (global $base i32))
  (type $unary (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (i32.const 0) $fact $double)
  (elem declare func $triple)
  (global $started (export "started") (mut i32) (i32.const 0))
  (start $init)
  (func $init
    (global.set $started (i32.add (global.get $base) (i32.const 1))))
  (func $fact (export "fact") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (i32.const 1))
      (else (i32.mul (local.get 0) (call $fact (i32.sub (local.get 0) (i32.const 1)))))))
  (func $double (param i32) (result i32)
    (call $add (local.get 0) (local.get 0)))
  (func $triple (param i32) (result i32)
    (i32.mul (local.get 0) (i32.const 3)))
  (func $swap (export "swap") (param i32 i64 f64) (result f64 i64 i32)
    (local $tmp v128)
    (local.get 2) (local.get 1) (local.get 0))
  (func (export "via_table") (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 1) (local.get 0)))
  (func (export "via_ref_func") (param i32) (result i32)
    (table.set $t (i32.const 2) (ref.func $triple))
    (call_indirect (type $unary) (local.get 0) (i32.const 2)))
  (func (export "trap")
    unreachable))
