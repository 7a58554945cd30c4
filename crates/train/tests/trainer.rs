//! Trainer behaviour on a tiny CNN (conv-BN-relu-maxpool-gemm) and synthetic data: learning,
//! determinism at 1 thread, exact resume from a checkpoint, masks, distillation, export.

use edgeopt_ir::{AttrList, Model};
use edgeopt_tensor::Tensor;
use edgeopt_train::optim::OptimizerKind;
use edgeopt_train::rng::Rng;
use edgeopt_train::testing::{bars_dataset, uniform, GraphBuilder};
use edgeopt_train::{Dataset, InMemoryDataset, Loss, TrainConfig, TrainSpec, Trainer};

/// x [N, 1, 8, 8] -> Conv(4, 3x3, pad 1) -> BN -> Relu -> MaxPool 2 -> Flatten -> Gemm(3).
fn tiny_cnn(seed: u64, width: usize) -> Model {
    let mut rng = Rng::new(seed);
    let mut b = GraphBuilder::new(17);
    let x = b.input("x", &[1, 1, 8, 8]);
    let w = b.init("conv.w", uniform(&mut rng, &[width, 1, 3, 3], -0.5, 0.5));
    let cb = b.init(
        "conv.b",
        Tensor::from_vec(vec![width], vec![0f32; width]).unwrap(),
    );
    let s = b.init(
        "bn.s",
        Tensor::from_vec(vec![width], vec![1f32; width]).unwrap(),
    );
    let bb = b.init(
        "bn.b",
        Tensor::from_vec(vec![width], vec![0f32; width]).unwrap(),
    );
    let m = b.init(
        "bn.mean",
        Tensor::from_vec(vec![width], vec![0f32; width]).unwrap(),
    );
    let v = b.init(
        "bn.var",
        Tensor::from_vec(vec![width], vec![1f32; width]).unwrap(),
    );
    let a = AttrList::default;
    let c = b
        .op1("Conv", a().ints("pads", &[1, 1, 1, 1]), &[x, w, cb])
        .unwrap();
    let n = b.op1("BatchNormalization", a(), &[c, s, bb, m, v]).unwrap();
    let r = b.op1("Relu", a(), &[n]).unwrap();
    let p = b
        .op1(
            "MaxPool",
            a().ints("kernel_shape", &[2, 2]).ints("strides", &[2, 2]),
            &[r],
        )
        .unwrap();
    let f = b.op1("Flatten", a(), &[p]).unwrap();
    let fw = b.init("fc.w", uniform(&mut rng, &[3, width * 16], -0.2, 0.2));
    let fb = b.init("fc.b", Tensor::from_vec(vec![3], vec![0f32; 3]).unwrap());
    let y = b.op1("Gemm", a().int("transB", 1), &[f, fw, fb]).unwrap();
    b.finish(&[y]).unwrap()
}

fn synthetic(n: usize, seed: u64) -> InMemoryDataset {
    bars_dataset(n, seed).unwrap()
}

fn config(epochs: usize, dir: Option<std::path::PathBuf>) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 16,
        optimizer: OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        },
        lr: 0.05,
        seed: 42,
        checkpoint_dir: dir,
        ..Default::default()
    }
}

fn params(t: &Trainer) -> Vec<Tensor> {
    t.params.iter().chain(&t.states).cloned().collect()
}

fn same(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.bit_eq(y))
}

#[test]
fn learns_and_is_deterministic() {
    let data = synthetic(96, 1);
    let val = synthetic(48, 2);
    let model = tiny_cnn(3, 4);
    let run = || {
        let mut t = Trainer::new(
            &model,
            &TrainSpec::cross_entropy(),
            config(4, None),
            data.len(),
        )
        .unwrap();
        let before = t.evaluate(&val, 32).unwrap();
        let mut last = None;
        for _ in 0..4 {
            last = Some(t.train_epoch(&data, |_, _, _| {}).unwrap());
        }
        (t, before, last.unwrap())
    };
    let (t1, before, st) = run();
    let after = t1.evaluate(&val, 32).unwrap();
    assert!(
        after.1 > 0.9 && after.0 < before.0,
        "val (loss, acc) before {before:?}, after {after:?}; last epoch {st:?}"
    );
    // BN running statistics moved away from their initial values.
    assert!(t1.states[0]
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .any(|&m| m.abs() > 1e-3));
    let (t2, _, _) = run();
    assert!(
        same(&params(&t1), &params(&t2)),
        "two runs with the same seed differ"
    );
}

