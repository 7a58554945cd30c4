//! A QDQ model as quantizers write it (float input, `Q -> DQ` around each Conv / MatMul, int8
//! weights behind `DequantizeLinear`) runs on the int8 kernels without any call by the user:
//! the session fuses the patterns before constant folding. Compared with the IR's reference
//! executor on the unfused graph: each fused layer may round 1 LSB differently (exact integer
//! accumulator vs f32 sum of dequantized values), so the conv output is within 1 LSB and the
//! MatMul after it within 2 (it may inherit the conv's LSB).
//!
//! The second model has the other patterns quantizers write for ResNet / MobileNetV2: a Relu
//! whose output zero point is not the type's minimum, a Clip (ReLU6) fused as a clamp, a Gemm
//! (classifier, `transB = 1`, per-channel weights, i32 bias) lowered as a 1x1 QLinearConv.

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
            ops.contains(&"Int8Clamped") && ops.contains(&"QLinearMatMul"),
            "{ops:?}"
        );
        assert!(max_diff(&got[0], &want[0]) <= 1.0, "seed {seed}");
        assert!(
            max_diff(&got[1], &want[1]) <= 2.0 * 0.1 + 1e-6,
            "seed {seed}"
        );
    }
}

/// x -> Q/DQ -> Conv(1x1, s2) -> Relu -> Q(zp 30) -> DQ -> Conv(3x3) -> Clip(0, 0.9) -> Q(zp 20)
/// -> DQ -> GlobalAveragePool -> Flatten -> Q/DQ -> Gemm(transB, bias) -> Q/DQ.
fn qdq_model_act_gemm() -> Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 10, 10]);
    let (c1, c2, nf) = (6, 5, 7);
    let per = |n: usize, base: f32| {
        Tensor::from_vec(
            vec![n],
            (0..n).map(|j| base * (1.0 + 0.1 * j as f32)).collect(),
        )
        .unwrap()
    };
    let bias_scale = |xs: f32, n: usize, base: f32| {
        Tensor::from_vec(
            vec![n],
            (0..n).map(|j| xs * base * (1.0 + 0.1 * j as f32)).collect(),
        )
        .unwrap()
    };
    b.init("xs", Tensor::scalar(0.03f32))
        .init("xz", Tensor::scalar(120u8))
        .init("w1", i8_tensor(&[c1, 4, 1, 1], 3))
        .init("w1s", per(c1, 0.004))
        .init("w1z", Tensor::from_vec(vec![c1], vec![0i8; c1]).unwrap())
        .init("y1s", Tensor::scalar(0.04f32))
        .init("y1z", Tensor::scalar(30u8))
        .init("w2", i8_tensor(&[c2, c1, 3, 3], 5))
        .init("w2s", per(c2, 0.003))
        .init(
            "b2",
            Tensor::from_vec(vec![c2], vec![100i32, -300, 7, 0, 2000]).unwrap(),
        )
        .init("b2s", bias_scale(0.04, c2, 0.003))
        .init("y2s", Tensor::scalar(0.004f32))
        .init("y2z", Tensor::scalar(20u8))
        .init("cmin", Tensor::scalar(0.0f32))
        .init("cmax", Tensor::scalar(0.9f32))
        .init("gs", Tensor::scalar(0.003f32))
        .init("gz", Tensor::scalar(10u8))
        .init("w3", i8_tensor(&[nf, c2], 8))
        .init("w3s", per(nf, 0.01))
        .init("w3z", Tensor::from_vec(vec![nf], vec![0i8; nf]).unwrap())
        .init(
            "b3",
            Tensor::from_vec(vec![nf], vec![50i32, -60, 70, -80, 90, 0, 1]).unwrap(),
        )
        .init("b3s", bias_scale(0.003, nf, 0.01))
        .init("zs", Tensor::scalar(0.001f32))
        .init("zz", Tensor::scalar(128u8))
        .node("QuantizeLinear", &["x", "xs", "xz"], &["xq"], vec![])
        .node("DequantizeLinear", &["xq", "xs", "xz"], &["xf"], vec![])
        .node(
            "DequantizeLinear",
            &["w1", "w1s", "w1z"],
            &["w1f"],
            vec![("axis", Attribute::Int(0))],
        )
        .node(
            "Conv",
            &["xf", "w1f"],
            &["c1"],
            vec![("strides", ints(&[2, 2]))],
        )
        .node("Relu", &["c1"], &["r1"], vec![])
        .node("QuantizeLinear", &["r1", "y1s", "y1z"], &["r1q"], vec![])
        .node("DequantizeLinear", &["r1q", "y1s", "y1z"], &["r1f"], vec![])
        .node(
            "DequantizeLinear",
            &["w2", "w2s"],
            &["w2f"],
            vec![("axis", Attribute::Int(0))],
        )
        .node(
            "DequantizeLinear",
            &["b2", "b2s"],
            &["b2f"],
            vec![("axis", Attribute::Int(0))],
        )
        .node(
            "Conv",
            &["r1f", "w2f", "b2f"],
            &["c2"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Clip", &["c2", "cmin", "cmax"], &["r2"], vec![])
        .node("QuantizeLinear", &["r2", "y2s", "y2z"], &["r2q"], vec![])
        .node("DequantizeLinear", &["r2q", "y2s", "y2z"], &["r2f"], vec![])
        .init("as", Tensor::scalar(0.006f32))
        .init("az", Tensor::scalar(60u8))
        .node("DequantizeLinear", &["r1q", "y1s", "y1z"], &["r1g"], vec![])
        .node(
            "MaxPool",
            &["r1g"],
            &["r1p"],
            vec![
                ("kernel_shape", ints(&[3, 3])),
                ("pads", ints(&[1, 1, 1, 1])),
            ],
        )
        .node("Slice", &["r1p", "s0", "s1", "s2"], &["r1s"], vec![])
        .node(
            "MaxPool",
            &["r1g"],
            &["mp"],
            vec![
                ("kernel_shape", ints(&[3, 3])),
                ("strides", ints(&[2, 2])),
                ("pads", ints(&[1, 1, 1, 1])),
            ],
        )
        .node("QuantizeLinear", &["mp", "y1s", "y1z"], &["mpq"], vec![])
        .init("s0", Tensor::from_vec(vec![1], vec![0i64]).unwrap())
        .init("s1", Tensor::from_vec(vec![1], vec![5i64]).unwrap())
        .init("s2", Tensor::from_vec(vec![1], vec![1i64]).unwrap())
        .node("QuantizeLinear", &["r1s", "y1s", "y1z"], &["r1sq"], vec![])
        .node(
            "DequantizeLinear",
            &["r1sq", "y1s", "y1z"],
            &["r1sf"],
            vec![],
        )
        .node("Add", &["r2f", "r1sf"], &["sum"], vec![])
        .node("Relu", &["sum"], &["sumr"], vec![])
        .node("QuantizeLinear", &["sumr", "as", "az"], &["aq"], vec![])
        .node("GlobalAveragePool", &["r2f"], &["gap"], vec![])
        .node(
            "Flatten",
            &["gap"],
            &["flat"],
            vec![("axis", Attribute::Int(1))],
        )
        .node("QuantizeLinear", &["flat", "gs", "gz"], &["fq"], vec![])
        .node("DequantizeLinear", &["fq", "gs", "gz"], &["ff"], vec![])
        .node(
            "DequantizeLinear",
            &["w3", "w3s", "w3z"],
            &["w3f"],
            vec![("axis", Attribute::Int(0))],
        )
        .node(
            "DequantizeLinear",
            &["b3", "b3s"],
            &["b3f"],
            vec![("axis", Attribute::Int(0))],
        )
        .node(
            "Gemm",
            &["ff", "w3f", "b3f"],
            &["g"],
            vec![("transB", Attribute::Int(1))],
        )
        .node("QuantizeLinear", &["g", "zs", "zz"], &["gq"], vec![])
        .node("DequantizeLinear", &["gq", "zs", "zz"], &["y"], vec![])
        .output("r1q")
        .output("r2q")
        .output("y")
        .output("aq")
        .output("mpq");
    b.build()
}

#[test]
fn relu_clip_and_gemm_fuse_into_int8_nodes() {
    let model = qdq_model_act_gemm();
    for seed in 0..4 {
        let x = random_tensor(&[1, 4, 10, 10], 10 + seed);
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
        let clamped = ops.iter().filter(|o| **o == "Int8Clamped").count();
        assert_eq!(clamped, 2, "Relu and Clip fused: {ops:?}");
        assert!(ops.contains(&"Int8Add") && !ops.contains(&"Add"), "{ops:?}");
        // The residual add (with Relu at zp 60) within 1 LSB of the QDQ graph, beyond the
        // LSB its input r2q may differ by.
        let aq = got[3].to_f64_vec().unwrap();
        assert!(aq.iter().all(|&v| v >= 60.0), "seed {seed}");
        assert!(max_diff(&got[3], &want[3]) <= 2.0, "seed {seed}");
        // DQ -> MaxPool -> Q with one scale: MaxPool on u8, exact given its input.
        let model_ops = s.optimized_model().unwrap();
        let pools: Vec<_> = model_ops
            .graph
            .nodes
            .iter()
            .filter(|n| n.op_type() == "MaxPool")
            .collect();
        assert_eq!(pools.len(), 2, "{ops:?}");
        assert!(max_diff(&got[4], &want[4]) <= 1.0, "seed {seed}");
        assert!(
            !ops.contains(&"Gemm") && !ops.contains(&"Clip") && !ops.contains(&"Relu"),
            "{ops:?}"
        );
        assert!(
            ops.contains(&"QLinearConv"),
            "Gemm as a 1x1 QLinearConv: {ops:?}"
        );
        // Relu with zp 30: nothing below 30; Clip(0, 0.9) at scale 0.004, zp 20: [20, 245].
        let r1 = got[0].to_f64_vec().unwrap();
        assert!(r1.iter().all(|&v| v >= 30.0), "seed {seed}");
        let r2 = got[1].to_f64_vec().unwrap();
        assert!(
            r2.iter().all(|&v| (20.0..=245.0).contains(&v)),
            "seed {seed}"
        );
        assert!(max_diff(&got[0], &want[0]) <= 1.0, "seed {seed}");
        assert!(max_diff(&got[1], &want[1]) <= 2.0, "seed {seed}");
        // Within 3 output steps (0.001): inherits the convs' LSBs through the average.
        assert!(
            max_diff(&got[2], &want[2]) <= 3.0 * 0.001 + 1e-6,
            "seed {seed}: {}",
            max_diff(&got[2], &want[2])
        );
    }
}
