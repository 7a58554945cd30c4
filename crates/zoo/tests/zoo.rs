//! Every zoo model exports, imports back, type-infers and runs on the reference executor;
//! MAC counts match hand counts; ONNX Runtime agrees with the reference executor when the
//! project's Python environment is there.

use edgeopt_data::npy::{npy_bytes, read_npy};
use edgeopt_data::SplitMix64;
use edgeopt_ir::exec::run_model;
use edgeopt_ir::{Model, Value};
use edgeopt_onnx::{load_model, save_model, LoadOptions};
use edgeopt_tensor::{Dim, Tensor};
use edgeopt_zoo::{build, BatchDim, ZooConfig, ZooError, MODELS};
use std::path::{Path, PathBuf};

/// Small configurations (the reference executor is slow), one per model.
fn small(name: &str) -> ZooConfig {
    let mut c = ZooConfig {
        seed: 7,
        ..Default::default()
    };
    match name {
        "mlp" => c.hidden = Some(vec![32, 16]),
        "resnet" => {
            c.width = 0.5;
            c.depth = 0.33;
            c.resolution = Some(16);
        }
        "mobilenetv2" => {
            c.width = 0.35;
            c.depth = 0.5;
            c.resolution = Some(32);
            c.classes = Some(10);
        }
        _ => {}
    }
    c
}

fn random_input(shape: &[usize], seed: u64) -> Tensor {
    let mut r = SplitMix64::new(seed);
    let n = shape.iter().product();
    Tensor::from_vec(
        shape.to_vec(),
        (0..n).map(|_| r.next_f32() * 2.0 - 1.0).collect(),
    )
    .unwrap()
}

fn run(m: &Model, x: &Tensor) -> Tensor {
    let out = run_model(m, vec![Value::Tensor(x.clone())]).unwrap();
    out[0].as_tensor().unwrap().clone()
}

fn input_chw(m: &Model) -> Vec<usize> {
    let t = m.graph.value(m.graph.inputs[0]).ty.shape().unwrap().clone();
    t[1..].iter().map(|d| d.known().unwrap()).collect()
}

fn total_macs(m: &Model) -> u64 {
    edgeopt_ir::infer::node_costs(&m.graph)
        .iter()
        .map(|c| c.macs)
        .sum()
}

#[test]
fn every_model_round_trips_and_runs_with_any_batch() {
    let dir = tempfile::tempdir().unwrap();
    for entry in MODELS {
        let m = build(entry.name, &small(entry.name)).unwrap();
        let in_ty = m.graph.value(m.graph.inputs[0]).ty.shape().unwrap().clone();
        assert_eq!(in_ty[0], Dim::Sym("N".into()), "{}", entry.name);
        assert!(!m.graph.initializers.is_empty());
        let path = dir.path().join(format!("{}.onnx", entry.name));
        save_model(&m, &path, &Default::default()).unwrap();
        let back = load_model(&path, &LoadOptions::default()).unwrap();
        assert_eq!(back.opset(), 13);
        assert_eq!(back.graph.initializers.len(), m.graph.initializers.len());
        let out_ty = back
            .graph
            .value(back.graph.outputs[0])
            .ty
            .shape()
            .unwrap()
            .clone();
        let classes = m.graph.value(m.graph.outputs[0]).ty.shape().unwrap()[1].clone();
        assert_eq!(
            out_ty,
            vec![Dim::Sym("N".into()), classes.clone()],
            "{}",
            entry.name
        );
        let mut shape = vec![2];
        shape.extend(input_chw(&back));
        let x = random_input(&shape, 1);
        let y = run(&back, &x);
        assert_eq!(y.shape(), &[2, classes.known().unwrap()], "{}", entry.name);
        let v = y.as_slice::<f32>().unwrap();
        assert!(
            v.iter().all(|v| v.is_finite()) && v.iter().any(|&v| v != 0.0),
            "{}",
            entry.name
        );
        // Export -> import changes nothing.
        assert!(run(&m, &x).bit_eq(&y), "{}", entry.name);
    }
}

