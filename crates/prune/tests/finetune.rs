//! Data-driven pruning on a tiny CNN (conv-BN-relu-maxpool-gemm) and synthetic data: the
//! Taylor criterion against finite differences of the loss, gradual pruning with masked
//! fine-tuning, exact resume after an interruption, and gradual structured shrinking.

use std::collections::BTreeMap;

use edgeopt_ir::exec::run_model;
use edgeopt_ir::{AttrList, Model, Value, ValueId, ValueType};
use edgeopt_prune::channel::{group_sizes, prune_structured_to};
use edgeopt_prune::finetune::{gradual, Event, Gradual};
use edgeopt_prune::rules::analyze;
use edgeopt_prune::schedule::cubic;
use edgeopt_prune::{layers, normalize, prune_masks, Criterion, Mask, PruneError, Target};
use edgeopt_tensor::{Dim, Tensor};
use edgeopt_train::optim::OptimizerKind;
use edgeopt_train::rng::Rng;
use edgeopt_train::testing::{bars_dataset, uniform, GraphBuilder};
use edgeopt_train::InMemoryDataset;
use edgeopt_train::TrainConfig;

/// x [N, 1, 8, 8] -> Conv(width, 3x3, pad 1) -> BN -> Relu -> MaxPool 2 -> Flatten -> Gemm(3).
fn tiny_cnn(seed: u64, width: usize) -> Model {
    let mut rng = Rng::new(seed);
    let mut b = GraphBuilder::new(17);
    let x = b.input("x", &[1, 1, 8, 8]);
    let w = b.init("conv.w", uniform(&mut rng, &[width, 1, 3, 3], -0.5, 0.5));
    let cb = b.init("conv.b", uniform(&mut rng, &[width], -0.1, 0.1));
    let s = b.init("bn.s", uniform(&mut rng, &[width], 0.5, 1.5));
    let bb = b.init("bn.b", uniform(&mut rng, &[width], -0.2, 0.2));
    let m = b.init("bn.mean", uniform(&mut rng, &[width], -0.1, 0.1));
    let v = b.init("bn.var", uniform(&mut rng, &[width], 0.5, 1.5));
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
    let mut m = b.finish(&[y]).unwrap();
    normalize(&mut m).unwrap();
    m
}

fn synthetic(n: usize, seed: u64) -> InMemoryDataset {
    bars_dataset(n, seed).unwrap()
}

fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 16,
        optimizer: OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        lr: 0.05,
        seed: 7,
        ..Default::default()
    }
}

/// Mean softmax cross-entropy of the model's logits on (x, labels), on the reference executor.
fn loss(model: &Model, x: &Tensor, labels: &[i64]) -> f64 {
    let out = run_model(model, vec![Value::Tensor(x.clone())]).unwrap();
    let z = out[0].as_tensor().unwrap().to_f64_vec().unwrap();
    let c = z.len() / labels.len();
    let mut total = 0.0;
    for (i, &y) in labels.iter().enumerate() {
        let row = &z[i * c..(i + 1) * c];
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + row.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        total += lse - row[y as usize];
    }
    total / labels.len() as f64
}

/// `model` with channel `c` of the conv's filter, bias and the BN's scale and shift times `k`.
fn scale_channel(model: &Model, c: usize, k: f32) -> Model {
    let mut m = model.clone();
    for name in ["conv.w", "conv.b", "bn.s", "bn.b"] {
        let id = m.graph.find(name).unwrap();
        let t = &m.graph.initializers[&id];
        let per = t.len() / t.shape()[0];
        let mut v = t.to_vec::<f32>().unwrap();
        for x in &mut v[c * per..(c + 1) * per] {
            *x *= k;
        }
        let t = Tensor::from_vec(t.shape().to_vec(), v).unwrap();
        m.graph.initializers.insert(id, t);
    }
    m
}

