//! Whole models through the runtime vs the reference executor (relative 1e-4 of the output's
//! largest magnitude): the bench models (`$EDGEOPT_BENCH_MODELS`: mobilenetv2, resnet18,
//! mnist_cnn, mlp as written by make_models.py) and PP-OCR det/cls/rec at small resolution
//! (`$EDGEOPT_PPOCR_MODELS`: the rapidocr models folder). Thread counts 1 and 2 must agree,
//! and runs at 1 thread must be bit-identical.

use edgeopt_ir::Value;
use edgeopt_runtime::{Session, SessionOptions};
use edgeopt_tensor::Tensor;
use std::path::{Path, PathBuf};

fn random(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn max_rel_err(got: &Tensor, want: &Tensor) -> f64 {
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    assert_eq!(got.shape(), want.shape());
    let scale = w.iter().fold(1e-6f64, |m, x| m.max(x.abs()));
    g.iter()
        .zip(&w)
        .map(|(a, b)| (a - b).abs() / scale)
        .fold(0.0, f64::max)
}

fn check_model(path: &Path, shapes: &[(&str, Vec<usize>)]) {
    let model = edgeopt_onnx::load_model(path, &Default::default()).unwrap();
    let feeds = edgeopt_ir::exec::feed_inputs(&model.graph);
    let inputs: Vec<Tensor> = feeds
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let name = &model.graph.value(*v).name;
            let shape = shapes
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| {
                    model
                        .graph
                        .value(*v)
                        .ty
                        .as_tensor()
                        .unwrap()
                        .concrete_shape()
                        .unwrap()
                });
            random(&shape, i as u64 + 1)
        })
        .collect();
    let want =
        edgeopt_ir::exec::run_model(&model, inputs.iter().cloned().map(Value::Tensor).collect())
            .unwrap();
    let run = |threads: usize| {
        let opts = SessionOptions {
            threads,
            ..SessionOptions::default()
        };
        let mut s = Session::new(model.clone(), opts).unwrap();
        let a = s.run(&inputs).unwrap();
        let b = s.run(&inputs).unwrap();
        (a, b, s.fallback_nodes())
    };
    let (one, again, fallbacks) = run(1);
    let (two, _, _) = run(2);
    for (i, w) in want.iter().enumerate() {
        let w = w.as_tensor().unwrap();
        let e = max_rel_err(&one[i], w);
        println!(
            "{}: output {i} max rel err {e:.2e}, fallbacks {fallbacks:?}",
            path.display()
        );
        assert!(
            e < 1e-4,
            "{}: output {i} differs from the reference by {e}",
            path.display()
        );
        assert!(
            one[i].bit_eq(&again[i]),
            "{}: runs differ at 1 thread",
            path.display()
        );
        let e2 = max_rel_err(&two[i], &one[i]);
        assert!(e2 < 1e-5, "{}: 2 threads differ by {e2}", path.display());
    }
}

fn dir(var: &str) -> Option<PathBuf> {
    let d = PathBuf::from(std::env::var(var).ok()?);
    d.is_dir().then_some(d)
}

#[test]
fn bench_models_match_the_reference() {
    let Some(d) = dir("EDGEOPT_BENCH_MODELS") else {
        println!("skipped: set EDGEOPT_BENCH_MODELS to a folder written by make_models.py");
        return;
    };
    for name in ["mlp", "mnist_cnn", "mobilenetv2", "resnet18"] {
        let p = d.join(format!("{name}.onnx"));
        if p.exists() {
            check_model(&p, &[]);
        } else {
            println!("skipped {name}: {} missing", p.display());
        }
    }
}

#[test]
fn ppocr_models_match_the_reference() {
    let Some(d) = dir("EDGEOPT_PPOCR_MODELS") else {
        println!("skipped: set EDGEOPT_PPOCR_MODELS to rapidocr's models folder");
        return;
    };
    let mut found = 0;
    for entry in std::fs::read_dir(&d).unwrap().flatten() {
        let p = entry.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let shape = if name.contains("det") {
            vec![1, 3, 64, 96]
        } else if name.contains("cls") {
            vec![1, 3, 48, 192]
        } else if name.contains("rec") {
            vec![1, 3, 48, 160]
        } else {
            continue;
        };
        if p.extension().is_some_and(|e| e == "onnx") {
            found += 1;
            check_model(&p, &[("x", shape)]);
        }
    }
    assert!(found > 0, "no PP-OCR model in {}", d.display());
}
