//! Compile-time behaviour of the macros, and of the gRPC client layer's body bound: what must
//! compile, and the exact error for each mistake (`tests/ui/<macro>/{pass,fail}/`). Regenerate `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p vitalsign-tests --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/*/pass/*.rs");
    t.compile_fail("ui/*/fail/*.rs");
}
