//! Every gradient rule against central finite differences (f32, eps 1e-2 on inputs of scale 1,
//! loss accumulated in f64): `|num - ana| <= 5e-3 + 3e-2 * max(|num|, |ana|)`.
//! Inputs are initializers listed as parameters, so dX is checked as well as dW.

use edgeopt_ir::AttrList;
use edgeopt_tensor::Tensor;
use edgeopt_train::rng::Rng;
use edgeopt_train::testing::{check_gradients, uniform, GraphBuilder};

const EPS: f32 = 1e-2;
const ATOL: f32 = 5e-3;
const RTOL: f32 = 3e-2;

fn a() -> AttrList {
    AttrList::default()
}

fn check(b: GraphBuilder, out: edgeopt_ir::ValueId, params: &[&str]) {
    let m = b.finish(&[out]).unwrap();
    let worst = check_gradients(&m, params, EPS, ATOL, RTOL, 24).unwrap();
    assert!(worst.is_finite());
}

#[test]
fn conv_plain_strided_padded_dilated_grouped() {
    type Case<'a> = (usize, usize, usize, &'a [i64], &'a [i64], &'a [i64], i64);
    let cases: &[Case] = &[
        // (C, M, k, strides, pads, dilations, group)
        (2, 3, 3, &[1, 1], &[0, 0, 0, 0], &[1, 1], 1),
        (2, 4, 3, &[2, 2], &[1, 1, 1, 1], &[1, 1], 1),
        (3, 2, 2, &[1, 2], &[0, 1, 1, 0], &[2, 1], 1),
        (4, 4, 3, &[1, 1], &[1, 1, 1, 1], &[1, 1], 4),
        (4, 6, 1, &[1, 1], &[0, 0, 0, 0], &[1, 1], 2),
    ];
    for &(c, m, k, strides, pads, dil, group) in cases {
        let mut rng = Rng::new(1);
        let mut b = GraphBuilder::new(17);
        let x = b.init("x", uniform(&mut rng, &[2, c, 6, 5], -1.0, 1.0));
        let w = b.init(
            "w",
            uniform(&mut rng, &[m, c / group as usize, k, k], -1.0, 1.0),
        );
        let bias = b.init("b", uniform(&mut rng, &[m], -1.0, 1.0));
        let attrs = a()
            .ints("strides", strides)
            .ints("pads", pads)
            .ints("dilations", dil)
            .int("group", group);
        let y = b.op1("Conv", attrs, &[x, w, bias]).unwrap();
        check(b, y, &["x", "w", "b"]);
    }
}

#[test]
fn gemm_all_transposes_and_bias_broadcast() {
    for (ta, tb) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let mut rng = Rng::new(2);
        let mut b = GraphBuilder::new(17);
        let sa = if ta == 1 { [4, 3] } else { [3, 4] };
        let sb = if tb == 1 { [5, 4] } else { [4, 5] };
        let x = b.init("a", uniform(&mut rng, &sa, -1.0, 1.0));
        let w = b.init("b", uniform(&mut rng, &sb, -1.0, 1.0));
        let c = b.init("c", uniform(&mut rng, &[5], -1.0, 1.0));
        let y = b
            .op1(
                "Gemm",
                a().int("transA", ta)
                    .int("transB", tb)
                    .float("alpha", 0.7)
                    .float("beta", 1.3),
                &[x, w, c],
            )
            .unwrap();
        check(b, y, &["a", "b", "c"]);
    }
}

#[test]
fn matmul_batched_and_broadcast() {
    let mut rng = Rng::new(3);
    let mut b = GraphBuilder::new(17);
    let x = b.init("a", uniform(&mut rng, &[2, 3, 4, 5], -1.0, 1.0));
    let w = b.init("b", uniform(&mut rng, &[3, 5, 2], -1.0, 1.0));
    let y = b.op1("MatMul", a(), &[x, w]).unwrap();
    check(b, y, &["a", "b"]);
}

