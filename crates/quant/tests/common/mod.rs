//! Shared by the integration tests: tiny models and seeded data.
#![allow(dead_code)]

use edgeopt_ir::attr::Attribute;
use edgeopt_ir::Model;
use edgeopt_passes::testing::{random_tensor, ModelBuilder};
use edgeopt_tensor::Tensor;

pub fn ints(v: &[i64]) -> Attribute {
    Attribute::Ints(v.to_vec())
}

/// x[1,3,8,8] -> Conv(8, 3x3, pad 1) -> Relu -> MaxPool 2 -> Conv(8, 1x1) + skip Add ->
/// GlobalAveragePool -> Flatten -> Gemm(8 -> 4): the patterns static quantization handles.
pub fn tiny_cnn() -> Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8])
        .weight("w1", &[8, 3, 3, 3])
        .weight("b1", &[8])
        .weight("w2", &[8, 8, 1, 1])
        .weight("b2", &[8])
        .weight("fc_w", &[4, 8])
        .weight("fc_b", &[4])
        .node(
            "Conv",
            &["x", "w1", "b1"],
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
        .node("Conv", &["p1", "w2", "b2"], &["c2"], vec![])
        .node("Add", &["c2", "p1"], &["a1"], vec![])
        .node("GlobalAveragePool", &["a1"], &["g1"], vec![])
        .node("Flatten", &["g1"], &["f1"], vec![])
        .node(
            "Gemm",
            &["f1", "fc_w", "fc_b"],
            &["logits"],
            vec![("transB", Attribute::Int(1))],
        )
        .output("logits");
    b.build()
}

/// x[2,16] -> MatMul(16x32) -> Relu -> Gemm(32 -> 8, transB): a small MLP.
pub fn tiny_mlp() -> Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 64])
        .weight("w1", &[64, 32])
        .weight("w2", &[8, 32])
        .weight("b2", &[8])
        .node("MatMul", &["x", "w1"], &["h"], vec![])
        .node("Relu", &["h"], &["hr"], vec![])
        .node(
            "Gemm",
            &["hr", "w2", "b2"],
            &["y"],
            vec![("transB", Attribute::Int(1))],
        )
        .output("y");
    b.build()
}

/// `n` seeded samples of one input of `shape`, values in [-1, 1).
pub fn samples(shape: &[usize], n: usize, seed: u64) -> Vec<Vec<Tensor>> {
    (0..n)
        .map(|i| vec![random_tensor(shape, seed + i as u64)])
        .collect()
}

pub fn count(m: &Model, op: &str) -> usize {
    m.graph.nodes.iter().filter(|n| n.op_type() == op).count()
}

pub fn run(m: &Model, x: &[Tensor]) -> Vec<f32> {
    let outs = edgeopt_ir::exec::run_model(
        m,
        x.iter().cloned().map(edgeopt_ir::Value::Tensor).collect(),
    )
    .unwrap();
    outs[0]
        .as_tensor()
        .unwrap()
        .to_f64_vec()
        .unwrap()
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

pub fn no_progress() -> impl FnMut(&str, usize, usize) {
    |_: &str, _: usize, _: usize| {}
}

pub fn scalar(v: f32) -> Tensor {
    Tensor::from_vec(vec![1], vec![v]).unwrap()
}

/// x[1,4,10,10] -> Conv 1x1 (8) -> Mul 0.9 -> Add 0.5 -> HardSwish as exported by paddle2onnx
/// (Add 3, Clip 0..6, Mul, Div 6) -> Mul 0.47 -> Add -0.3 -> depthwise 3x3 pad 1 -> Mul 0.36
/// -> Add 0.01 -> Conv 1x1 (6) -> Relu -> Conv 1x1 (5): every pattern the rewrites handle.
pub fn lcnet_block(opset: i64) -> Model {
    let mut b = ModelBuilder::new(opset);
    b.input("x", &[1, 4, 10, 10])
        .weight("w1", &[8, 4, 1, 1])
        .weight("b1", &[8])
        .weight("wd", &[8, 1, 3, 3])
        .weight("bd", &[8])
        .weight("w2", &[6, 8, 1, 1])
        .weight("b2", &[6])
        .weight("w3", &[5, 6, 1, 1])
        .init("s1", scalar(0.9))
        .init("o1", scalar(0.5))
        .init("three", Tensor::scalar(3.0f32))
        .init("zero", Tensor::scalar(0.0f32))
        .init("six", Tensor::scalar(6.0f32))
        .init("s2", scalar(0.47))
        .init("o2", scalar(-0.3))
        .init("s3", scalar(0.36))
        .init("o3", scalar(0.01))
        .node("Conv", &["x", "w1", "b1"], &["c1"], vec![])
        .node("Mul", &["s1", "c1"], &["m1"], vec![])
        .node("Add", &["m1", "o1"], &["a1"], vec![])
        .node("Add", &["a1", "three"], &["h1"], vec![])
        .node("Clip", &["h1", "zero", "six"], &["h2"], vec![])
        .node("Mul", &["a1", "h2"], &["h3"], vec![])
        .node("Div", &["h3", "six"], &["hs"], vec![])
        .node("Mul", &["s2", "hs"], &["m2"], vec![])
        .node("Add", &["m2", "o2"], &["a2"], vec![])
        .node(
            "Conv",
            &["a2", "wd", "bd"],
            &["dw"],
            vec![("group", Attribute::Int(8)), ("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Mul", &["s3", "dw"], &["m3"], vec![])
        .node("Add", &["m3", "o3"], &["a3"], vec![])
        .node("Conv", &["a3", "w2", "b2"], &["c2"], vec![])
        .node("Relu", &["c2"], &["r2"], vec![])
        .node("Conv", &["r2", "w3"], &["y"], vec![])
        .output("y");
    b.build()
}
