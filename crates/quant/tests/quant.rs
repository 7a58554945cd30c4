//! Static / dynamic / weight-only quantization of tiny models, checked with the reference
//! executor: structure of the QDQ graph, closeness to the float model, error reporting.

mod common;

use common::*;
use edgeopt_quant::fallback::{quantize_with_fallback, Target};
use edgeopt_quant::report::compare;
use edgeopt_quant::{
    calibrate, quantize_static, Method, QType, Reference, Selection, StaticConfig,
};
use edgeopt_tensor::{DType, Tensor};

#[test]
fn static_qdq_structure_and_accuracy() {
    let m = tiny_cnn();
    let calib = samples(&[1, 3, 8, 8], 8, 100);
    let r = quantize_static(
        &m,
        &calib,
        &StaticConfig::default(),
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    let q = &r.model;
    let g = &q.graph;
    // Every Conv / Gemm reads dequantized inputs, weights and biases.
    for n in g
        .nodes
        .iter()
        .filter(|n| matches!(n.op_type(), "Conv" | "Gemm"))
    {
        for (k, v) in n.inputs.iter().enumerate() {
            let v = v.unwrap();
            let p = g
                .nodes
                .iter()
                .find(|p| p.outputs.contains(&Some(v)))
                .unwrap();
            assert_eq!(p.op_type(), "DequantizeLinear", "{} input {k}", n.name);
            let data = g.initializers.get(&p.inputs[0].unwrap());
            match k {
                1 => assert_eq!(data.unwrap().dtype(), DType::I8),
                2 => assert_eq!(data.unwrap().dtype(), DType::I32),
                _ => assert!(data.is_none()),
            }
        }
    }
    // The Relu is fused: its output is quantized, the first Conv's is not.
    let quantized: Vec<&str> = g
        .nodes
        .iter()
        .filter(|n| n.op_type() == "QuantizeLinear")
        .map(|n| g.value(n.inputs[0].unwrap()).name.as_str())
        .collect();
    assert!(
        quantized.iter().any(|n| n.starts_with("r1")),
        "{quantized:?}"
    );
    assert!(
        !quantized.iter().any(|n| n.starts_with("c1")),
        "{quantized:?}"
    );
    // No float weights are left.
    assert!(g
        .initializers
        .values()
        .all(|t| t.dtype() != DType::F32 || t.len() <= 8));
    for s in samples(&[1, 3, 8, 8], 4, 900) {
        let (a, b) = (run(&m, &s), run(q, &s));
        assert!(cosine(&a, &b) > 0.99, "cosine {}", cosine(&a, &b));
    }
}

#[test]
fn every_calibration_method_and_type_runs() {
    let m = tiny_cnn();
    let calib = samples(&[1, 3, 8, 8], 3, 7);
    let x = &samples(&[1, 3, 8, 8], 1, 55)[0];
    let want = run(&m, x);
    for (method, act, sym) in [
        (Method::Percentile(99.99), QType::U8, false),
        (Method::Entropy, QType::I8, true),
        (Method::Mse, QType::I8, false),
    ] {
        let cfg = StaticConfig {
            method,
            activation_type: act,
            symmetric_activations: sym,
            per_channel: false,
            reduce_range: true,
            ..Default::default()
        };
        let r = quantize_static(&m, &calib, &cfg, &Reference, &mut no_progress()).unwrap();
        let got = run(&r.model, x);
        assert!(
            cosine(&got, &want) > 0.97,
            "{method:?}: cosine {}",
            cosine(&got, &want)
        );
    }
}

#[test]
fn include_exclude_select_nodes() {
    let m = tiny_cnn();
    let calib = samples(&[1, 3, 8, 8], 2, 1);
    let cfg = StaticConfig {
        selection: Selection {
            include: vec!["Conv".into()],
            exclude: vec![m.graph.nodes[0].name.clone()],
        },
        ..Default::default()
    };
    let r = quantize_static(&m, &calib, &cfg, &Reference, &mut no_progress()).unwrap();
    assert_eq!(r.quantized_nodes, vec![m.graph.nodes[3].name.clone()]);
    // One Conv's weight, one bias, its input and output.
    assert_eq!(count(&r.model, "QuantizeLinear"), 2);
    assert_eq!(count(&r.model, "DequantizeLinear"), 4);
}

#[test]
fn bad_calibration_data_is_named() {
    let m = tiny_cnn();
    let mut calib = samples(&[1, 3, 8, 8], 3, 1);
    let mut v = calib[2][0].to_vec::<f32>().unwrap();
    v[5] = f32::NAN;
    calib[2][0] = Tensor::from_vec(vec![1, 3, 8, 8], v).unwrap();
    let e = quantize_static(
        &m,
        &calib,
        &StaticConfig::default(),
        &Reference,
        &mut no_progress(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("sample 2") && e.contains("'x'") && e.contains("NaN"),
        "{e}"
    );
    let wrong = samples(&[1, 3, 8, 9], 1, 1);
    let e = quantize_static(
        &m,
        &wrong,
        &StaticConfig::default(),
        &Reference,
        &mut no_progress(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("sample 0") && e.contains("'x'") && e.contains("shape"),
        "{e}"
    );
}

#[test]
fn report_and_fallback() {
    let m = tiny_cnn();
    let calib = samples(&[1, 3, 8, 8], 4, 3);
    let same = compare(&m, &m, &calib, None, &Reference, &mut no_progress()).unwrap();
    assert_eq!(same.top1_agreement, Some(1.0));
    assert!(same
        .layers
        .iter()
        .all(|l| l.sqnr_db == 200.0 && (l.cosine - 1.0).abs() < 1e-12));
    // Coarse 4-bit-like activations (reduce range, u8 -> 7 bits) on a strict target: the search
    // must end with some float layers or meet the target outright.
    let cfg = StaticConfig::default();
    let stats = calibrate(&m, &calib, &cfg, &Reference, &mut no_progress()).unwrap();
    let fb = quantize_with_fallback(
        &m,
        &stats,
        &cfg,
        &calib,
        None,
        Target::Agreement(1.0),
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    assert_eq!(fb.report.top1_agreement, Some(1.0));
    assert!(!fb.ranking.is_empty());
    let q = compare(
        &m,
        &fb.result.model,
        &calib,
        Some(&[0, 1, 2, 3]),
        &Reference,
        &mut no_progress(),
    )
    .unwrap();
    assert!(
        q.layers
            .iter()
            .any(|l| l.name == "r1" && l.sqnr_db > 20.0 && l.sqnr_db < 200.0)
            || !fb.float_layers.is_empty()
    );
    assert!(q.accuracy.is_some());
}

#[test]
fn dynamic_quantization_of_an_mlp() {
    let m = tiny_mlp();
    let mut q = m.clone();
    let names =
        edgeopt_quant::dynamic::quantize_dynamic(&mut q, &Selection::default(), false).unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(count(&q, "MatMulInteger"), 2);
    assert_eq!(count(&q, "DynamicQuantizeLinear"), 2);
    for s in samples(&[2, 64], 3, 40) {
        let c = cosine(&run(&m, &s), &run(&q, &s));
        assert!(c > 0.995, "cosine {c}");
    }
}

#[test]
fn fp16_and_int4_weights() {
    let m = tiny_mlp();
    let x = &samples(&[2, 64], 1, 8)[0];
    let mut h = m.clone();
    assert_eq!(
        edgeopt_quant::weight_only::weights_to_fp16(&mut h).unwrap(),
        2
    );
    assert!(cosine(&run(&m, x), &run(&h, x)) > 0.99999);
    let mut q = m.clone();
    let names =
        edgeopt_quant::weight_only::weights_to_int4(&mut q, 32, &Selection::default()).unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(q.opset(), 21);
    let c = cosine(&run(&m, x), &run(&q, x));
    assert!(c > 0.98, "cosine {c}");
    assert!(
        edgeopt_quant::weight_only::weights_to_int4(&mut m.clone(), 24, &Selection::default())
            .is_err()
    );
}
