//! fuse_bias, fuse_activation, fuse_elementwise, and the fused ops' export round trip and
//! decomposition.

use crate::testing::{check_passes, count, histogram, ints, random_tensor, run, ModelBuilder};
use edgeopt_ir::attr::Attrs;
use edgeopt_ir::{Attribute, BuildCtx, Model};
use edgeopt_tensor::Tensor;

fn conv_model(act: impl FnOnce(&mut ModelBuilder)) -> Model {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[1, 3, 6, 6])
        .weight("w", &[4, 3, 3, 3])
        .weight("b", &[4])
        .node(
            "Conv",
            &["x", "w", "b"],
            &["c"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        );
    act(&mut b);
    b.output("y");
    b.build()
}

fn x() -> Tensor {
    // Scaled up so activations see both signs and their clipping ranges.
    let t = random_tensor(&[1, 3, 6, 6], 11);
    let v: Vec<f32> = t.to_vec::<f32>().unwrap().iter().map(|v| v * 4.0).collect();
    Tensor::from_vec(vec![1, 3, 6, 6], v).unwrap()
}

/// The fused node survives an attribute round trip and decomposes back to standard ops with
/// the same outputs.
fn round_trip_and_decompose(opt: &Model, inputs: &[Tensor]) {
    let want = run(opt, inputs);
    let mut rebuilt = opt.clone();
    let reg = crate::registry();
    for n in rebuilt
        .graph
        .nodes
        .iter_mut()
        .filter(|n| n.op.domain() == crate::ops::DOMAIN)
    {
        let map = n.op.attributes().into_iter().collect();
        let mut attrs = Attrs::new(map);
        let mut ctx = BuildCtx {
            opset: 1,
            attrs: &mut attrs,
            num_inputs: n.inputs.len(),
            num_outputs: 1,
        };
        n.op = reg.build(n.op.domain(), n.op_type(), &mut ctx).unwrap();
        assert!(attrs.leftover().is_empty(), "{:?}", attrs.leftover());
    }
    assert_eq!(
        crate::testing::max_rel_diff(&run(&rebuilt, inputs), &want),
        0.0
    );
    let (plain, _) = check_passes(opt, &["decompose_fused"], inputs);
    assert!(
        plain.graph.nodes.iter().all(|n| n.op.domain().is_empty()),
        "{}",
        histogram(&plain)
    );
    assert!(plain.opsets.iter().all(|(d, _)| d != crate::ops::DOMAIN));
}

#[test]
fn conv_with_each_activation() {
    type Act = Box<dyn FnOnce(&mut ModelBuilder)>;
    let cases: Vec<(&str, Act)> = vec![
        (
            "relu",
            Box::new(|b| {
                b.node("Relu", &["c"], &["y"], vec![]);
            }),
        ),
        (
            "relu6",
            Box::new(|b| {
                b.init("lo", Tensor::scalar(0f32))
                    .init("hi", Tensor::scalar(6f32));
                b.node("Clip", &["c", "lo", "hi"], &["y"], vec![]);
            }),
        ),
        (
            "clip-max-only",
            Box::new(|b| {
                b.init("hi", Tensor::scalar(1f32));
                b.node("Clip", &["c", "", "hi"], &["y"], vec![]);
            }),
        ),
        (
            "sigmoid",
            Box::new(|b| {
                b.node("Sigmoid", &["c"], &["y"], vec![]);
            }),
        ),
        (
            "tanh",
            Box::new(|b| {
                b.node("Tanh", &["c"], &["y"], vec![]);
            }),
        ),
        (
            "hardsigmoid",
            Box::new(|b| {
                b.node(
                    "HardSigmoid",
                    &["c"],
                    &["y"],
                    vec![("alpha", Attribute::Float(0.3))],
                );
            }),
        ),
        (
            "hardswish",
            Box::new(|b| {
                b.node("HardSwish", &["c"], &["y"], vec![]);
            }),
        ),
        (
            "leakyrelu",
            Box::new(|b| {
                b.node(
                    "LeakyRelu",
                    &["c"],
                    &["y"],
                    vec![("alpha", Attribute::Float(0.2))],
                );
            }),
        ),
        (
            "prelu",
            Box::new(|b| {
                b.weight("slope", &[4, 1, 1]);
                b.node("PRelu", &["c", "slope"], &["y"], vec![]);
            }),
        ),
        (
            "x*hardsigmoid(x)",
            Box::new(|b| {
                b.node(
                    "HardSigmoid",
                    &["c"],
                    &["h"],
                    vec![("alpha", Attribute::Float(0.2))],
                );
                b.node("Mul", &["h", "c"], &["y"], vec![]);
            }),
        ),
        (
            "x*relu6(x+3)/6",
            Box::new(|b| {
                b.init("three", Tensor::scalar(3f32))
                    .init("zero", Tensor::scalar(0f32));
                b.init("six", Tensor::scalar(6f32));
                b.node("Add", &["c", "three"], &["a"], vec![]);
                b.node("Clip", &["a", "zero", "six"], &["r"], vec![]);
                b.node("Div", &["r", "six"], &["d"], vec![]);
                b.node("Mul", &["c", "d"], &["y"], vec![]);
            }),
        ),
        (
            "(x*relu6(x+3))/6",
            Box::new(|b| {
                b.init("three", Tensor::scalar(3f32))
                    .init("zero", Tensor::scalar(0f32));
                b.init("six", Tensor::scalar(6f32));
                b.node("Add", &["three", "c"], &["a"], vec![]);
                b.node("Clip", &["a", "zero", "six"], &["r"], vec![]);
                b.node("Mul", &["r", "c"], &["m"], vec![]);
                b.node("Div", &["m", "six"], &["y"], vec![]);
            }),
        ),
    ];
    for (name, act) in cases {
        let m = conv_model(act);
        let (opt, r) = check_passes(&m, &["fuse_activation"], &[x()]);
        assert_eq!(histogram(&opt), "FusedConv:1", "{name}: {r:?}");
        assert_eq!(opt.graph.value(opt.graph.outputs[0]).name, "y");
        round_trip_and_decompose(&opt, &[x()]);
    }
}

