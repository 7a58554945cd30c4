//! Every case of the conformance manifest, run through a `Session` (optimized, lowered to the
//! fast kernels, static memory plan), must match the expected outputs as the reference
//! executor does (rtol 1e-3, atol 1e-7: ONNX's backend runner tolerances).

use edgeopt_conformance::*;
use edgeopt_runtime::{Session, SessionOptions};
use std::path::{Path, PathBuf};

fn run_case_session(case: &Path) -> Result<(), String> {
    let model = load_case(case).map_err(|e| format!("load: {e:#}"))?;
    let opts = SessionOptions {
        threads: 1,
        ..SessionOptions::default()
    };
    let mut session = Session::new(model.clone(), opts).map_err(|e| format!("build: {e}"))?;
    let mut sets: Vec<PathBuf> = std::fs::read_dir(case)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    let feeds = edgeopt_ir::exec::feed_inputs(&model.graph);
    for set in sets {
        let mut inputs = Vec::new();
        for (i, id) in feeds.iter().enumerate() {
            let p = set.join(format!("input_{i}.pb"));
            if !p.exists() {
                break;
            }
            inputs
                .push(read_value(&p, Some(&model.graph.value(*id).ty)).map_err(|e| e.to_string())?);
        }
        let got = session
            .run_values(&inputs)
            .map_err(|e| format!("run: {e}"))?;
        for (i, g) in got.iter().enumerate() {
            let p = set.join(format!("output_{i}.pb"));
            if !p.exists() {
                continue;
            }
            let hint = model.graph.value(model.graph.outputs[i]).ty.clone();
            let want = read_value(&p, Some(&hint)).map_err(|e| e.to_string())?;
            compare(g, &want).map_err(|e| format!("output {i}: {e}"))?;
        }
    }
    Ok(())
}

#[test]
fn manifest_cases_pass_through_the_runtime() {
    let Some(dir) = data_dir() else {
        println!("skipped: ONNX test data not found (set EDGEOPT_ONNX_TESTDATA)");
        return;
    };
    let filter = std::env::var("EDGEOPT_CONFORMANCE_FILTER").unwrap_or_default();
    let cases: Vec<String> = read_manifest(&manifest_path())
        .expect("manifest readable")
        .into_iter()
        .filter(|c| c.contains(&filter))
        .collect();
    let mut failures = Vec::new();
    for c in &cases {
        let case = dir.join(c);
        let r = std::panic::catch_unwind(|| run_case_session(&case))
            .unwrap_or_else(|_| Err("PANIC".into()));
        if let Err(e) = r {
            failures.push(format!("{c}: {e}"));
        }
    }
    println!(
        "{} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} cases fail through the runtime:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
