//! Shared test helpers: run a model through the session and the reference executor.
#![allow(dead_code)]

use edgeopt_ir::Model;
use edgeopt_passes::testing::{max_rel_diff, run};
use edgeopt_runtime::{Session, SessionOptions};
use edgeopt_tensor::Tensor;

/// Runs `model` on `inputs` through a session at `opt_level` with `threads` and checks the
/// outputs against the reference executor within `tol` (relative to the largest magnitude).
/// Returns the session (for fallback / plan checks).
pub fn check(model: &Model, inputs: &[Tensor], opt_level: u8, threads: usize, tol: f64) -> Session {
    let want = run(model, inputs);
    let opts = SessionOptions {
        threads,
        opt_level,
        ..SessionOptions::default()
    };
    let mut s = Session::new(model.clone(), opts).unwrap_or_else(|e| panic!("build: {e}"));
    let got = s.run(inputs).unwrap_or_else(|e| panic!("run: {e}"));
    let d = max_rel_diff(&got, &want);
    assert!(
        d <= tol,
        "runtime differs from the reference by {d} (tol {tol})"
    );
    s
}

/// Asserts every node ran on a fast kernel.
pub fn assert_all_fast(s: &Session, what: &str) {
    let f = s.fallback_nodes();
    assert!(f.is_empty(), "{what}: nodes on the reference eval: {f:?}");
}
