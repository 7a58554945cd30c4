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