#[test]
fn gemm_and_matmul_with_activations() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3, 4])
        .weight("w1", &[4, 5])
        .node("MatMul", &["x", "w1"], &["m"], vec![])
        .node("Tanh", &["m"], &["t"], vec![])
        .node("Reshape", &["t", "s"], &["r"], vec![])
        .init("s", Tensor::vec1(vec![6i64, 5]))
        .weight("w2", &[4, 5])
        .node(
            "Gemm",
            &["r", "w2"],
            &["g"],
            vec![("transB", Attribute::Int(1))],
        )
        .node("LeakyRelu", &["g"], &["y"], vec![])
        .output("y");
    let inputs = [random_tensor(&[2, 3, 4], 2)];
    let (opt, _) = check_passes(&b.build(), &["fuse_activation"], &inputs);
    assert_eq!(histogram(&opt), "FusedGemm:1 FusedMatMul:1 Reshape:1");
    round_trip_and_decompose(&opt, &inputs);
}

#[test]
fn not_when_the_product_is_read_elsewhere() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[1, 3, 6, 6])
        .weight("w", &[4, 3, 1, 1])
        .node("Conv", &["x", "w"], &["c"], vec![])
        .node("Relu", &["c"], &["y"], vec![])
        .output("y")
        .output("c");
    let (opt, _) = check_passes(&b.build(), &["fuse_activation"], &[x()]);
    assert_eq!(count(&opt, "Conv"), 1);
}

#[test]
fn bias_into_conv_gemm_and_fused_matmul() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[1, 3, 6, 6])
        .weight("w", &[4, 3, 1, 1])
        .weight("cb", &[4])
        .weight("k", &[1, 4, 1, 1])
        .node("Conv", &["x", "w", "cb"], &["c"], vec![])
        .node("Add", &["c", "k"], &["y"], vec![])
        .output("y");
    let (opt, _) = check_passes(&b.build(), &["fuse_bias"], &[x()]);
    assert_eq!(histogram(&opt), "Conv:1");

    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 4])
        .input("x3", &[2, 3, 4])
        .weight("w", &[4, 5])
        .weight("k", &[5])
        .weight("k3", &[1, 1, 5])
        .node("MatMul", &["x", "w"], &["m"], vec![])
        .node("Add", &["m", "k"], &["y"], vec![])
        .node("MatMul", &["x3", "w"], &["m3"], vec![])
        .node("Add", &["k3", "m3"], &["y3"], vec![])
        .output("y")
        .output("y3");
    let inputs = [random_tensor(&[2, 4], 1), random_tensor(&[2, 3, 4], 2)];
    let (opt, _) = check_passes(&b.build(), &["fuse_bias", "fuse_activation"], &inputs);
    assert_eq!(histogram(&opt), "FusedMatMul:1 Gemm:1");
    round_trip_and_decompose(&opt, &inputs);

    // A constant varying along rows is not a bias.
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 4])
        .weight("w", &[4, 5])
        .weight("k", &[2, 1]);
    b.node("MatMul", &["x", "w"], &["m"], vec![])
        .node("Add", &["m", "k"], &["y"], vec![])
        .output("y");
    let (opt, _) = check_passes(&b.build(), &["fuse_bias"], &[random_tensor(&[2, 4], 1)]);
    assert_eq!(count(&opt, "Add"), 1);
}

