//! ONNX Runtime as the oracle: the quantized files load and run there, and agree with the
//! reference executor. Python comes from `EDGEOPT_PYTHON` (default `python3`); without
//! onnxruntime the tests print why and pass without checking.

mod common;

use common::*;
use edgeopt_ir::Model;
use edgeopt_quant::params::{QParams, QType};
use edgeopt_quant::{quantize_static, Reference, Selection, StaticConfig};
use edgeopt_tensor::Tensor;
use std::path::Path;
use std::process::Command;

fn python() -> Option<String> {
    let py = std::env::var("EDGEOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import onnxruntime, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("skipping: {py} has no onnxruntime/numpy (set EDGEOPT_PYTHON)");
    }
    ok.then_some(py)
}

/// Runs `model` in ORT on `x` (f32) and returns the first output.
fn ort_run(py: &str, dir: &Path, model: &Model, file: &str, x: &Tensor) -> Vec<f32> {
    let path = dir.join(file);
    edgeopt_onnx::save_model(model, &path, &Default::default()).unwrap();
    let raw = dir.join(format!("{file}.in"));
    std::fs::write(&raw, x.as_bytes()).unwrap();
    let shape: Vec<String> = x.shape().iter().map(|d| d.to_string()).collect();
    let script = r#"
import sys, numpy as np, onnxruntime as ort
so = ort.SessionOptions(); so.log_severity_level = 3
s = ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])
x = np.fromfile(sys.argv[2], dtype=np.float32).reshape([int(d) for d in sys.argv[3].split(',')])
y = s.run(None, {s.get_inputs()[0].name: x})[0]
sys.stdout.write(' '.join(repr(float(v)) for v in y.astype(np.float32).ravel()))
"#;
    let out = Command::new(py)
        .args([
            "-c",
            script,
            path.to_str().unwrap(),
            raw.to_str().unwrap(),
            &shape.join(","),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ORT failed on {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn quantize_linear_matches_numpy() {
    let Some(py) = python() else { return };
    let xs: Vec<f32> = (0..2000)
        .map(|i| (i as f32 - 1000.0) * 0.0137 + 0.5 * ((i % 7) as f32 - 3.0) * 0.01)
        .collect();
    for (qt, sym) in [(QType::U8, false), (QType::I8, true), (QType::I8, false)] {
        let p = QParams::from_range(-7.3, 11.9, qt, sym, false);
        let ours: Vec<String> = xs.iter().map(|&x| p.quantize(x, qt).to_string()).collect();
        let (lo, hi) = qt.storage_range();
        let script = format!(
            "import numpy as np,sys\nx=np.array([{}],dtype=np.float32)\ns=np.float32({:e})\nq=np.clip(np.rint(x/s)+{},{},{}).astype(np.int64)\nprint(' '.join(map(str,q)))",
            xs.iter().map(|v| format!("{v:e}")).collect::<Vec<_>>().join(","),
            p.scale, p.zero_point, lo, hi
        );
        let out = Command::new(&py).args(["-c", &script]).output().unwrap();
        let theirs: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect();
        assert_eq!(ours, theirs, "{qt:?} symmetric={sym}");
    }
}

#[test]
fn static_qdq_runs_in_ort() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_cnn();
    let calib = samples(&[1, 3, 8, 8], 8, 100);
    for (i, cfg) in [
        StaticConfig::default(),
        StaticConfig {
            activation_type: QType::I8,
            symmetric_activations: true,
            per_channel: false,
            ..Default::default()
        },
    ]
    .into_iter()
    .enumerate()
    {
        let q = quantize_static(&m, &calib, &cfg, &Reference, &mut no_progress())
            .unwrap()
            .model;
        let x = &samples(&[1, 3, 8, 8], 1, 77)[0][0];
        let ort_q = ort_run(&py, dir.path(), &q, &format!("q{i}.onnx"), x);
        let ort_f = ort_run(&py, dir.path(), &m, "f.onnx", x);
        let ours_q = run(&q, std::slice::from_ref(x));
        // ORT fuses the QDQ groups into integer kernels: results differ from the dequantized
        // reference by rounding of the requantization only.
        let scale = ours_q.iter().fold(0f32, |a, v| a.max(v.abs()));
        assert!(
            max_abs(&ort_q, &ours_q) <= 0.05 * scale,
            "cfg {i}: ORT {ort_q:?} vs ours {ours_q:?}"
        );
        assert!(
            cosine(&ort_q, &ort_f) > 0.99,
            "cfg {i}: int8 vs fp32 in ORT: {}",
            cosine(&ort_q, &ort_f)
        );
    }
}

#[test]
fn dynamic_fp16_int4_run_in_ort() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let m = tiny_mlp();
    let x = &samples(&[2, 64], 1, 5)[0][0];
    let f = ort_run(&py, dir.path(), &m, "f.onnx", x);
    let mut d = m.clone();
    edgeopt_quant::dynamic::quantize_dynamic(&mut d, &Selection::default(), false).unwrap();
    let got = ort_run(&py, dir.path(), &d, "d.onnx", x);
    assert!(max_abs(&got, &run(&d, std::slice::from_ref(x))) < 1e-4);
    assert!(cosine(&got, &f) > 0.995);
    let mut h = m.clone();
    edgeopt_quant::weight_only::weights_to_fp16(&mut h).unwrap();
    assert!(cosine(&ort_run(&py, dir.path(), &h, "h.onnx", x), &f) > 0.9999);
    let mut q = m.clone();
    edgeopt_quant::weight_only::weights_to_int4(&mut q, 32, &Selection::default()).unwrap();
    let got = ort_run(&py, dir.path(), &q, "i4.onnx", x);
    assert!(max_abs(&got, &run(&q, std::slice::from_ref(x))) < 1e-4);
    assert!(cosine(&got, &f) > 0.98);
}

#[test]
fn prepared_lcnet_block_runs_in_ort() {
    // Affine folding + HardSwish fusion (opset 14), data-aware equalization, bias correction:
    // the QDQ file must stay valid for ONNX Runtime and close to the float model there.
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let m = lcnet_block(12);
    let calib = samples(&[1, 4, 10, 10], 8, 300);
    let mut p = m.clone();
    edgeopt_quant::preprocess(&mut p).unwrap();
    assert_eq!(count(&p, "HardSwish"), 1);
    edgeopt_quant::equalize_with_data(&mut p, &calib, &Reference, &mut no_progress()).unwrap();
    let cfg = StaticConfig::default();
    let stats = edgeopt_quant::calibrate(&p, &calib, &cfg, &Reference, &mut no_progress()).unwrap();
    edgeopt_quant::bias_correct::correct_biases(
        &mut p,
        &stats,
        &cfg,
        &calib,
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    let q = edgeopt_quant::quantize_with_stats(&p, &stats, &cfg)
        .unwrap()
        .model;
    let x = &samples(&[1, 4, 10, 10], 1, 9)[0][0];
    let ort_q = ort_run(&py, dir.path(), &q, "q.onnx", x);
    let ort_f = ort_run(&py, dir.path(), &m, "f.onnx", x);
    let ours_q = run(&q, std::slice::from_ref(x));
    let scale = ours_q.iter().fold(0f32, |a, v| a.max(v.abs()));
    assert!(max_abs(&ort_q, &ours_q) <= 0.05 * scale);
    assert!(cosine(&ort_q, &ort_f) > 0.99, "{}", cosine(&ort_q, &ort_f));
}
