//! fold_batch_norm into Conv, Gemm and MatMul (+ Add).

use crate::testing::{check_passes, count, ints, random_tensor, ModelBuilder};
use edgeopt_ir::Attribute;
use edgeopt_tensor::Tensor;

/// BN parameters for `c` channels with a positive variance.
fn bn_params(b: &mut ModelBuilder, c: usize) {
    let var: Vec<f32> = crate::testing::random_vec(c, 99)
        .iter()
        .map(|v| v.abs() + 0.5)
        .collect();
    b.weight("scale", &[c])
        .weight("bias", &[c])
        .weight("mean", &[c])
        .init("var", Tensor::vec1(var));
}

fn bn(b: &mut ModelBuilder, x: &str, y: &str) {
    b.node(
        "BatchNormalization",
        &[x, "scale", "bias", "mean", "var"],
        &[y],
        vec![("epsilon", Attribute::Float(1e-3))],
    );
}

#[test]
fn into_conv_with_and_without_bias_and_groups() {
    for (group, with_bias) in [(1, false), (1, true), (2, true), (4, false)] {
        let mut b = ModelBuilder::new(15);
        b.input("x", &[1, 4, 6, 6])
            .weight("w", &[4, 4 / group, 3, 3])
            .weight("cb", &[4]);
        bn_params(&mut b, 4);
        let ins: &[&str] = if with_bias {
            &["x", "w", "cb"]
        } else {
            &["x", "w"]
        };
        let attrs = vec![
            ("group", Attribute::Int(group as i64)),
            ("pads", ints(&[1, 1, 1, 1])),
        ];
        b.node("Conv", ins, &["c"], attrs);
        bn(&mut b, "c", "y");
        b.output("y");
        let x = random_tensor(&[1, 4, 6, 6], 3);
        let (opt, r) = check_passes(&b.build(), &["fold_batch_norm"], &[x]);
        assert_eq!(r[0].rewrites, 1);
        assert_eq!(count(&opt, "BatchNormalization"), 0);
        assert_eq!(opt.graph.nodes.len(), 1);
        assert_eq!(opt.graph.value(opt.graph.outputs[0]).name, "y");
    }
}

#[test]
fn into_gemm_with_transposes_beta_and_c() {
    for (trans_b, beta, c) in [(false, 1.0, false), (true, 0.5, true), (true, 0.0, true)] {
        let mut b = ModelBuilder::new(15);
        let w_shape: &[usize] = if trans_b { &[5, 3] } else { &[3, 5] };
        b.input("x", &[2, 3]).weight("w", w_shape).weight("c", &[5]);
        bn_params(&mut b, 5);
        let ins: &[&str] = if c { &["x", "w", "c"] } else { &["x", "w"] };
        let attrs = vec![
            ("transB", Attribute::Int(trans_b as i64)),
            ("beta", Attribute::Float(beta)),
            ("alpha", Attribute::Float(0.7)),
        ];
        b.node("Gemm", ins, &["g"], attrs);
        bn(&mut b, "g", "y");
        b.output("y");
        let (opt, _) = check_passes(
            &b.build(),
            &["fold_batch_norm"],
            &[random_tensor(&[2, 3], 4)],
        );
        assert_eq!(opt.graph.nodes.len(), 1, "transB={trans_b} beta={beta}");
    }
}

#[test]
fn into_matmul_and_matmul_add_as_gemm() {
    for with_add in [false, true] {
        let mut b = ModelBuilder::new(15);
        b.input("x", &[2, 3]).weight("w", &[3, 5]).weight("c", &[5]);
        bn_params(&mut b, 5);
        b.node("MatMul", &["x", "w"], &["m"], vec![]);
        let bn_in = if with_add {
            b.node("Add", &["c", "m"], &["a"], vec![]);
            "a"
        } else {
            "m"
        };
        bn(&mut b, bn_in, "y");
        b.output("y");
        let (opt, _) = check_passes(
            &b.build(),
            &["fold_batch_norm"],
            &[random_tensor(&[2, 3], 5)],
        );
        assert_eq!(crate::testing::histogram(&opt), "Gemm:1");
    }
}

#[test]
fn not_when_the_conv_output_is_read_elsewhere_or_params_vary() {
    let mut b = ModelBuilder::new(15);
    b.input("x", &[1, 4, 5, 5]).weight("w", &[4, 4, 1, 1]);
    bn_params(&mut b, 4);
    b.node("Conv", &["x", "w"], &["c"], vec![]);
    bn(&mut b, "c", "y");
    b.node("Relu", &["c"], &["z"], vec![])
        .output("y")
        .output("z");
    let (opt, r) = check_passes(
        &b.build(),
        &["fold_batch_norm"],
        &[random_tensor(&[1, 4, 5, 5], 6)],
    );
    assert_eq!(r[0].rewrites, 0);
    assert_eq!(count(&opt, "BatchNormalization"), 1);

    // The scale is a graph input (overridable): not a constant.
    let mut b = ModelBuilder::new(15);
    b.input("x", &[1, 4, 5, 5]).weight("w", &[4, 4, 1, 1]);
    bn_params(&mut b, 4);
    let s = b.model.graph.find("scale").unwrap();
    b.model.graph.inputs.push(s);
    b.node("Conv", &["x", "w"], &["c"], vec![]);
    bn(&mut b, "c", "y");
    b.output("y");
    let (_, r) = check_passes(
        &b.build(),
        &["fold_batch_norm"],
        &[random_tensor(&[1, 4, 5, 5], 6)],
    );
    assert_eq!(r[0].rewrites, 0);
}

#[test]
fn into_conv_transpose_through_its_bias_add() {
    // PP-OCR det: ConvTranspose, Add(bias), BatchNormalization; also grouped.
    for group in [1usize, 2] {
        let mut b = ModelBuilder::new(15);
        b.input("x", &[1, 4, 5, 5])
            .weight("w", &[4, 6 / group, 2, 2])
            .weight("k", &[1, 6, 1, 1]);
        bn_params(&mut b, 6);
        let attrs = vec![
            ("strides", ints(&[2, 2])),
            ("group", Attribute::Int(group as i64)),
        ];
        b.node("ConvTranspose", &["x", "w"], &["t"], attrs).node(
            "Add",
            &["t", "k"],
            &["a"],
            vec![],
        );
        bn(&mut b, "a", "y");
        b.output("y");
        let x = random_tensor(&[1, 4, 5, 5], 9);
        let (opt, _) = check_passes(&b.build(), &["fuse_bias", "fold_batch_norm"], &[x]);
        assert_eq!(
            crate::testing::histogram(&opt),
            "ConvTranspose:1",
            "group {group}"
        );
    }
}