#[test]
fn elementwise_chains() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3, 4])
        .weight("k", &[4])
        .init("three", Tensor::scalar(3f32))
        .init("zero", Tensor::scalar(0f32))
        .init("six", Tensor::scalar(6f32))
        .node("Mul", &["x", "k"], &["a"], vec![])
        .node("Add", &["a", "three"], &["b"], vec![])
        .node("Sigmoid", &["b"], &["s"], vec![])
        .node("Mul", &["b", "s"], &["y1"], vec![]) // swish: reads an earlier result? no: b is read twice
        .node("Add", &["x", "three"], &["h"], vec![])
        .node("Clip", &["h", "zero", "six"], &["r"], vec![])
        .node("Mul", &["x", "r"], &["m"], vec![])
        .node("Div", &["m", "six"], &["y2"], vec![])
        .weight("wide", &[5, 1, 1, 1])
        .node("Add", &["y2", "wide"], &["y3"], vec![])
        .node("Relu", &["y3"], &["y4"], vec![])
        .output("y1")
        .output("y4");
    let inputs = [random_tensor(&[2, 3, 4], 8)];
    let (opt, _) = check_passes(&b.build(), &["fuse_elementwise"], &inputs);
    // x*k+3 fuses (b is read twice, so the chain stops there); sigmoid-swish of b fuses; the
    // hardswish of x fuses; the broadcasting Add widens the shape and stays with its Relu.
    assert_eq!(histogram(&opt), "Add:1 FusedElementwise:3 Relu:1");
    round_trip_and_decompose(&opt, &inputs);
}

#[test]
fn scales_into_conv_gemm_and_matmul() {
    // PP-OCRv4's learnable affine after a Conv: Mul by a scalar, Add a scalar.
    let mut b = ModelBuilder::new(17);
    b.input("x", &[1, 3, 6, 6])
        .weight("w", &[4, 3, 3, 3])
        .weight("cb", &[4])
        .init("a", Tensor::vec1(vec![0.7f32]))
        .init("k", Tensor::vec1(vec![0.2f32]))
        .node("Conv", &["x", "w", "cb"], &["c"], vec![])
        .node("Mul", &["a", "c"], &["m"], vec![])
        .node("Add", &["m", "k"], &["y"], vec![])
        .output("y");
    let (opt, _) = check_passes(&b.build(), &["fuse_bias"], &[x()]);
    assert_eq!(histogram(&opt), "Conv:1");

    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3, 4])
        .input("x2", &[2, 4])
        .weight("w", &[4, 5])
        .weight("wt", &[5, 4])
        .weight("s", &[5])
        .weight("s2", &[1, 5])
        .node("MatMul", &["x", "w"], &["m"], vec![])
        .node("Mul", &["m", "s"], &["y"], vec![])
        .node(
            "Gemm",
            &["x2", "wt", "s"],
            &["g"],
            vec![("transB", Attribute::Int(1))],
        )
        .node("Mul", &["g", "s2"], &["y2"], vec![])
        .output("y")
        .output("y2");
    let inputs = [random_tensor(&[2, 3, 4], 1), random_tensor(&[2, 4], 2)];
    let (opt, _) = check_passes(&b.build(), &["fuse_bias"], &inputs);
    assert_eq!(histogram(&opt), "Gemm:1 MatMul:1");
}

#[test]
fn old_opsets_decompose_to_their_own_forms() {
    // Opset 10: Clip bounds are attributes; HardSwish does not exist yet (HardSigmoid + Mul).
    let mut b = ModelBuilder::new(10);
    b.input("x", &[1, 3, 6, 6])
        .weight("w", &[4, 3, 1, 1])
        .weight("w2", &[4, 4, 1, 1])
        .node("Conv", &["x", "w"], &["c"], vec![])
        .node(
            "Clip",
            &["c"],
            &["r"],
            vec![
                ("min", Attribute::Float(0.0)),
                ("max", Attribute::Float(6.0)),
            ],
        )
        .node("Conv", &["r", "w2"], &["c2"], vec![])
        .node(
            "HardSigmoid",
            &["c2"],
            &["h"],
            vec![("alpha", Attribute::Float(1.0 / 6.0))],
        )
        .node("Mul", &["c2", "h"], &["y"], vec![])
        .output("y");
    let (opt, _) = check_passes(&b.build(), &["fuse_activation"], &[x()]);
    assert_eq!(histogram(&opt), "FusedConv:2");
    let (plain, _) = check_passes(&opt, &["decompose_fused"], &[x()]);
    assert_eq!(histogram(&plain), "Clip:1 Conv:2 HardSigmoid:1 Mul:1");
    let clip = plain
        .graph
        .nodes
        .iter()
        .find(|n| n.op_type() == "Clip")
        .unwrap();
    assert_eq!(clip.inputs.len(), 1, "bounds as attributes");
}
