//! A QDQ model as quantizers write it (float input, `Q -> DQ` around each Conv / MatMul, int8
//! weights behind `DequantizeLinear`) runs on the int8 kernels without any call by the user:
//! the session fuses the patterns before constant folding. Compared with the IR's reference
//! executor on the unfused graph: each fused layer may round 1 LSB differently (exact integer
//! accumulator vs f32 sum of dequantized values), so the conv output is within 1 LSB and the
//! MatMul after it within 2 (it may inherit the conv's LSB).

use edgeopt_ir::{Attribute, Model};
use edgeopt_passes::testing::{ints, random_tensor, run, ModelBuilder};
use edgeopt_runtime::{Session, SessionOptions};
use edgeopt_tensor::Tensor;

fn i8_tensor(shape: &[usize], mut s: u64) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<i8> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8 as i8
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

/// x(f32) -> Q -> DQ -> Conv(DQ(w), DQ(b)) -> Relu -> Q -> DQ -> MatMul(DQ(w2)) -> Q -> DQ.
fn qdq_model() -> Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 9, 9]);
    let m = 4;
    let ws: Vec<f32> = (0..m).map(|j| 0.002 + 0.001 * j as f32).collect();
    let bs: Vec<f32> = ws.iter().map(|w| 0.02 * w).collect();
    b.init("xs", Tensor::scalar(0.02f32))
        .init("xz", Tensor::scalar(128u8))
        .init("w", i8_tensor(&[m, 3, 3, 3], 9))
        .init("ws", Tensor::from_vec(vec![m], ws).unwrap())
        .init("wz", Tensor::from_vec(vec![m], vec![0i8; m]).unwrap())
        .init(
            "bq",
            Tensor::from_vec(vec![m], vec![300i32, -200, 50, 0]).unwrap(),
        )
        .init("bs", Tensor::from_vec(vec![m], bs).unwrap())
        .init("ys", Tensor::scalar(0.05f32))
        .init("yz", Tensor::scalar(0u8))
        .init("w2", i8_tensor(&[9, 5], 11))
        .init("w2s", Tensor::scalar(0.01f32))
        .init("w2z", Tensor::scalar(0i8))
        .init("zs", Tensor::scalar(0.1f32))
        .init("zz", Tensor::scalar(100u8))
        .node("QuantizeLinear", &["x", "xs", "xz"], &["xq"], vec![])
        .node("DequantizeLinear", &["xq", "xs", "xz"], &["xf"], vec![])
        .node(
            "DequantizeLinear",
            &["w", "ws", "wz"],
            &["wf"],
            vec![("axis", Attribute::Int(0))],
        )
        .node(
            "DequantizeLinear",
            &["bq", "bs"],
            &["bf"],
            vec![("axis", Attribute::Int(0))],
        )
        .node(
            "Conv",
            &["xf", "wf", "bf"],
            &["c"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Relu", &["c"], &["r"], vec![])
        .node("QuantizeLinear", &["r", "ys", "yz"], &["rq"], vec![])
        .node("DequantizeLinear", &["rq", "ys", "yz"], &["rf"], vec![])
        .node("DequantizeLinear", &["w2", "w2s", "w2z"], &["w2f"], vec![])
        .node("MatMul", &["rf", "w2f"], &["z"], vec![])
        .node("QuantizeLinear", &["z", "zs", "zz"], &["zq"], vec![])
        .node("DequantizeLinear", &["zq", "zs", "zz"], &["y"], vec![])
        .output("rq")
        .output("y");
    b.build()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let (a, b) = (a.to_f64_vec().unwrap(), b.to_f64_vec().unwrap());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn qdq_model_runs_on_int8_kernels() {
    let model = qdq_model();
    for seed in 0..4 {
        let x = random_tensor(&[1, 3, 9, 9], seed);
        let want = run(&model, std::slice::from_ref(&x));
        let opts = SessionOptions {
            threads: 1,
            ..SessionOptions::default()
        };
        let mut s = Session::new(model.clone(), opts).unwrap();
        let got = s.run(&[x]).unwrap();
        assert!(s.fallback_nodes().is_empty(), "{:?}", s.fallback_nodes());
        let ops: Vec<&str> = s
            .optimized_model()
            .unwrap()
            .graph
            .nodes
            .iter()
            .map(|n| n.op_type())
            .collect();
        assert!(
            ops.contains(&"QLinearConv") && ops.contains(&"QLinearMatMul"),
            "{ops:?}"
        );
        assert!(max_diff(&got[0], &want[0]) <= 1.0, "seed {seed}");
        assert!(
            max_diff(&got[1], &want[1]) <= 2.0 * 0.1 + 1e-6,
            "seed {seed}"
        );
    }
}
