//! The accuracy rewrites before quantization, on a PP-LCNet-style block: affine folding and
//! HardSwish fusion, cross-layer equalization and bias correction keep the float function
//! (reference executor) and do what they claim.

mod common;

use common::*;
use edgeopt_ir::Model;
use edgeopt_passes::testing::ModelBuilder;
use edgeopt_quant::bias_correct::correct_biases;
use edgeopt_quant::equalize::{equalize, find_pairs};
use edgeopt_quant::fold_affine::fold_affine;
use edgeopt_quant::{calibrate, equalize_with_data, quantize_with_stats, Reference, StaticConfig};
use edgeopt_tensor::Tensor;

fn max_abs_diff(a: &Model, b: &Model, data: &[Vec<Tensor>]) -> f32 {
    data.iter()
        .map(|s| {
            let (ya, yb) = (run(a, s), run(b, s));
            ya.iter()
                .zip(&yb)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max)
        })
        .fold(0.0, f32::max)
}

#[test]
fn fold_affine_keeps_the_function_and_fuses_hard_swish() {
    for opset in [13, 14] {
        let m = lcnet_block(opset);
        let mut f = m.clone();
        let r = fold_affine(&mut f).unwrap();
        assert_eq!(r.hard_swish, 1, "opset {opset}");
        // c1 (Mul, Add), dw (Mul, Add) fold at the output; Mul 0.47 moves into the depthwise
        // weights (its Add stays: the depthwise pads).
        assert_eq!(r.output_affine, 4, "opset {opset}");
        assert_eq!(r.input_scale, 1, "opset {opset}");
        assert_eq!(count(&f, "HardSwish"), 1);
        assert_eq!(count(&f, "Clip") + count(&f, "Div") + count(&f, "Mul"), 0);
        assert_eq!(count(&f, "Add"), 1);
        assert!(f.opset() >= 14);
        let data = samples(&[1, 4, 10, 10], 3, 7);
        // f32 reassociation only.
        assert!(max_abs_diff(&m, &f, &data) < 1e-4);
    }
}

#[test]
fn unpadded_input_offsets_fold_into_the_bias() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 5, 5])
        .weight("w", &[4, 3, 1, 1])
        .init("s", scalar(1.7))
        .init("o", scalar(-0.4))
        .node("Mul", &["x", "s"], &["m"], vec![])
        .node("Add", &["m", "o"], &["a"], vec![])
        .node("Conv", &["a", "w"], &["y"], vec![])
        .output("y");
    let m = b.build();
    let mut f = m.clone();
    let r = fold_affine(&mut f).unwrap();
    assert_eq!(r.input_scale, 1);
    assert_eq!(f.graph.nodes.len(), 1);
    assert!(max_abs_diff(&m, &f, &samples(&[1, 3, 5, 5], 2, 3)) < 1e-5);
}

fn row_spread(m: &Model, weight_of: &str) -> f64 {
    let g = &m.graph;
    let n = g
        .nodes
        .iter()
        .find(|n| n.outputs[0].is_some_and(|o| g.value(o).name == weight_of))
        .unwrap();
    let w = &g.initializers[&n.inputs[1].unwrap()];
    let c = w.shape()[0];
    let v = w.as_slice::<f32>().unwrap();
    let per = v.len() / c;
    let r: Vec<f64> = v
        .chunks(per)
        .map(|row| row.iter().fold(0f64, |a, x| a.max(x.abs() as f64)))
        .collect();
    r.iter().cloned().fold(0.0, f64::max) / r.iter().cloned().fold(f64::INFINITY, f64::min)
}