#[test]
fn cnn_macs_match_the_hand_count() {
    let cfg = ZooConfig {
        batch: BatchDim::Fixed(1),
        ..Default::default()
    };
    let m = build("cnn", &cfg).unwrap();
    // conv1 28*28*32*(1*9) + conv2 14*14*64*(32*9) + fc 3136*10.
    assert_eq!(total_macs(&m), 225_792 + 3_612_672 + 31_360);
    let names: Vec<&str> = m
        .graph
        .initializers
        .keys()
        .map(|&v| m.graph.value(v).name.as_str())
        .collect();
    for n in [
        "conv1.weight",
        "conv1.bias",
        "conv2.weight",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }
    let params: usize = m.graph.initializers.values().map(|t| t.len()).sum();
    assert_eq!(params, 32 * 9 + 32 + 64 * 32 * 9 + 64 + 3136 * 10 + 10);
}

/// MobileNetV2 MACs counted layer by layer from the paper's table.
fn mobilenetv2_macs(res: usize, classes: usize) -> u64 {
    let settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut h = res.div_ceil(2);
    let mut cin = 32u64;
    let mut macs = (h * h) as u64 * 32 * 3 * 9;
    for (t, c, n, s) in settings {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let hidden = cin * t;
            if t != 1 {
                macs += (h * h) as u64 * cin * hidden;
            }
            h = (h - 1) / stride + 1;
            macs += (h * h) as u64 * hidden * 9 + (h * h) as u64 * hidden * c;
            cin = c;
        }
    }
    macs + (h * h) as u64 * cin * 1280 + 1280 * classes as u64
}

#[test]
fn mobilenetv2_at_224_has_300m_macs_and_3_5m_params() {
    let cfg = ZooConfig {
        batch: BatchDim::Fixed(1),
        ..Default::default()
    };
    let m = build("mobilenetv2", &cfg).unwrap();
    let macs = total_macs(&m);
    assert_eq!(macs, mobilenetv2_macs(224, 1000));
    assert_eq!(macs, 300_774_272);
    let weights: usize = m
        .graph
        .initializers
        .iter()
        .filter(|(v, _)| !m.graph.value(**v).name.contains("running_"))
        .map(|(_, t)| t.len())
        .sum();
    // torchvision's mobilenet_v2 has 3,504,872 trainable parameters (+2 Clip bounds here).
    assert_eq!(weights, 3_504_872 + 2);
    let ops = |t: &str| m.graph.nodes.iter().filter(|n| n.op_type() == t).count();
    assert_eq!(
        (
            ops("Conv"),
            ops("BatchNormalization"),
            ops("Clip"),
            ops("Add")
        ),
        (52, 52, 35, 10)
    );
}

#[test]
fn width_multiplier_rounds_channels_to_eight() {
    assert_eq!(edgeopt_zoo::make_divisible(32.0 * 0.35, 8), 16);
    assert_eq!(edgeopt_zoo::make_divisible(24.0 * 0.35, 8), 8);
    assert_eq!(edgeopt_zoo::make_divisible(1280.0 * 1.4, 8), 1792);
    let cfg = ZooConfig {
        width: 0.75,
        batch: BatchDim::Fixed(1),
        resolution: Some(96),
        ..Default::default()
    };
    let m = build("mobilenetv2", &cfg).unwrap();
    for (v, t) in &m.graph.initializers {
        if m.graph.value(*v).name.ends_with(".weight") && t.rank() == 4 {
            assert_eq!(
                t.shape()[0] % 8,
                0,
                "{} {:?}",
                m.graph.value(*v).name,
                t.shape()
            );
        }
    }
}