#[test]
fn taylor_importance_is_the_directional_derivative_of_the_loss() {
    let width = 6;
    let model = tiny_cnn(3, width);
    let data = synthetic(24, 5);
    let idx: Vec<usize> = (0..24).collect();
    let (x, y) = data.subset(&idx).unwrap().to_tensors().unwrap();
    let labels = y.to_i64_vec().unwrap();
    let dg = analyze(&model.graph);
    let imp = edgeopt_prune::channel::importance(
        &model,
        &dg,
        Criterion::Taylor,
        &[vec![x.clone(), y.clone()]],
    )
    .unwrap();
    let conv_out = model.graph.nodes[0].outputs[0].unwrap();
    let eps = 1e-2;
    for c in 0..width {
        // d/dk L(k * params of c) at k = 1 is sum over those params of w * dL/dw.
        let up = loss(&scale_channel(&model, c, 1.0 + eps), &x, &labels);
        let down = loss(&scale_channel(&model, c, 1.0 - eps), &x, &labels);
        let fd = ((up - down) / (2.0 * eps as f64)).abs();
        let root = dg.find(dg.element(conv_out, c).unwrap());
        let got = imp[&root];
        assert!(
            (got - fd).abs() <= 0.03 * fd + 2e-4,
            "channel {c}: taylor {got}, finite difference {fd}"
        );
    }
    // Without labels the criterion refuses.
    let err = edgeopt_prune::channel::importance(&model, &dg, Criterion::Taylor, &[]);
    assert!(matches!(err, Err(PruneError::Input(_))));
}

fn magnitude_run(dir: Option<std::path::PathBuf>, fail_at: Option<usize>) -> (Model, Vec<Event>) {
    let model = tiny_cnn(11, 8);
    let data = synthetic(48, 9);
    let cfg = Gradual {
        steps: 3,
        final_sparsity: 0.8,
        train: train_config(1),
        keep_zeros: true,
        checkpoint: dir,
        fingerprint: "test magnitude 0.8".into(),
    };
    let mut events = Vec::new();
    let mut calls = 0;
    let out = gradual(
        model,
        &data,
        &cfg,
        |m, _, after| {
            calls += 1;
            if Some(calls) == fail_at {
                return Err(PruneError::Input("interrupted".into()));
            }
            let ls = layers(m);
            prune_masks(m, &ls, Mask::Magnitude { global: true }, after)?;
            Ok(())
        },
        |e| events.push(e.clone()),
    );
    match out {
        Ok(m) => (m, events),
        Err(e) => (Model::default(), {
            assert!(e.to_string().contains("interrupted"), "{e}");
            events
        }),
    }
}

fn zeros(model: &Model) -> (usize, usize) {
    let mut z = (0, 0);
    for l in layers(model) {
        let w = model.graph.initializers[&l.weight].to_vec::<f32>().unwrap();
        z.0 += w.iter().filter(|v| **v == 0.0).count();
        z.1 += w.len();
    }
    z
}

#[test]
fn gradual_magnitude_pruning_keeps_the_masks_through_fine_tuning() {
    let (model, events) = magnitude_run(None, None);
    let pruned: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Pruned { sparsity, .. } => Some(*sparsity),
            _ => None,
        })
        .collect();
    assert_eq!(
        pruned,
        (1..=3).map(|k| cubic(0.8, 3, k)).collect::<Vec<_>>()
    );
    let epochs = events
        .iter()
        .filter(|e| matches!(e, Event::Epoch { .. }))
        .count();
    assert_eq!(epochs, 3);
    let (z, n) = zeros(&model);
    // Global magnitude at 80% zeroes floor(0.8 n) weights (ties can add a few); fine-tuning
    // after the last step must not revive any.
    assert!(z >= n * 8 / 10 && z <= n * 8 / 10 + 2, "{z} zeros of {n}");
}

