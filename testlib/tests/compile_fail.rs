//! What must not compile, with the compiler's message pinned (trybuild): OCaml values kept on
//! the OCaml thread by their types, and the error messages of `#[lwt_rust::func]`. Run by
//! `make compile-fail` (part of `make test`); `TRYBUILD=overwrite` rewrites the expected
//! `.stderr` files after a deliberate change (review them: they are the test).

#[test]
fn compile_fail() {
    trybuild::TestCases::new().compile_fail("tests/compile_fail/*.rs");
}
