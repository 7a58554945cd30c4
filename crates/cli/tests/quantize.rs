//! `edgeopt quantize` end to end through the built binary: a zoo model quantized with random
//! calibration data loads and runs; NaN calibration data is refused with a clear error and no
//! output file.

use std::path::Path;
use std::process::Command;

fn edgeopt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgeopt"))
        .args(args)
        .output()
        .expect("the edgeopt binary runs")
}

fn zoo_cnn(dir: &Path) -> String {
    let model = dir.join("cnn.onnx");
    let m = model.to_str().expect("utf-8 temp path").to_string();
    let out = edgeopt(&["zoo", "cnn", "-o", &m, "--batch", "1"]);
    assert!(
        out.status.success(),
        "zoo cnn failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    m
}

/// A little-endian float32 NPY file of the given shape.
fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for x in data {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, bytes).expect("write npy");
}

#[test]
fn quantize_zoo_cnn_with_random_calibration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = zoo_cnn(dir.path());
    let q = dir.path().join("cnn.int8.onnx");
    let qs = q.to_str().expect("utf-8 temp path");
    let out = edgeopt(&[
        "quantize",
        &model,
        "--calib",
        "random",
        "--samples",
        "8",
        "--report",
        "-o",
        qs,
    ]);
    assert!(
        out.status.success(),
        "quantize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded = edgeopt_onnx::load_model(&q, &Default::default()).expect("quantized model loads");
    let ops: Vec<&str> = loaded.graph.nodes.iter().map(|n| n.op_type()).collect();
    assert!(
        ops.contains(&"QuantizeLinear") && ops.contains(&"DequantizeLinear"),
        "no Q/DQ nodes in the output: {ops:?}"
    );
    // The quantized model runs through the CLI as well.
    let run = edgeopt(&["run", qs, "--random"]);
    assert!(
        run.status.success(),
        "running the quantized model failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn nan_calibration_data_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = zoo_cnn(dir.path());
    let calib = dir.path().join("calib.npy");
    let mut data = vec![0.25f32; 2 * 28 * 28];
    data[30] = f32::NAN;
    write_npy_f32(&calib, &[2, 1, 28, 28], &data);
    let q = dir.path().join("out.onnx");
    let out = edgeopt(&[
        "quantize",
        &model,
        "--calib",
        calib.to_str().expect("utf-8 temp path"),
        "-o",
        q.to_str().expect("utf-8 temp path"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "NaN calibration data was accepted");
    assert!(
        stderr.contains("finite") || stderr.contains("NaN"),
        "the error does not say the data is not finite: {stderr}"
    );
    assert!(!q.exists(), "an output file was written despite the error");
}

#[test]
fn wrong_shape_calibration_data_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let model = zoo_cnn(dir.path());
    let calib = dir.path().join("calib.npy");
    // 3 channels where the model takes 1: 2 * 3 * 28 * 28 elements split into 6 samples of
    // 1x1x28x28 would silently mix channels, so the rank/dims must be checked.
    write_npy_f32(&calib, &[2, 1, 28, 27], &vec![0.5f32; 2 * 28 * 27]);
    let q = dir.path().join("out.onnx");
    let out = edgeopt(&[
        "quantize",
        &model,
        "--calib",
        calib.to_str().expect("utf-8 temp path"),
        "-o",
        q.to_str().expect("utf-8 temp path"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "wrong-shape calibration data was accepted"
    );
    assert!(
        stderr.contains("shape"),
        "the error does not name the shape: {stderr}"
    );
    assert!(!q.exists(), "an output file was written despite the error");
}

/// Writes a tiny MNIST-layout IDX training set (uncompressed): `n` 28x28 images whose class
/// is the row band holding a bright stripe.
fn write_idx_train(dir: &Path, n: usize) {
    let mut images = vec![0, 0, 8, 3];
    for d in [n as u32, 28, 28] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&(n as u32).to_be_bytes());
    for i in 0..n {
        let class = i % 10;
        for r in 0..28 {
            for c in 0..28 {
                let on = r / 3 == class && (c + i) % 5 != 0;
                images.push(if on {
                    200 + (c % 50) as u8
                } else {
                    (r * c % 17) as u8
                });
            }
        }
        labels.push(class as u8);
    }
    std::fs::write(dir.join("train-images-idx3-ubyte"), images).expect("write images");
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels).expect("write labels");
}

#[test]
fn quantization_aware_training_exports_plain_qdq() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A symbolic batch, so training runs batches of 8.
    let model = dir
        .path()
        .join("cnn_n.onnx")
        .to_str()
        .expect("utf-8")
        .to_string();
    let zoo = edgeopt(&["zoo", "cnn", "--width", "0.25", "-o", &model]);
    assert!(
        zoo.status.success(),
        "{}",
        String::from_utf8_lossy(&zoo.stderr)
    );
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    write_idx_train(&data, 40);
    let q = dir.path().join("cnn.qat.onnx");
    let qs = q.to_str().expect("utf-8 temp path");
    let out = edgeopt(&[
        "quantize",
        &model,
        "--calib",
        data.join("train-images-idx3-ubyte")
            .to_str()
            .expect("utf-8"),
        "--samples",
        "16",
        "--qat",
        "--train-data",
        data.to_str().expect("utf-8"),
        "--qat-batch-size",
        "8",
        "--report",
        "-o",
        qs,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quantize --qat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("qat epoch 1"), "{stdout}");
    let m = edgeopt_onnx::load_model(&q, &Default::default()).expect("QAT model loads");
    let ops: Vec<&str> = m.graph.nodes.iter().map(|n| n.op_type()).collect();
    assert!(ops.contains(&"QuantizeLinear") && ops.contains(&"DequantizeLinear"));
    assert!(!ops.contains(&"FakeQuant"), "{ops:?}");
    assert!(
        m.opsets.iter().all(|(d, _)| d.is_empty() || d == "ai.onnx"),
        "non-standard domains remain: {:?}",
        m.opsets
    );
    // ONNX Runtime loads and runs the export, and agrees with edgeopt's runtime.
    let py = std::env::var("EDGEOPT_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import sys, numpy as np, onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])
x = np.random.RandomState(0).uniform(0, 1, (1, 1, 28, 28)).astype(np.float32)
np.save(sys.argv[2], x)
np.save(sys.argv[3], s.run(None, {s.get_inputs()[0].name: x})[0])
"#;
    let x = dir.path().join("x.npy");
    let y = dir.path().join("y_ort.npy");
    let ort = std::process::Command::new(&py)
        .args(["-c", script, qs, x.to_str().unwrap(), y.to_str().unwrap()])
        .output();
    match ort {
        Ok(o) if o.status.success() => {
            let ours = dir.path().join("y.npz");
            let run = edgeopt(&[
                "run",
                qs,
                "-i",
                &format!("input={}", x.display()),
                "-o",
                ours.to_str().unwrap(),
            ]);
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            let want = edgeopt_data::npy::read_npy(&y).expect("ORT output");
            let got = edgeopt_data::npy::read_npz(&ours).expect("our output");
            let (w, g) = (want.to_f64_vec().unwrap(), got[0].1.to_f64_vec().unwrap());
            let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
            let err = w
                .iter()
                .zip(&g)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            // int8 requantization rounding may differ by a step here and there.
            assert!(
                err / scale < 0.05,
                "ORT and edgeopt differ by {err} (scale {scale})"
            );
        }
        _ => eprintln!("skipping the ONNX Runtime check: {py} has no onnxruntime"),
    }
}
