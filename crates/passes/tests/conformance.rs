//! Every case of the ONNX backend-test manifest still passes after the level-2 pipeline: the
//! passes meet ~2000 small real graphs (Constant inputs, odd dtypes, sequences, subgraphs),
//! and may neither fail nor change a result. The data comes from scripts/fetch-data.sh (or
//! `$EDGEOPT_ONNX_TESTDATA`).

use edgeopt_conformance::{data_dir, load_case, manifest_path, read_manifest, run_with, Outcome};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn manifest_cases_pass_after_optimization() {
    let dir = data_dir().expect(
        "ONNX test data not found: run scripts/fetch-data.sh (or set EDGEOPT_ONNX_TESTDATA)",
    );
    let cases = read_manifest(&manifest_path()).expect("manifest");
    let mut failures = Vec::new();
    let mut rewritten = 0;
    for case in &cases {
        let case_dir = dir.join(case);
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut m = load_case(&case_dir).map_err(|e| format!("load: {e:#}"))?;
            let before = m.graph.nodes.len();
            edgeopt_passes::optimize(&mut m, 2).map_err(|e| format!("optimize: {e}"))?;
            let changed = m.graph.nodes.len() != before;
            match run_with(&m, &case_dir) {
                Outcome::Pass => Ok(changed),
                Outcome::Mismatch(e) | Outcome::Error(e) => Err(e),
            }
        }));
        match r {
            Ok(Ok(changed)) => rewritten += changed as usize,
            Ok(Err(e)) => failures.push(format!("{case}: {e}")),
            Err(_) => failures.push(format!("{case}: PANIC")),
        }
    }
    println!("{} cases, {rewritten} changed by the passes", cases.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
