//! `edgeopt convert --opset` on a real opset-11 model (PP-OCR cls): the upgrade rewrites the ops
//! whose definition changes, the result declares opset 13 and gives the same outputs as the
//! original on the reference executor and the runtime.

use std::path::{Path, PathBuf};
use std::process::Command;

fn edgeopt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgeopt"))
        .args(args)
        .output()
        .expect("the edgeopt binary runs")
}

/// `$EDGEOPT_PPOCR_MODELS`, or the workspace's `.venv` (made by scripts/setup-python.sh).
fn ppocr_dir() -> PathBuf {
    if let Ok(d) = std::env::var("EDGEOPT_PPOCR_MODELS") {
        return d.into();
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path().join("site-packages/rapidocr_onnxruntime/models"))
                .find(|p| p.is_dir())
        })
        .unwrap_or_else(|| {
            panic!(
                "PP-OCR models not found under {}: run scripts/setup-python.sh or set EDGEOPT_PPOCR_MODELS",
                lib.display()
            )
        })
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn convert_upgrades_an_opset_11_model_to_13_keeping_its_outputs() {
    let src = ppocr_dir().join("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    let src = src.to_str().expect("utf-8 path");
    let dir = tempfile::tempdir().expect("temp dir");
    let dst = dir.path().join("cls13.onnx");
    let dst = dst.to_str().expect("utf-8 path");
    let said = ok(&edgeopt(&["convert", src, dst, "--opset", "13"]), "convert");
    assert!(said.contains("opset 13"), "{said}");
    let info = ok(&edgeopt(&["inspect", dst]), "inspect");
    assert!(info.contains("ai.onnx=13"), "{info}");

    let outs: Vec<Vec<u8>> = [src, dst]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let out = dir.path().join(format!("out{i}.npz"));
            let o = out.to_str().expect("utf-8 path");
            ok(
                &edgeopt(&[
                    "run",
                    m,
                    "--random",
                    "--shape",
                    "x=1x3x48x192",
                    "--reference",
                    "-o",
                    o,
                ]),
                "run",
            );
            std::fs::read(&out).expect("output written")
        })
        .collect();
    assert_eq!(
        outs[0], outs[1],
        "opset-13 outputs differ from the original's"
    );
}

#[test]
fn convert_refuses_a_downgrade_that_changes_meaning_and_writes_nothing() {
    let src = ppocr_dir().join("ch_ppocr_mobile_v2.0_cls_infer.onnx");
    let dir = tempfile::tempdir().expect("temp dir");
    let up = dir.path().join("cls13.onnx");
    ok(
        &edgeopt(&[
            "convert",
            src.to_str().unwrap(),
            up.to_str().unwrap(),
            "--opset",
            "13",
        ]),
        "convert",
    );
    let down = dir.path().join("cls11.onnx");
    let out = edgeopt(&[
        "convert",
        up.to_str().unwrap(),
        down.to_str().unwrap(),
        "--opset",
        "11",
    ]);
    assert!(!out.status.success(), "a meaning-changing downgrade passed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot declare opset 11"), "{err}");
    assert!(!down.exists(), "nothing may be written on failure");
}
