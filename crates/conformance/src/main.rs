//! `edgeopt-conformance`: runs the ONNX backend tests and prints `N passed, M failed`.
//!
//! Usage: edgeopt-conformance [--filter SUBSTR]... [--manifest] [--write-manifest PATH]
//!        [--roundtrip] [--quiet]

use edgeopt_conformance::*;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters = Vec::new();
    let (mut use_manifest, mut write, mut quiet, mut roundtrip) = (false, None, false, false);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--filter" => {
                i += 1;
                filters.push(args.get(i).cloned().unwrap_or_default());
            }
            "--manifest" => use_manifest = true,
            "--write-manifest" => {
                i += 1;
                write = args.get(i).cloned();
            }
            "--roundtrip" => roundtrip = true,
            "--quiet" | "-q" => quiet = true,
            "-h" | "--help" => {
                println!("edgeopt-conformance [--filter SUBSTR]... [--manifest] [--write-manifest PATH] [--roundtrip] [--quiet]");
                return Ok(());
            }
            other => filters.push(other.to_string()),
        }
        i += 1;
    }
    let dir = data_dir().ok_or_else(|| {
        anyhow::anyhow!(
            "ONNX test data not found: run scripts/fetch-data.sh or set EDGEOPT_ONNX_TESTDATA"
        )
    })?;
    let mut cases = if use_manifest {
        read_manifest(&manifest_path())?
    } else {
        all_cases(&dir)
    };
    if !filters.is_empty() {
        cases.retain(|c| filters.iter().any(|f| c.contains(f.as_str())));
    }
    let start = Instant::now();
    let mut passed = Vec::new();
    let mut per_suite: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for c in &cases {
        let t = Instant::now();
        let outcome = if roundtrip {
            match roundtrip_case(&dir.join(c)) {
                Ok(()) => Outcome::Pass,
                Err(e) => Outcome::Error(e),
            }
        } else {
            run_case(&dir.join(c))
        };
        let suite = c.split('/').next().unwrap_or("").to_string();
        let e = per_suite.entry(suite).or_default();
        if outcome.passed() {
            e.0 += 1;
            passed.push(c.clone());
        } else {
            e.1 += 1;
        }
        if !quiet || !outcome.passed() {
            let line = match &outcome {
                Outcome::Pass => "ok".to_string(),
                Outcome::Mismatch(m) => format!("MISMATCH {m}"),
                Outcome::Error(m) => format!("ERROR {m}"),
            };
            let line: String = line.chars().take(400).collect();
            println!("{c}: {line} ({:.0} ms)", t.elapsed().as_secs_f64() * 1e3);
        }
    }
    for (s, (p, f)) in &per_suite {
        println!(
            "{s}: {p} passed, {f} failed ({:.1}%)",
            100.0 * *p as f64 / (*p + *f).max(1) as f64
        );
    }
    let (p, f) = (passed.len(), cases.len() - passed.len());
    println!(
        "{p} passed, {f} failed ({:.1}% pass rate) in {:.1} s",
        100.0 * p as f64 / cases.len().max(1) as f64,
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = write {
        let header = "# ONNX backend tests that must pass (suite/test). Regenerate with:\n\
                      #   cargo run --release -p edgeopt-conformance -- --write-manifest tests/conformance/manifest.txt\n\
                      # and review the diff: a case may only leave this list with a reason in the commit message.\n";
        std::fs::write(&path, format!("{header}{}\n", passed.join("\n")))?;
        println!("wrote {} passing cases to {path}", passed.len());
    }
    if use_manifest && f > 0 {
        std::process::exit(1);
    }
    Ok(())
}
