//! CI gate: every case listed in tests/conformance/manifest.txt must pass, and must survive an
//! import -> export -> import round trip with bit-identical outputs.

use edgeopt_conformance::*;

fn manifest_cases() -> Option<(std::path::PathBuf, Vec<String>)> {
    let dir = data_dir()?;
    let cases = read_manifest(&manifest_path()).expect("manifest readable");
    Some((dir, cases))
}

#[test]
fn manifest_cases_pass() {
    let Some((dir, cases)) = manifest_cases() else {
        panic!(
            "ONNX test data not found: run scripts/fetch-data.sh (or set EDGEOPT_ONNX_TESTDATA)"
        );
    };
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| match run_case(&dir.join(c)) {
            Outcome::Pass => None,
            other => Some(format!("{c}: {other:?}")),
        })
        .collect();
    println!(
        "{} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} manifest cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn manifest_cases_round_trip() {
    let Some((dir, cases)) = manifest_cases() else {
        panic!(
            "ONNX test data not found: run scripts/fetch-data.sh (or set EDGEOPT_ONNX_TESTDATA)"
        );
    };
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            roundtrip_case(&dir.join(c))
                .err()
                .map(|e| format!("{c}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} cases changed after export/import:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
