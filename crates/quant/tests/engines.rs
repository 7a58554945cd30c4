//! The runtime engine and opset upgrades in static quantization: an opset-11 model gets
//! per-channel weights after conversion, the fast runtime and the reference executor agree on
//! calibration and on the quantized model, and the cosine fallback meets its target.

mod common;

use common::*;
use edgeopt_ir::attr::Attribute;
use edgeopt_passes::testing::ModelBuilder;
use edgeopt_quant::fallback::{quantize_with_fallback, Target};
use edgeopt_quant::report::compare;
use edgeopt_quant::{calibrate, preprocess, quantize_static, Fast, Reference, StaticConfig};

/// An opset-11 CNN whose Squeeze / Softmax change meaning at 13.
fn opset11_cnn() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(11);
    b.input("x", &[1, 3, 8, 8])
        .weight("w1", &[8, 3, 3, 3])
        .weight("b1", &[8])
        .weight("fc_w", &[8, 4])
        .node(
            "Conv",
            &["x", "w1", "b1"],
            &["c1"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Relu", &["c1"], &["r1"], vec![])
        .node("GlobalAveragePool", &["r1"], &["g1"], vec![])
        .node(
            "Squeeze",
            &["g1"],
            &["s1"],
            vec![("axes", Attribute::Ints(vec![2, 3]))],
        )
        .node("MatMul", &["s1", "fc_w"], &["logits"], vec![])
        .node("Softmax", &["logits"], &["prob"], vec![])
        .output("prob");
    b.build()
}

#[test]
fn opset_11_models_are_upgraded_and_get_per_channel_weights() {
    let mut m = opset11_cnn();
    let notes = preprocess(&mut m).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(m.opset(), 13);
    let calib = samples(&[1, 3, 8, 8], 4, 7);
    let r = quantize_static(
        &m,
        &calib,
        &StaticConfig::default(),
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let per_channel = r.model.graph.nodes.iter().any(|n| {
        n.op_type() == "DequantizeLinear" && n.op.attributes().iter().any(|(k, _)| k == "axis")
    });
    assert!(per_channel, "no per-channel DequantizeLinear");
    let rep = compare(
        &opset11_cnn(),
        &r.model,
        &calib,
        None,
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    assert!(rep.outputs[0].cosine > 0.99, "{:?}", rep.outputs);
}

#[test]
fn fast_runtime_and_reference_agree() {
    let m = tiny_cnn();
    let calib = samples(&[1, 3, 8, 8], 4, 3);
    let cfg = StaticConfig::default();
    let fast = Fast { threads: 1 };
    let s_ref = calibrate(&m, &calib, &cfg, &Reference, &mut no_progress()).unwrap();
    let s_fast = calibrate(&m, &calib, &cfg, &fast, &mut no_progress()).unwrap();
    assert_eq!(s_ref.len(), s_fast.len());
    let q_ref = edgeopt_quant::quantize_with_stats(&m, &s_ref, &cfg).unwrap();
    let q_fast = edgeopt_quant::quantize_with_stats(&m, &s_fast, &cfg).unwrap();
    // Ranges within float rounding of each other give the same scales to 1e-5.
    for (name, p) in &q_ref.activation_params {
        let f = q_fast.activation_params[name];
        assert!(
            (p.scale - f.scale).abs() <= 1e-5 * p.scale.abs().max(1e-6),
            "{name}: {p:?} vs {f:?}"
        );
    }
    let a = compare(
        &m,
        &q_ref.model,
        &calib,
        None,
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    let b = compare(&m, &q_ref.model, &calib, None, &fast, &mut no_progress()).unwrap();
    // The runtime computes the QDQ model with int8 kernels: close to, not equal to, the
    // reference's float simulation.
    assert!(
        (a.outputs[0].cosine - b.outputs[0].cosine).abs() < 1e-3,
        "{:?} vs {:?}",
        a.outputs,
        b.outputs
    );
}

#[test]
fn cosine_fallback_meets_its_target() {
    let m = tiny_cnn();
    let calib = samples(&[1, 3, 8, 8], 4, 3);
    let cfg = StaticConfig::default();
    let stats = calibrate(&m, &calib, &cfg, &Reference, &mut no_progress()).unwrap();
    let fb = quantize_with_fallback(
        &m,
        &stats,
        &cfg,
        &calib,
        None,
        Target::Cosine(0.99999),
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    let worst = fb
        .report
        .outputs
        .iter()
        .map(|o| o.cosine)
        .fold(1.0, f64::min);
    assert!(
        worst >= 0.99999 || fb.float_layers.len() == fb.ranking.len(),
        "{worst} with {:?}",
        fb.float_layers
    );
    assert_eq!(fb.steps[0].0, 0);
    assert!(fb.steps.windows(2).all(|w| w[0].0 < w[1].0));
}
