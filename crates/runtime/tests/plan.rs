//! Memory plan invariants on real graph shapes: simultaneously live values that do not share a
//! buffer never overlap, buffers are 64-byte aligned, the peak covers the largest value and
//! never exceeds the no-reuse total, and `memory_plan` (what the cost model reports) equals
//! the plan the session runs with.

mod common;

use edgeopt_ir::{Attribute, Model};
use edgeopt_passes::testing::{ints, random_tensor, ModelBuilder};
use edgeopt_runtime::{memory_plan, MemoryPlan, Session, SessionOptions};

fn check_invariants(p: &MemoryPlan) {
    let root = |v: &edgeopt_runtime::PlannedValue| v.shares.unwrap_or(v.value);
    let life = |v: &edgeopt_runtime::PlannedValue| {
        // A buffer lives as long as any value sharing it.
        let r = root(v);
        let members = p.values.iter().filter(|w| root(w) == r);
        let first = members.clone().map(|w| w.first).min().unwrap();
        let last = members.map(|w| w.last).max().unwrap();
        (first, last)
    };
    let max_size = p.values.iter().map(|v| v.size).max().unwrap_or(0);
    assert!(p.peak_bytes >= max_size);
    assert!(p.peak_bytes <= p.naive_bytes.max(1));
    for a in &p.values {
        assert_eq!(a.offset % 64, 0, "{} misaligned", a.name);
        assert!(a.offset + a.size <= p.peak_bytes);
        for b in &p.values {
            if root(a) == root(b) {
                continue;
            }
            let ((f1, l1), (f2, l2)) = (life(a), life(b));
            let live_together = f1 <= l2 && f2 <= l1;
            let overlap = a.offset < b.offset + b.size && b.offset < a.offset + a.size;
            assert!(
                !(live_together && overlap && a.size > 0 && b.size > 0),
                "{} [{},{}] @{}+{} overlaps {} [{},{}] @{}+{}",
                a.name,
                f1,
                l1,
                a.offset,
                a.size,
                b.name,
                f2,
                l2,
                b.offset,
                b.size
            );
        }
    }
}

fn chain() -> Model {
    // Residual blocks with reshapes and in-place element-wise ops.
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 10, 10]);
    let mut prev = "x".to_string();
    for i in 0..4 {
        let (w, c, r, a) = (
            format!("w{i}"),
            format!("c{i}"),
            format!("r{i}"),
            format!("a{i}"),
        );
        b.weight(&w, &[4, 4, 3, 3])
            .node(
                "Conv",
                &[&prev, &w],
                &[&c],
                vec![("pads", ints(&[1, 1, 1, 1]))],
            )
            .node("Sigmoid", &[&c], &[&r], vec![])
            .node("Add", &[&r, &prev], &[&a], vec![]);
        prev = a;
    }
    b.init(
        "shape",
        edgeopt_tensor::Tensor::from_vec(vec![2], vec![4i64, 100]).unwrap(),
    )
    .node("Reshape", &[&prev, "shape"], &["flat"], vec![])
    .node(
        "Softmax",
        &["flat"],
        &["y"],
        vec![("axis", Attribute::Int(1))],
    )
    .output("y");
    b.build()
}

#[test]
fn plan_invariants_and_single_source_of_truth() {
    let model = chain();
    let x = random_tensor(&[1, 4, 10, 10], 3);
    for opt in [0u8, 2] {
        let s = common::check(&model, std::slice::from_ref(&x), opt, 1, 1e-4);
        let p = s.memory_plan().unwrap().clone();
        check_invariants(&p);
        let shapes = vec![("x".to_string(), vec![1, 4, 10, 10])];
        assert_eq!(memory_plan(&model, &shapes, opt).unwrap(), p);
        assert!(p.peak_bytes < p.naive_bytes, "no reuse at opt {opt}: {p:?}");
    }
}

#[test]
fn dynamic_batch_replans_per_shape() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 6])
        .weight("w", &[6, 3])
        .node("MatMul", &["x", "w"], &["y"], vec![])
        .output("y");
    let mut model = b.build();
    // Make the batch dim symbolic.
    let x = model.graph.inputs[0];
    model.graph.value_mut(x).ty = edgeopt_ir::ValueType::tensor(
        edgeopt_tensor::DType::F32,
        vec![
            edgeopt_tensor::Dim::Sym("N".into()),
            edgeopt_tensor::Dim::Known(6),
        ],
    );
    let y = model.graph.outputs[0];
    model.graph.value_mut(y).ty = edgeopt_ir::ValueType::Unknown;
    let mut s = Session::new(model, SessionOptions::default()).unwrap();
    for n in [1usize, 4, 2, 4] {
        let out = s.run(&[random_tensor(&[n, 6], n as u64)]).unwrap();
        assert_eq!(out[0].shape(), &[n, 3]);
        check_invariants(s.memory_plan().unwrap());
    }
    let err = s.run(&[random_tensor(&[2, 5], 1)]).unwrap_err().to_string();
    assert!(err.contains("'x'") && err.contains("[2, 5]"), "{err}");
}

#[test]
fn bench_models_plans_hold_invariants() {
    let Ok(d) = std::env::var("EDGEOPT_BENCH_MODELS") else {
        println!("skipped: set EDGEOPT_BENCH_MODELS");
        return;
    };
    for name in ["mobilenetv2", "resnet18", "mnist_cnn", "mlp"] {
        let p = std::path::Path::new(&d).join(format!("{name}.onnx"));
        if !p.exists() {
            continue;
        }
        let m = edgeopt_onnx::load_model(&p, &Default::default()).unwrap();
        let s = Session::new(m, SessionOptions::default()).unwrap();
        let plan = s.memory_plan().unwrap();
        check_invariants(plan);
        println!(
            "{name}: arena {} KiB (no reuse {} KiB)",
            plan.peak_bytes / 1024,
            plan.naive_bytes / 1024
        );
    }
}
