//! Runs after warm-up allocate nothing for graphs whose ops all have allocation-free kernels
//! (a counting global allocator; this test binary has only this file's tests, run serially).
//! Convolutions through the kernels crate's blocked GEMM allocate one small Vec per GEMM call
//! (its thread split); that bound is asserted separately so a regression still shows.

use edgeopt_ir::{Attribute, Value};
use edgeopt_passes::testing::{ints, random_tensor, ModelBuilder};
use edgeopt_runtime::{Session, SessionOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Allocations per run, after two warm-up runs.
fn allocs_per_run(model: edgeopt_ir::Model, x: &[usize]) -> usize {
    let opts = SessionOptions {
        threads: 1,
        ..SessionOptions::default()
    };
    let mut s = Session::new(model, opts).unwrap();
    let feeds = vec![Value::Tensor(random_tensor(x, 1))];
    s.run_in_place(&feeds).unwrap();
    s.run_in_place(&feeds).unwrap();
    assert!(s.fallback_nodes().is_empty(), "{:?}", s.fallback_nodes());
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..5 {
        s.run_in_place(&feeds).unwrap();
    }
    (ALLOCS.load(Ordering::Relaxed) - before) / 5
}

fn mlp() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 784])
        .weight("w1", &[128, 784])
        .weight("b1", &[128])
        .weight("w2", &[10, 128])
        .weight("b2", &[10])
        .node(
            "Gemm",
            &["x", "w1", "b1"],
            &["h"],
            vec![("transB", Attribute::Int(1))],
        )
        .node("Relu", &["h"], &["r"], vec![])
        .node(
            "Gemm",
            &["r", "w2", "b2"],
            &["l"],
            vec![("transB", Attribute::Int(1))],
        )
        .node("Softmax", &["l"], &["y"], vec![])
        .output("y");
    b.build()
}

/// A MobileNetV2-like block: depthwise 3x3 + ReLU6, residual add, pooling, reshape.
fn depthwise_net() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 16, 16])
        .weight("dw", &[8, 1, 3, 3])
        .weight("db", &[8])
        .init("lo", edgeopt_tensor::Tensor::scalar(0f32))
        .init("hi", edgeopt_tensor::Tensor::scalar(6f32))
        .node(
            "Conv",
            &["x", "dw", "db"],
            &["d"],
            vec![("pads", ints(&[1, 1, 1, 1])), ("group", Attribute::Int(8))],
        )
        .node("Clip", &["d", "lo", "hi"], &["c"], vec![])
        .node("Add", &["c", "x"], &["s"], vec![])
        .node(
            "MaxPool",
            &["s"],
            &["p"],
            vec![("kernel_shape", ints(&[2, 2])), ("strides", ints(&[2, 2]))],
        )
        .node("GlobalAveragePool", &["p"], &["g"], vec![])
        .node("Flatten", &["g"], &["y"], vec![])
        .output("y");
    b.build()
}

/// An MNIST-like CNN: 3x3 convolutions (im2col + GEMM), pooling, a dense layer.
fn conv_net() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 1, 28, 28])
        .weight("w1", &[8, 1, 3, 3])
        .weight("w2", &[16, 8, 3, 3])
        .weight("fc", &[16 * 7 * 7, 10])
        .node(
            "Conv",
            &["x", "w1"],
            &["c1"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Relu", &["c1"], &["r1"], vec![])
        .node(
            "MaxPool",
            &["r1"],
            &["p1"],
            vec![("kernel_shape", ints(&[2, 2])), ("strides", ints(&[2, 2]))],
        )
        .node(
            "Conv",
            &["p1", "w2"],
            &["c2"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Relu", &["c2"], &["r2"], vec![])
        .node(
            "MaxPool",
            &["r2"],
            &["p2"],
            vec![("kernel_shape", ints(&[2, 2])), ("strides", ints(&[2, 2]))],
        )
        .node("Flatten", &["p2"], &["f"], vec![])
        .node("MatMul", &["f", "fc"], &["y"], vec![])
        .output("y");
    b.build()
}

/// `t` with every value but one in ten set to zero (90% sparse).
fn pruned(shape: &[usize], seed: u64) -> edgeopt_tensor::Tensor {
    let t = random_tensor(shape, seed);
    let v: Vec<f32> = t
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, x)| if i % 10 == 3 { *x } else { 0.0 })
        .collect();
    edgeopt_tensor::Tensor::from_vec(shape.to_vec(), v).unwrap()
}

/// A pruned net on the sparse kernels: a 1x1 convolution over 20 pixels (a partial vector:
/// the input goes through the aligned panel) and a batch-4 Gemm (the transposed layout).
fn sparse_net() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 32, 4, 5])
        .init("pw", pruned(&[64, 32, 1, 1], 3))
        .init("fc", pruned(&[48, 320], 4))
        .node("Conv", &["x", "pw"], &["c"], vec![])
        .node("Relu", &["c"], &["r"], vec![])
        .node("Reshape", &["r", "shape"], &["f"], vec![])
        .init(
            "shape",
            edgeopt_tensor::Tensor::from_vec(vec![2], vec![4i64, 320]).unwrap(),
        )
        .node(
            "Gemm",
            &["f", "fc"],
            &["y"],
            vec![("transB", Attribute::Int(1))],
        )
        .output("y");
    b.build()
}

#[test]
fn runs_allocate_nothing_after_warm_up() {
    let opts = SessionOptions {
        threads: 1,
        ..SessionOptions::default()
    };
    let s = Session::new(sparse_net(), opts).unwrap();
    let kernels = format!("{:?}", s.node_kernels());
    assert!(
        kernels.contains("sparse.conv1x1") && kernels.contains("sparse.gemm"),
        "{kernels}"
    );
    assert_eq!(
        allocs_per_run(sparse_net(), &[1, 32, 4, 5]),
        0,
        "sparse net"
    );
    assert_eq!(allocs_per_run(mlp(), &[1, 784]), 0, "MLP");
    assert_eq!(
        allocs_per_run(depthwise_net(), &[1, 8, 16, 16]),
        0,
        "depthwise block"
    );
    // Two GEMM-backed convolutions: at most the kernels crate's one Vec per GEMM call.
    let n = allocs_per_run(conv_net(), &[1, 1, 28, 28]);
    println!("conv net: {n} allocations per run (kernels' GEMM thread split)");
    assert!(n <= 2, "conv net allocates {n} times per run");
}