#[test]
fn resume_continues_exactly() {
    let data = synthetic(64, 4);
    let model = tiny_cnn(5, 4);
    let dir = tempfile::tempdir().unwrap();
    for opt in [
        OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        OptimizerKind::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        },
    ] {
        let mut cfg = config(2, None);
        cfg.optimizer = opt.clone();
        cfg.lr = 0.01;
        let mut full =
            Trainer::new(&model, &TrainSpec::cross_entropy(), cfg.clone(), data.len()).unwrap();
        for _ in 0..2 {
            full.train_epoch(&data, |_, _, _| {}).unwrap();
        }
        let ck = dir
            .path()
            .join(format!("{opt:?}").chars().take(3).collect::<String>());
        cfg.checkpoint_dir = Some(ck.clone());
        let mut first =
            Trainer::new(&model, &TrainSpec::cross_entropy(), cfg.clone(), data.len()).unwrap();
        first.train_epoch(&data, |_, _, _| {}).unwrap();
        drop(first); // "killed" after epoch 1
        let mut resumed =
            Trainer::new(&model, &TrainSpec::cross_entropy(), cfg, data.len()).unwrap();
        resumed.load_checkpoint(&ck).unwrap();
        assert_eq!(resumed.epoch, 1);
        resumed.train_epoch(&data, |_, _, _| {}).unwrap();
        assert!(
            same(&params(&full), &params(&resumed)),
            "{opt:?}: 2 epochs != 1 + resume + 1"
        );
    }
}

#[test]
fn masks_keep_pruned_weights_at_zero() {
    let data = synthetic(32, 6);
    let model = tiny_cnn(7, 4);
    let mut t = Trainer::new(
        &model,
        &TrainSpec::cross_entropy(),
        config(1, None),
        data.len(),
    )
    .unwrap();
    let n = t.params[t
        .graph
        .params
        .iter()
        .position(|(p, _)| p == "fc.w")
        .unwrap()]
    .len();
    let mask: Vec<f32> = (0..n).map(|i| (i % 3 != 0) as u8 as f32).collect();
    t.set_mask("fc.w", mask.clone()).unwrap();
    t.train_epoch(&data, |_, _, _| {}).unwrap();
    let i = t
        .graph
        .params
        .iter()
        .position(|(p, _)| p == "fc.w")
        .unwrap();
    let w = t.params[i].to_vec::<f32>().unwrap();
    assert!(w.iter().zip(&mask).all(|(&v, &m)| m == 1.0 || v == 0.0));
    assert!(w.iter().zip(&mask).any(|(&v, &m)| m == 1.0 && v != 0.0));
}

#[test]
fn distillation_trains_a_student() {
    let data = synthetic(48, 8);
    let teacher = tiny_cnn(9, 6);
    let mut tt = Trainer::new(
        &teacher,
        &TrainSpec::cross_entropy(),
        config(3, None),
        data.len(),
    )
    .unwrap();
    for _ in 0..3 {
        tt.train_epoch(&data, |_, _, _| {}).unwrap();
    }
    let spec = TrainSpec {
        loss: Loss::Distillation {
            lambda: 0.5,
            temperature: 4.0,
        },
        ..TrainSpec::cross_entropy()
    };
    let mut st = Trainer::new(&tiny_cnn(10, 2), &spec, config(3, None), data.len()).unwrap();
    st.teacher = Some(tt.export_model().unwrap());
    let first = st.train_epoch(&data, |_, _, _| {}).unwrap();
    let mut last = first.clone();
    for _ in 0..2 {
        last = st.train_epoch(&data, |_, _, _| {}).unwrap();
    }
    assert!(
        last.loss < first.loss,
        "distillation loss did not decrease: {first:?} -> {last:?}"
    );
}

/// The exported model runs in ONNX Runtime with the same outputs as our executor.
#[test]
fn exported_model_matches_onnx_runtime() {
    let py =
        std::env::var("EDGEOPT_PYTHON").unwrap_or_else(|_| "/work/main/.venv/bin/python".into());
    if !std::path::Path::new(&py).exists() {
        eprintln!("skipped: no python with onnxruntime at {py} (set EDGEOPT_PYTHON)");
        return;
    }
    let data = synthetic(32, 11);
    let mut t = Trainer::new(
        &tiny_cnn(12, 4),
        &TrainSpec::cross_entropy(),
        config(1, None),
        data.len(),
    )
    .unwrap();
    t.train_epoch(&data, |_, _, _| {}).unwrap();
    let m = t.export_model().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    edgeopt_onnx::save_model(&m, &path, &Default::default()).unwrap();
    let (x, _) = data.subset(&[0]).unwrap().to_tensors().unwrap();
    let ours = edgeopt_ir::exec::run_model(&m, vec![edgeopt_ir::Value::Tensor(x.clone())]).unwrap();
    let ours = ours[0].as_tensor().unwrap().to_vec::<f32>().unwrap();
    let xs: Vec<String> = x
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|v| format!("{v:e}"))
        .collect();
    let script = format!(
        "import onnxruntime as ort, numpy as np\ns = ort.InferenceSession('{}')\nx = np.array([{}], dtype=np.float32).reshape(1, 1, 8, 8)\nprint(' '.join(repr(float(v)) for v in s.run(None, {{'x': x}})[0].ravel()))",
        path.display(),
        xs.join(",")
    );
    let out = std::process::Command::new(&py)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<f32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(theirs.len(), ours.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert!(
            (a - b).abs() <= 1e-4 + 1e-4 * b.abs(),
            "ours {ours:?} vs ORT {theirs:?}"
        );
    }
}