#[test]
fn activations() {
    for (op, attrs) in [
        ("Relu", a()),
        ("Sigmoid", a()),
        ("Tanh", a()),
        ("LeakyRelu", a().float("alpha", 0.2)),
        ("HardSwish", a()),
        ("HardSigmoid", a().float("alpha", 0.3).float("beta", 0.4)),
    ] {
        let mut rng = Rng::new(4);
        let mut b = GraphBuilder::new(17);
        // Stay away from the kinks (0, HardSigmoid -4/3 and 2, HardSwish +-3) so finite differences are meaningful.
        let v: Vec<f32> = (0..24)
            .map(|i| {
                let s = 0.1 + 1.1 * rng.next_f32();
                if i % 2 == 0 {
                    s
                } else {
                    -s
                }
            })
            .collect();
        let x = b.init("x", Tensor::from_vec(vec![4, 6], v).unwrap());
        let y = b.op1(op, attrs, &[x]).unwrap();
        check(b, y, &["x"]);
    }
    let mut b = GraphBuilder::new(17);
    let x = b.init(
        "x",
        Tensor::from_vec(vec![6], vec![-2.0f32, -0.7, -0.2, 0.3, 0.8, 2.0]).unwrap(),
    );
    let lo = b.init("lo", Tensor::scalar(-0.5f32));
    let hi = b.init("hi", Tensor::scalar(0.5f32));
    let y = b.op1("Clip", a(), &[x, lo, hi]).unwrap();
    check(b, y, &["x"]);
}

#[test]
fn pooling() {
    let mut rng = Rng::new(5);
    for (op, attrs) in [
        (
            "MaxPool",
            a().ints("kernel_shape", &[2, 2]).ints("strides", &[2, 2]),
        ),
        (
            "MaxPool",
            a().ints("kernel_shape", &[3, 3])
                .ints("strides", &[1, 2])
                .ints("pads", &[1, 1, 1, 1]),
        ),
        (
            "AveragePool",
            a().ints("kernel_shape", &[3, 2])
                .ints("strides", &[2, 1])
                .ints("pads", &[1, 0, 1, 1]),
        ),
        (
            "AveragePool",
            a().ints("kernel_shape", &[3, 3])
                .ints("pads", &[1, 1, 1, 1])
                .int("count_include_pad", 1),
        ),
        ("GlobalAveragePool", a()),
    ] {
        let mut b = GraphBuilder::new(17);
        // Distinct values so max-pool windows have a clear winner.
        let mut v: Vec<f32> = (0..2 * 3 * 5 * 6).map(|i| i as f32 * 0.05 - 4.0).collect();
        rng.shuffle(&mut v);
        let x = b.init("x", Tensor::from_vec(vec![2, 3, 5, 6], v).unwrap());
        let y = b.op1(op, attrs, &[x]).unwrap();
        check(b, y, &["x"]);
    }
}

#[test]
fn batch_norm_train_mode() {
    let mut rng = Rng::new(6);
    let mut b = GraphBuilder::new(17);
    let x = b.init("x", uniform(&mut rng, &[4, 3, 2, 3], -1.0, 1.0));
    let s = b.init("s", uniform(&mut rng, &[3], 0.5, 1.5));
    let bias = b.init("b", uniform(&mut rng, &[3], -1.0, 1.0));
    let mean = b.init("mean", uniform(&mut rng, &[3], -0.2, 0.2));
    let var = b.init("var", uniform(&mut rng, &[3], 0.5, 1.5));
    let y = b
        .op1("BatchNormalization", a(), &[x, s, bias, mean, var])
        .unwrap();
    let m = b.finish(&[y]).unwrap();
    check_gradients(&m, &["x", "s", "b"], EPS, ATOL, RTOL, 24).unwrap();
}

