//! The training lowerings (crate::lower) against the reference executor running the gradient
//! ops' `eval`: whole training graphs (forward, loss, backward) on both, every output within
//! `1e-4 * (1 + |reference|)`, and the gradient ops must not have fallen back to `eval`.

use edgeopt_ir::AttrList;
use edgeopt_train::rng::Rng;
use edgeopt_train::testing::{compare_with_runtime, uniform, GraphBuilder};

const TOL: f32 = 1e-4;

fn a() -> AttrList {
    AttrList::default()
}

fn check(b: GraphBuilder, out: edgeopt_ir::ValueId, params: &[&str], fast: &[&str]) {
    let m = b.finish(&[out]).unwrap();
    for threads in [1, 2] {
        let (worst, fallback) = compare_with_runtime(&m, params, threads).unwrap();
        assert!(worst <= TOL, "{threads} thread(s): difference {worst}");
        for op in fast {
            assert!(
                !fallback.iter().any(|(_, t)| t == op),
                "{op} ran through its reference eval: {fallback:?}"
            );
        }
    }
}

#[test]
fn conv_gradients_strided_padded_dilated_grouped() {
    type Case<'a> = (usize, usize, usize, &'a [i64], &'a [i64], &'a [i64], i64);
    let cases: &[Case] = &[
        // (C, M, k, strides, pads, dilations, group)
        (2, 3, 3, &[1, 1], &[0, 0, 0, 0], &[1, 1], 1),
        (2, 4, 3, &[2, 2], &[1, 1, 1, 1], &[1, 1], 1),
        (3, 2, 2, &[1, 2], &[0, 1, 1, 0], &[2, 1], 1),
        (4, 4, 3, &[1, 1], &[1, 1, 1, 1], &[1, 1], 4),
        (4, 6, 1, &[1, 1], &[0, 0, 0, 0], &[1, 1], 2),
        (1, 20, 3, &[1, 1], &[0, 0, 0, 0], &[1, 1], 1),
    ];
    for &(c, m, k, strides, pads, dil, group) in cases {
        let mut rng = Rng::new(1);
        let mut b = GraphBuilder::new(17);
        let x = b.init("x", uniform(&mut rng, &[3, c, 7, 6], -1.0, 1.0));
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
        check(
            b,
            y,
            &["x", "w", "b"],
            &["ConvGradInput", "ConvGradWeight", "BiasGrad"],
        );
    }
}

#[test]
fn conv1d_gradients() {
    let mut rng = Rng::new(2);
    let mut b = GraphBuilder::new(17);
    let x = b.init("x", uniform(&mut rng, &[2, 3, 11], -1.0, 1.0));
    let w = b.init("w", uniform(&mut rng, &[4, 3, 3], -1.0, 1.0));
    let y = b
        .op1(
            "Conv",
            a().ints("pads", &[1, 0]).ints("strides", &[2]),
            &[x, w],
        )
        .unwrap();
    check(b, y, &["x", "w"], &["ConvGradInput", "ConvGradWeight"]);
}

#[test]
fn pooling_gradients() {
    type Attrs = fn() -> AttrList;
    let cases: [(&str, Attrs); 4] = [
        ("MaxPool", || {
            a().ints("kernel_shape", &[2, 2]).ints("strides", &[2, 2])
        }),
        ("MaxPool", || {
            a().ints("kernel_shape", &[3, 3]).ints("strides", &[2, 2])
        }),
        ("MaxPool", || {
            a().ints("kernel_shape", &[3, 3])
                .ints("pads", &[1, 1, 1, 1])
                .ints("strides", &[1, 1])
        }),
        ("AveragePool", || {
            a().ints("kernel_shape", &[2, 3])
                .ints("pads", &[1, 0, 0, 1])
                .int("count_include_pad", 1)
        }),
    ];
    for (op, attrs) in cases {
        for shape in [[2, 3, 8, 6], [1, 2, 7, 9]] {
            let mut rng = Rng::new(3);
            let mut b = GraphBuilder::new(17);
            let x = b.init("x", uniform(&mut rng, &shape, -1.0, 1.0));
            let y = b.op1(op, attrs(), &[x]).unwrap();
            let grad = format!("{op}Grad");
            check(b, y, &["x"], &[grad.as_str()]);
        }
    }
}

#[test]
fn cnn_with_batch_norm_relu_flatten_and_gemm() {
    let mut rng = Rng::new(4);
    let mut b = GraphBuilder::new(17);
    let x = b.init("x", uniform(&mut rng, &[4, 2, 6, 6], -1.0, 1.0));
    let w = b.init("w", uniform(&mut rng, &[5, 2, 3, 3], -0.5, 0.5));
    let c = b
        .op1("Conv", a().ints("pads", &[1, 1, 1, 1]), &[x, w])
        .unwrap();
    let scale = b.init("s", uniform(&mut rng, &[5], 0.5, 1.5));
    let shift = b.init("t", uniform(&mut rng, &[5], -0.5, 0.5));
    let mean = b.init("m", uniform(&mut rng, &[5], -0.1, 0.1));
    let var = b.init("v", uniform(&mut rng, &[5], 0.9, 1.1));
    let bn = b
        .op1("BatchNormalization", a(), &[c, scale, shift, mean, var])
        .unwrap();
    let r = b.op1("Relu", a(), &[bn]).unwrap();
    let p = b
        .op1(
            "MaxPool",
            a().ints("kernel_shape", &[2, 2]).ints("strides", &[2, 2]),
            &[r],
        )
        .unwrap();
    let f = b.op1("Flatten", a(), &[p]).unwrap();
    let fw = b.init("fw", uniform(&mut rng, &[3, 45], -0.3, 0.3));
    let fb = b.init("fb", uniform(&mut rng, &[3], -0.3, 0.3));
    let y = b.op1("Gemm", a().int("transB", 1), &[f, fw, fb]).unwrap();
    check(
        b,
        y,
        &["x", "w", "s", "t", "fw", "fb"],
        &[
            "BatchNormTrain",
            "BatchNormGrad",
            "ActivationGrad",
            "MaxPoolGrad",
            "ReshapeLike",
            "MatMulT",
            "Gemm",
        ],
    );
}

#[test]
fn conv_gradients_split_across_threads() {
    // Big enough (> 4 M multiply-adds per gradient) for the kernels to use two threads.
    for (c, m) in [(16, 16), (1, 24)] {
        let mut rng = Rng::new(5);
        let mut b = GraphBuilder::new(17);
        let x = b.init("x", uniform(&mut rng, &[16, c, 14, 14], -1.0, 1.0));
        let w = b.init("w", uniform(&mut rng, &[m, c, 3, 3], -0.5, 0.5));
        let y = b.op1("Conv", a(), &[x, w]).unwrap();
        check(b, y, &["x", "w"], &["ConvGradInput", "ConvGradWeight"]);
    }
}