#[test]
fn equalization_keeps_the_function_and_evens_ranges() {
    let mut m = lcnet_block(13);
    fold_affine(&mut m).unwrap();
    // Make the depthwise channels uneven, as trained networks are.
    let g = &mut m.graph;
    let dw = g
        .nodes
        .iter()
        .find(|n| {
            n.op_type() == "Conv" && n.inputs[1].is_some_and(|w| g.initializers[&w].shape()[1] == 1)
        })
        .unwrap()
        .inputs[1]
        .unwrap();
    let t = g.initializers[&dw].clone();
    let v: Vec<f32> = t
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, x)| x * [0.05f32, 1.0, 8.0, 0.3, 2.0, 0.01, 1.0, 4.0][i / 9])
        .collect();
    g.initializers
        .insert(dw, Tensor::from_vec(t.shape().to_vec(), v).unwrap());
    // dw -> c2 and c2 -> Relu -> conv3.
    let pairs = find_pairs(&m);
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    let dw_out = m.graph.value(pairs[0].mid).name.clone();
    let data = samples(&[1, 4, 10, 10], 3, 11);
    let before = row_spread(&m, &dw_out);
    let mut e = m.clone();
    assert!(equalize(&mut e, None, 4).unwrap() > 0);
    assert!(max_abs_diff(&m, &e, &data) < 1e-4);
    assert!(row_spread(&e, &dw_out) < before / 4.0, "{before}");
    let mut d = m.clone();
    let note = equalize_with_data(&mut d, &data, &Reference, &mut |_, _, _| {}).unwrap();
    assert!(note.contains("2 layer pairs"), "{note}");
    assert!(max_abs_diff(&m, &d, &data) < 1e-4);
}

/// Mean output error per channel (8 channels) of a quantized model against the float one.
fn mean_bias(float: &Model, quant: &Model, data: &[Vec<Tensor>]) -> f64 {
    let c = 8;
    let mut acc = vec![0f64; c];
    for s in data {
        let (a, b) = (run(float, s), run(quant, s));
        let inner = a.len() / c;
        for i in 0..a.len() {
            acc[i / inner % c] += (b[i] - a[i]) as f64 / (inner * data.len()) as f64;
        }
    }
    acc.iter().map(|x| x.abs()).sum::<f64>() / acc.len() as f64
}

#[test]
fn bias_correction_removes_the_mean_shift_of_a_layer() {
    // One unpadded Conv on a skewed input: a few large values set the per-tensor scale, so
    // the small channels round coarsely and their means move.
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 6, 6])
        .weight("w", &[8, 4, 1, 1])
        .weight("b", &[8])
        .init(
            "k",
            Tensor::from_vec(vec![1, 4, 1, 1], vec![0.013f32, 0.02, 1.0, 0.007]).unwrap(),
        )
        .init(
            "o",
            Tensor::from_vec(vec![1, 4, 1, 1], vec![0.004f32, 0.0, 0.0, 0.003]).unwrap(),
        )
        .node("Mul", &["x", "k"], &["xm"], vec![])
        .node("Add", &["xm", "o"], &["xs"], vec![])
        .node("Conv", &["xs", "w", "b"], &["y"], vec![])
        .output("y");
    let m = b.build();
    let data = samples(&[1, 4, 6, 6], 16, 40);
    let cfg = StaticConfig {
        selection: edgeopt_quant::Selection {
            include: vec!["Conv".into()],
            exclude: vec![],
        },
        ..Default::default()
    };
    let stats = calibrate(&m, &data, &cfg, &Reference, &mut |_, _, _| {}).unwrap();
    let plain = quantize_with_stats(&m, &stats, &cfg).unwrap().model;
    let mut corrected = m.clone();
    let n = correct_biases(
        &mut corrected,
        &stats,
        &cfg,
        &data,
        &Reference,
        &mut |_, _, _| {},
    )
    .unwrap();
    assert_eq!(n, 1);
    let fixed = quantize_with_stats(&corrected, &stats, &cfg).unwrap().model;
    let (before, after) = (mean_bias(&m, &plain, &data), mean_bias(&m, &fixed, &data));
    // Measured: about half the shift goes (the rest is the output's own rounding, which the
    // correction of input and weight error does not target).
    assert!(after < before * 0.6, "mean shift {before} -> {after}");
}