#[test]
fn softmax_and_log_softmax() {
    for (op, axis) in [("Softmax", -1), ("LogSoftmax", 1), ("Softmax", 0)] {
        let mut rng = Rng::new(7);
        let mut b = GraphBuilder::new(17);
        let x = b.init("x", uniform(&mut rng, &[3, 4, 2], -2.0, 2.0));
        let y = b.op1(op, a().int("axis", axis), &[x]).unwrap();
        check(b, y, &["x"]);
    }
}

#[test]
fn layer_norm() {
    let mut rng = Rng::new(8);
    let mut b = GraphBuilder::new(17);
    let x = b.init("x", uniform(&mut rng, &[3, 2, 4], -1.0, 1.0));
    let s = b.init("s", uniform(&mut rng, &[2, 4], 0.5, 1.5));
    let bias = b.init("b", uniform(&mut rng, &[2, 4], -1.0, 1.0));
    let y = b
        .op1("LayerNormalization", a().int("axis", 1), &[x, s, bias])
        .unwrap();
    check(b, y, &["x", "s", "b"]);
}

#[test]
fn shape_ops() {
    let mut rng = Rng::new(9);
    let mut b = GraphBuilder::new(17);
    let x = b.init("x", uniform(&mut rng, &[2, 3, 4], -1.0, 1.0));
    let shape = b.init("shape", Tensor::vec1(vec![4i64, 6]));
    let r = b.op1("Reshape", a(), &[x, shape]).unwrap();
    let t = b.op1("Transpose", a().ints("perm", &[1, 0]), &[r]).unwrap();
    let f = b.op1("Flatten", a().int("axis", 1), &[t]).unwrap();
    let ax = b.init("axes", Tensor::vec1(vec![0i64]));
    let u = b.op1("Unsqueeze", a(), &[f, ax]).unwrap();
    let w = b.init("w", uniform(&mut rng, &[1, 6, 4], -1.0, 1.0));
    let y = b.op1("Mul", a(), &[u, w]).unwrap();
    check(b, y, &["x", "w"]);
}

#[test]
fn concat_slice_gather() {
    let mut rng = Rng::new(10);
    let mut b = GraphBuilder::new(17);
    let x1 = b.init("x1", uniform(&mut rng, &[2, 3], -1.0, 1.0));
    let x2 = b.init("x2", uniform(&mut rng, &[2, 2], -1.0, 1.0));
    let c = b.op1("Concat", a().int("axis", 1), &[x1, x2]).unwrap();
    let st = b.init("st", Tensor::vec1(vec![4i64]));
    let en = b.init("en", Tensor::vec1(vec![0i64]));
    let axs = b.init("ax", Tensor::vec1(vec![1i64]));
    let sp = b.init("sp", Tensor::vec1(vec![-2i64]));
    let s = b.op1("Slice", a(), &[c, st, en, axs, sp]).unwrap();
    let emb = b.init("emb", uniform(&mut rng, &[5, 3], -1.0, 1.0));
    let idx = b.init(
        "idx",
        Tensor::from_vec(vec![2, 2], vec![1i64, 4, 1, 0]).unwrap(),
    );
    let gth = b.op1("Gather", a().int("axis", 0), &[emb, idx]).unwrap();
    let gs = b.init("gshape", Tensor::vec1(vec![2i64, 6]));
    let gr = b.op1("Reshape", a(), &[gth, gs]).unwrap();
    let w = b.init("w", uniform(&mut rng, &[2, 6], -1.0, 1.0));
    let k = b.op1("Mul", a(), &[gr, w]).unwrap();
    let ks = b.init("kst", Tensor::vec1(vec![0i64]));
    let ke = b.init("ken", Tensor::vec1(vec![2i64]));
    let ka = b.init("kax", Tensor::vec1(vec![1i64]));
    let kk = b.op1("Slice", a(), &[k, ks, ke, ka]).unwrap();
    let y = b.op1("Add", a(), &[s, kk]).unwrap();
    check(b, y, &["x1", "x2", "emb", "w"]);
}

