//! The int8 lowerings against the IR's reference `eval` (random small models) and the ONNX
//! backend node tests (with their parameters made constant, as in real models). Requantized
//! outputs may differ by 1 LSB: the kernels multiply the i32 accumulator by the f32 multiplier
//! in f32, the reference in f64, so the two can round a value next to .5 differently.

use super::fuse_qdq;
use crate::{Session, SessionOptions};
use edgeopt_ir::exec::run_model;
use edgeopt_ir::{Attribute, Model, Value, ValueType};
use edgeopt_passes::testing::{ints, ModelBuilder};
use edgeopt_tensor::{DType, Tensor};

fn session(model: Model) -> Session {
    let opts = SessionOptions {
        threads: 1,
        ..SessionOptions::default()
    };
    Session::new(model, opts).expect("session builds")
}

/// Largest absolute difference, after checking dtypes and shapes agree.
fn max_diff(got: &Tensor, want: &Tensor) -> f64 {
    assert_eq!(got.dtype(), want.dtype());
    assert_eq!(got.shape(), want.shape());
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    g.iter()
        .zip(&w)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Runs `model` through a session and asserts the int8 nodes were lowered (no fallback).
fn run_lowered(model: Model, feeds: &[Tensor]) -> Vec<Tensor> {
    let name = model.graph.name.clone();
    let mut s = session(model);
    let out = s.run(feeds).expect("session runs");
    assert!(
        s.fallback_nodes().is_empty(),
        "{name}: fell back: {:?}",
        s.fallback_nodes()
    );
    out
}

fn reference(model: &Model, feeds: &[Tensor]) -> Vec<Tensor> {
    let vals = feeds.iter().cloned().map(Value::Tensor).collect();
    run_model(model, vals)
        .unwrap()
        .into_iter()
        .map(|v| match v {
            Value::Tensor(t) => t,
            other => panic!("not a tensor: {other:?}"),
        })
        .collect()
}

/// Deterministic bytes.
fn bytes(n: usize, mut s: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

fn q_tensor(signed: bool, shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    let b = bytes(n, seed);
    if signed {
        Tensor::from_vec(
            shape.to_vec(),
            b.into_iter().map(|v| v as i8).collect::<Vec<_>>(),
        )
        .unwrap()
    } else {
        Tensor::from_vec(shape.to_vec(), b).unwrap()
    }
}

fn zp(signed: bool, v: i32) -> Tensor {
    if signed {
        Tensor::scalar(v as i8)
    } else {
        Tensor::scalar(v as u8)
    }
}

fn typed_input(b: &mut ModelBuilder, name: &str, dtype: DType, shape: &[usize]) {
    b.input(name, shape);
    let id = b.model.graph.find(name).unwrap();
    b.model.graph.value_mut(id).ty = ValueType::known(dtype, shape);
}

fn dtype(signed: bool) -> DType {
    if signed {
        DType::I8
    } else {
        DType::U8
    }
}

#[test]
fn qlinear_conv_matches_reference() {
    // (batch, c_in, c_out, size, kernel, stride, pad, groups, per-channel, x signed, w signed)
    let cases = [
        (1, 3, 8, 9, 3, 1, 1, 1, true, false, true),
        (2, 4, 6, 7, 3, 2, 1, 2, false, true, true),
        (1, 6, 6, 11, 3, 1, 1, 6, true, false, true),
        (1, 8, 8, 20, 3, 2, 1, 8, true, true, false),
        (1, 5, 7, 6, 1, 1, 0, 1, true, false, false),
        (1, 3, 4, 8, 5, 2, 2, 1, false, false, true),
    ];
    for (i, &(n, c, m, hw, k, s, p, g, per_ch, xs, ws)) in cases.iter().enumerate() {
        let mut b = ModelBuilder::new(13);
        typed_input(&mut b, "x", dtype(xs), &[n, c, hw, hw]);
        let wshape = [m, c / g, k, k];
        let w_scale: Vec<f32> = (0..if per_ch { m } else { 1 })
            .map(|j| 0.01 + 0.003 * j as f32)
            .collect();
        let w_zp: Vec<u8> = (0..w_scale.len()).map(|j| (j * 7) as u8).collect();
        let w_zp = if ws {
            Tensor::from_vec(
                vec![w_zp.len()],
                w_zp.iter().map(|&v| v as i8 - 3).collect::<Vec<_>>(),
            )
            .unwrap()
        } else {
            Tensor::from_vec(
                vec![w_zp.len()],
                w_zp.iter().map(|&v| v + 100).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        let bias: Vec<i32> = (0..m as i32).map(|j| j * 311 - 900).collect();
        b.init("xs", Tensor::scalar(0.05f32))
            .init("xz", zp(xs, if xs { -5 } else { 120 }))
            .init("w", q_tensor(ws, &wshape, 7 + i as u64))
            .init(
                "ws",
                Tensor::from_vec(vec![w_scale.len()], w_scale).unwrap(),
            )
            .init("wz", w_zp)
            .init("ys", Tensor::scalar(0.7f32))
            .init("yz", zp(!xs, if xs { 128 } else { -10 }))
            .init("b", Tensor::from_vec(vec![m], bias).unwrap())
            .node(
                "QLinearConv",
                &["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
                &["y"],
                vec![
                    ("strides", ints(&[s as i64, s as i64])),
                    ("pads", ints(&[p as i64; 4])),
                    ("group", Attribute::Int(g as i64)),
                ],
            )
            .output("y");
        let model = b.build();
        let x = q_tensor(xs, &[n, c, hw, hw], 100 + i as u64);
        let want = reference(&model, std::slice::from_ref(&x));
        let got = run_lowered(model, &[x]);
        assert!(max_diff(&got[0], &want[0]) <= 1.0, "case {i}");
    }
}

#[test]
fn integer_ops_and_qlinear_matmul_match_reference() {
    for (i, &(xs, ws, rows)) in [(false, true, 5), (true, true, 1), (false, false, 3)]
        .iter()
        .enumerate()
    {
        let (k, n) = (19, 13);
        // MatMulInteger with a per-column weight zero point, then ConvInteger.
        let mut b = ModelBuilder::new(13);
        typed_input(&mut b, "a", dtype(xs), &[2, rows, k]);
        let bz: Vec<i8> = (0..n as i8).map(|j| j - 6).collect();
        let bz = if ws {
            Tensor::from_vec(vec![n], bz).unwrap()
        } else {
            Tensor::from_vec(
                vec![n],
                bz.iter().map(|&v| (v + 100) as u8).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        b.init("b", q_tensor(ws, &[k, n], 3))
            .init("az", zp(xs, 17))
            .init("bz", bz)
            .node("MatMulInteger", &["a", "b", "az", "bz"], &["y"], vec![])
            .init("as", Tensor::scalar(0.02f32))
            .init(
                "bs",
                Tensor::from_vec(
                    vec![n],
                    (0..n)
                        .map(|j| 0.01 + 0.001 * j as f32)
                        .collect::<Vec<f32>>(),
                )
                .unwrap(),
            )
            .init("ys", Tensor::scalar(0.3f32))
            .init("yz", zp(xs, 3))
            .init("bz1", zp(ws, 1))
            .node(
                "QLinearMatMul",
                &["a", "as", "az", "b", "bs", "bz1", "ys", "yz"],
                &["q"],
                vec![],
            )
            .output("y")
            .output("q");
        let model = b.build();
        let a = q_tensor(xs, &[2, rows, k], 50 + i as u64);
        let want = reference(&model, std::slice::from_ref(&a));
        let got = run_lowered(model, &[a]);
        assert_eq!(max_diff(&got[0], &want[0]), 0.0, "MatMulInteger case {i}");
        assert!(max_diff(&got[1], &want[1]) <= 1.0, "QLinearMatMul case {i}");
    }
}

/// A QDQ model as quantizers write it: DQ(x), DQ(w), DQ(bias i32) -> Conv -> Relu -> Q -> DQ ->
/// MatMul(DQ(w2)) -> Q.
fn qdq_model(relu_zp: u8) -> Model {
    let mut b = ModelBuilder::new(13);
    typed_input(&mut b, "xq", DType::U8, &[1, 3, 8, 8]);
    let m = 4;
    let ws: Vec<f32> = (0..m).map(|j| 0.02 + 0.01 * j as f32).collect();
    let bs: Vec<f32> = ws.iter().map(|w| 0.05 * w).collect();
    b.init("xs", Tensor::scalar(0.05f32))
        .init("xz", Tensor::scalar(128u8))
        .init("w", q_tensor(true, &[m, 3, 3, 3], 9))
        .init("ws", Tensor::from_vec(vec![m], ws).unwrap())
        .init("wz", Tensor::from_vec(vec![m], vec![0i8; m]).unwrap())
        .init(
            "bq",
            Tensor::from_vec(vec![m], vec![300i32, -200, 50, 0]).unwrap(),
        )
        .init("bs", Tensor::from_vec(vec![m], bs).unwrap())
        .init("ys", Tensor::scalar(0.2f32))
        .init("yz", Tensor::scalar(relu_zp))
        .init("w2", q_tensor(true, &[8, 5], 11))
        .init("w2s", Tensor::scalar(0.03f32))
        .init("w2z", Tensor::scalar(0i8))
        .init("zs", Tensor::scalar(0.1f32))
        .init("zz", Tensor::scalar(7u8))
        .node("DequantizeLinear", &["xq", "xs", "xz"], &["x"], vec![])
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
            &["x", "wf", "bf"],
            &["c"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Relu", &["c"], &["r"], vec![])
        .node("QuantizeLinear", &["r", "ys", "yz"], &["rq"], vec![])
        .node("DequantizeLinear", &["rq", "ys", "yz"], &["rf"], vec![])
        .node("DequantizeLinear", &["w2", "w2s", "w2z"], &["w2f"], vec![])
        .node("MatMul", &["rf", "w2f"], &["z"], vec![])
        .node("QuantizeLinear", &["z", "zs", "zz"], &["zq"], vec![])
        .output("zq");
    b.build()
}

#[test]
fn qdq_patterns_fuse_into_int8_nodes() {
    let model = qdq_model(0);
    let x = q_tensor(false, &[1, 3, 8, 8], 5);
    let want = reference(&model, std::slice::from_ref(&x));
    let mut fused = model.clone();
    assert_eq!(fuse_qdq(&mut fused).unwrap(), 2);
    let ops: Vec<&str> = fused.graph.nodes.iter().map(|n| n.op_type()).collect();
    assert_eq!(ops, ["Int8Clamped", "QLinearMatMul"], "{ops:?}");
    let got = run_lowered(fused, &[x]);
    // Each fused layer may round 1 LSB differently; the second can inherit the first's.
    assert!(
        max_diff(&got[0], &want[0]) <= 2.0,
        "{:?} vs {:?}",
        got[0],
        want[0]
    );
}

#[test]
fn relu_with_a_nonzero_output_zero_point_fuses_as_a_clamp() {
    let model = qdq_model(9);
    let x = q_tensor(false, &[1, 3, 8, 8], 6);
    let want = reference(&model, std::slice::from_ref(&x));
    let mut fused = model.clone();
    // Q(relu(v)) = max(Q(v), 9): the conv's output is clamped at its zero point.
    assert_eq!(fuse_qdq(&mut fused).unwrap(), 2);
    assert!(!fused.graph.nodes.iter().any(|n| n.op_type() == "Relu"));
    let got = run_lowered(fused, &[x]);
    assert!(max_diff(&got[0], &want[0]) <= 2.0);
}

/// An ONNX backend case with every input but the first made constant.
fn backend(case: &str, outputs: usize) -> Option<(Model, Tensor, Vec<Tensor>)> {
    let dir = edgeopt_conformance::data_dir()?.join("node").join(case);
    let mut model = edgeopt_conformance::load_case(&dir).ok()?;
    let set = dir.join("test_data_set_0");
    let read = |p: String| match edgeopt_conformance::read_value(&set.join(p), None).ok()? {
        Value::Tensor(t) => Some(t),
        _ => None,
    };
    let g = &mut model.graph;
    let mut first = None;
    for (i, id) in g.inputs.clone().into_iter().enumerate() {
        let t = read(format!("input_{i}.pb"))?;
        if i == 0 {
            first = Some(t);
        } else {
            g.initializers.insert(id, t);
        }
    }
    g.inputs.truncate(1);
    let want = (0..outputs)
        .map(|i| read(format!("output_{i}.pb")))
        .collect::<Option<_>>()?;
    Some((model, first?, want))
}

#[test]
fn onnx_backend_cases_lowered() {
    let cases = [
        ("test_qlinearconv", 1, 1.0),
        ("test_qlinearmatmul_2D_uint8_float32", 1, 1.0),
        ("test_qlinearmatmul_2D_int8_float32", 1, 1.0),
        ("test_convinteger_with_padding", 1, 0.0),
        ("test_convinteger_without_padding", 1, 0.0),
        ("test_matmulinteger", 1, 0.0),
        ("test_quantizelinear", 1, 0.0),
        ("test_dequantizelinear", 1, 0.0),
        ("test_dynamicquantizelinear", 3, 0.0),
        ("test_dynamicquantizelinear_max_adjusted", 3, 0.0),
        ("test_dynamicquantizelinear_min_adjusted", 3, 0.0),
    ];
    let mut ran = 0;
    for (case, outputs, tol) in cases {
        let Some((model, x, want)) = backend(case, outputs) else {
            eprintln!("skipping {case}: ONNX test data not found (set EDGEOPT_ONNX_TESTDATA)");
            continue;
        };
        let got = run_lowered(model, &[x]);
        for (g, w) in got.iter().zip(&want) {
            assert!(max_diff(g, w) <= tol, "{case}: {g:?} vs {w:?}");
        }
        ran += 1;
    }
    eprintln!("{ran} backend cases ran");
}