#[test]
fn resnet_depth_and_projection_shortcuts() {
    let m = build(
        "resnet",
        &ZooConfig {
            batch: BatchDim::Fixed(1),
            ..Default::default()
        },
    )
    .unwrap();
    let ops = |t: &str| m.graph.nodes.iter().filter(|n| n.op_type() == t).count();
    // ResNet-20: 19 3x3 convs + 2 projections, 9 residual adds, 0.27M parameters.
    assert_eq!(
        (ops("Conv"), ops("Add"), ops("BatchNormalization")),
        (21, 9, 21)
    );
    let deeper = build(
        "resnet",
        &ZooConfig {
            depth: 2.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        deeper
            .graph
            .nodes
            .iter()
            .filter(|n| n.op_type() == "Add")
            .count(),
        18
    );
}

#[test]
fn seeds_are_deterministic_and_weights_he_scaled() {
    let w = |seed| {
        let m = build(
            "cnn",
            &ZooConfig {
                seed,
                ..Default::default()
            },
        )
        .unwrap();
        let id = m.graph.find("conv2.weight").unwrap();
        m.graph.initializers[&id].clone()
    };
    assert!(w(1).bit_eq(&w(1)));
    assert!(!w(1).bit_eq(&w(2)));
    let v = w(3).to_f64_vec().unwrap();
    let std = (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let he = (2.0f64 / (32.0 * 9.0)).sqrt();
    assert!((std / he - 1.0).abs() < 0.05, "std {std} vs He {he}");
}

#[test]
fn bad_configurations_are_errors() {
    assert!(matches!(
        build("vgg", &ZooConfig::default()),
        Err(ZooError::UnknownModel(_))
    ));
    let e = |name: &str, cfg: ZooConfig| build(name, &cfg).unwrap_err().to_string();
    assert!(e(
        "lenet",
        ZooConfig {
            resolution: Some(4),
            ..Default::default()
        }
    )
    .contains("smaller than"));
    assert!(e(
        "cnn",
        ZooConfig {
            width: f32::NAN,
            ..Default::default()
        }
    )
    .contains("--width"));
    assert!(e(
        "mobilenetv2",
        ZooConfig {
            width: 3.0,
            ..Default::default()
        }
    )
    .contains("alpha"));
    assert!(e(
        "mlp",
        ZooConfig {
            input: Some(vec![1, 0, 2]),
            ..Default::default()
        }
    )
    .contains("--input"));
    assert!(e(
        "cnn",
        ZooConfig {
            classes: Some(0),
            ..Default::default()
        }
    )
    .contains("--classes"));
}

/// The project's Python with onnxruntime: `$EDGEOPT_PYTHON` or `<repo>/.venv/bin/python`.
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("EDGEOPT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    let ok = std::process::Command::new(&p)
        .args(["-c", "import onnxruntime, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(p)
}

const ORT_SCRIPT: &str = r#"
import sys, numpy as np, onnxruntime as ort
model, x, out = sys.argv[1:4]
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
np.save(out, s.run(None, {"input": np.load(x)})[0])
"#;

#[test]
fn onnx_runtime_agrees_with_the_reference_executor() {
    let Some(py) = python() else {
        println!("skipped: no Python with onnxruntime (set EDGEOPT_PYTHON or create .venv)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for entry in MODELS {
        let m = build(entry.name, &small(entry.name)).unwrap();
        let path = dir.path().join(format!("{}.onnx", entry.name));
        save_model(&m, &path, &Default::default()).unwrap();
        let mut shape = vec![3];
        shape.extend(input_chw(&m));
        let x = random_input(&shape, 11);
        let (xp, yp) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
        std::fs::write(&xp, npy_bytes(&x).unwrap()).unwrap();
        let out = std::process::Command::new(&py)
            .args(["-c", ORT_SCRIPT])
            .args([&path, &xp, &yp])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            entry.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let ort = read_npy(&yp).unwrap();
        let ours = run(&m, &x);
        assert_eq!(ort.shape(), ours.shape());
        // Tolerance: 1e-4 relative to the output scale (different summation orders).
        let (a, b) = (ort.to_f64_vec().unwrap(), ours.to_f64_vec().unwrap());
        let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= 1e-4 * scale,
            "{}: max |ORT - reference| = {worst} (scale {scale})",
            entry.name
        );
    }
}