#[test]
fn elementwise_broadcasting() {
    for op in ["Add", "Sub", "Mul", "Div"] {
        let mut rng = Rng::new(11);
        let mut b = GraphBuilder::new(17);
        let x = b.init("x", uniform(&mut rng, &[2, 3, 4], -1.0, 1.0));
        let y = b.init("y", uniform(&mut rng, &[3, 1], 0.5, 1.5));
        let z = b.op1(op, a(), &[x, y]).unwrap();
        check(b, z, &["x", "y"]);
    }
}

#[test]
fn dropout_uses_its_seeded_mask() {
    let mut rng = Rng::new(12);
    let mut b = GraphBuilder::new(17);
    let x = b.init("x", uniform(&mut rng, &[4, 8], -1.0, 1.0));
    let r = b.init("ratio", Tensor::scalar(0.3f32));
    let tm = b.init("tm", Tensor::scalar(true));
    let y = b
        .node("Dropout", a(), &[Some(x), Some(r), Some(tm)], 1)
        .unwrap()[0];
    check(b, y, &["x"]);
}

#[test]
fn fake_quant_straight_through() {
    use edgeopt_train::ops::fake_quant::FakeQuant;
    let mut b = GraphBuilder::new(17);
    // Values between quantization steps (scale 0.1), some beyond the clip range [-12.8, 12.7].
    let v: Vec<f32> = vec![-20.0, -5.03, -0.26, 0.04, 0.51, 3.33, 9.17, 30.0];
    let x = b.init("x", Tensor::from_vec(vec![2, 4], v).unwrap());
    let s = b.init("s", Tensor::vec1(vec![0.1f32]));
    let z = b.init("z", Tensor::vec1(vec![0f32]));
    let y = b
        .add(Box::new(FakeQuant::int8()), &[Some(x), Some(s), Some(z)], 1)
        .unwrap()[0];
    let w = b.init("w", uniform(&mut Rng::new(3), &[2, 4], -1.0, 1.0));
    let out = b.op1("Mul", a(), &[y, w]).unwrap();
    let m = b.finish(&[out]).unwrap();
    // STE: finite differences see a step function, so check the rule's output directly:
    // with dY = 1, dX is 1 inside the clip range and 0 outside (-20 and 30 are outside).
    let spec = edgeopt_train::TrainSpec {
        loss: edgeopt_train::Loss::Mse,
        params: Some(vec!["x".into()]),
        frozen_bn: false,
        prediction: None,
    };
    let tg = edgeopt_train::build_training_graph(&m, &spec).unwrap();
    let node = tg
        .model
        .graph
        .nodes
        .iter()
        .find(|n| n.op_type() == "FakeQuantGrad")
        .unwrap();
    let mut g = GraphBuilder::new(17);
    let dy = g.init("dy", Tensor::from_vec(vec![2, 4], vec![1f32; 8]).unwrap());
    let x = g.init(
        "x",
        Tensor::from_vec(
            vec![2, 4],
            vec![-20.0f32, -5.03, -0.26, 0.04, 0.51, 3.33, 9.17, 30.0],
        )
        .unwrap(),
    );
    let s = g.init("s", Tensor::vec1(vec![0.1f32]));
    let z = g.init("z", Tensor::vec1(vec![0f32]));
    let dx = g
        .add(node.op.clone(), &[Some(dy), Some(x), Some(s), Some(z)], 1)
        .unwrap()[0];
    let gm = g.finish(&[dx]).unwrap();
    let out = edgeopt_ir::exec::run_model(&gm, vec![]).unwrap();
    let dx = out[0].as_tensor().unwrap().to_vec::<f32>().unwrap();
    assert_eq!(dx, vec![0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    // The weight gradient behind the fake-quantized value is an ordinary one.
    check_gradients(&m, &["w"], EPS, ATOL, RTOL, 8).unwrap();
}