#[test]
fn an_interrupted_gradual_run_resumes_to_the_same_model() {
    let (full, _) = magnitude_run(None, None);
    let dir = tempfile::tempdir().unwrap();
    let (_, first) = magnitude_run(Some(dir.path().to_path_buf()), Some(2));
    assert_eq!(
        first
            .iter()
            .filter(|e| matches!(e, Event::Pruned { .. }))
            .count(),
        1
    );
    let (resumed, events) = magnitude_run(Some(dir.path().to_path_buf()), None);
    assert!(matches!(
        events[0],
        Event::Resumed {
            step: 1,
            finetuned: true
        }
    ));
    for (id, t) in &full.graph.initializers {
        let name = &full.graph.value(*id).name;
        let r = &resumed.graph.initializers[&resumed.graph.find(name).unwrap()];
        assert_eq!(
            t.to_vec::<f32>().unwrap(),
            r.to_vec::<f32>().unwrap(),
            "{name} differs after resuming"
        );
    }
    // A different run refuses the checkpoint.
    let cfg = Gradual {
        steps: 3,
        final_sparsity: 0.5,
        train: train_config(1),
        keep_zeros: true,
        checkpoint: Some(dir.path().to_path_buf()),
        fingerprint: "another".into(),
    };
    let r = gradual(
        tiny_cnn(1, 8),
        &synthetic(8, 1),
        &cfg,
        |_, _, _| Ok(()),
        |_| {},
    );
    assert!(r.is_err());
}

#[test]
fn gradual_structured_pruning_shrinks_to_the_cumulative_target() {
    let model = tiny_cnn(4, 10);
    let data = synthetic(48, 2);
    let original = group_sizes(&model, Target::Channels);
    assert_eq!(original.values().copied().collect::<Vec<_>>(), vec![10]);
    let cfg = Gradual {
        steps: 2,
        final_sparsity: 0.6,
        train: train_config(1),
        keep_zeros: false,
        checkpoint: None,
        fingerprint: String::new(),
    };
    let mut sizes = Vec::new();
    let out = gradual(
        model,
        &data,
        &cfg,
        |m, _, after| {
            normalize(m)?;
            let idx: Vec<usize> = (0..16).collect();
            let (x, y) = data.subset(&idx).unwrap().to_tensors().unwrap();
            prune_structured_to(
                m,
                Target::Channels,
                Criterion::Taylor,
                after,
                &[vec![x, y]],
                &original,
                1,
            )?;
            sizes.push(group_sizes(m, Target::Channels));
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    // cubic(0.6, 2, 1) = 0.525: keep 10 - 5 = 5, then 0.6: keep 4.
    let kept: Vec<usize> = sizes.iter().flat_map(|s| s.values().copied()).collect();
    assert_eq!(kept, vec![5, 4]);
    let w = out.graph.find("conv.w").unwrap();
    assert_eq!(out.graph.initializers[&w].shape(), &[4, 1, 3, 3]);
    let fc = out.graph.find("fc.w").unwrap();
    assert_eq!(out.graph.initializers[&fc].shape(), &[3, 64]);
    let _: BTreeMap<String, usize> = group_sizes(&out, Target::Channels);
}

#[test]
fn flatten_with_a_symbolic_batch_still_prunes_through_to_the_gemm() {
    let mut model = tiny_cnn(6, 8);
    // The batch dim of x becomes symbolic and every other type is inferred again.
    let g = &mut model.graph;
    let x = g.find("x").unwrap();
    if let ValueType::Tensor(t) = &mut g.value_mut(x).ty {
        if let Some(d) = t.shape.as_mut().and_then(|s| s.first_mut()) {
            *d = Dim::Sym("N".into());
        }
    }
    let keep: Vec<ValueId> = g
        .inputs
        .iter()
        .chain(g.initializers.keys())
        .copied()
        .collect();
    for i in 0..g.values.len() {
        let id = ValueId(i as u32);
        if let (false, Some(dt)) = (keep.contains(&id), g.value(id).ty.dtype()) {
            g.value_mut(id).ty = ValueType::dtype_only(dt);
        }
    }
    normalize(&mut model).unwrap();
    let original = group_sizes(&model, Target::Channels);
    assert_eq!(original.values().copied().collect::<Vec<_>>(), vec![8]);
    prune_structured_to(
        &mut model,
        Target::Channels,
        Criterion::L1,
        0.5,
        &[],
        &original,
        1,
    )
    .unwrap();
    let fc = model.graph.find("fc.w").unwrap();
    assert_eq!(model.graph.initializers[&fc].shape(), &[3, 64]);
}
