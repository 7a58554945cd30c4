//! The pipeline on real models: the three PP-OCR models shipped in rapidocr-onnxruntime
//! (installed by scripts/setup-python.sh) at small static shapes, and MobileNetV2 / ResNet-18 /
//! MLP / MNIST CNN built in Rust (tests/nets). Each model is optimized at level 2, checked
//! against the unoptimized model on seeded random inputs, then decomposed to standard ONNX,
//! exported, re-imported and checked again. Run with `--nocapture` for the node counts.

mod nets;

use edgeopt_ir::exec::feed_inputs;
use edgeopt_ir::Model;
use edgeopt_onnx::{encode_model, load_model, load_model_bytes, LoadOptions, SaveOptions};
use edgeopt_passes::testing::{count, histogram, max_rel_diff, random_tensor, run};
use edgeopt_passes::{optimize, specialize_inputs, Config, Pipeline};
use std::path::{Path, PathBuf};

/// Where the PP-OCR models are: `$EDGEOPT_PPOCR_MODELS`, or the workspace's `.venv`.
fn ppocr_dir() -> PathBuf {
    if let Ok(d) = std::env::var("EDGEOPT_PPOCR_MODELS") {
        return d.into();
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path().join("site-packages/rapidocr_onnxruntime/models"))
            .find(|p| p.is_dir())
    });
    found.unwrap_or_else(|| {
        panic!(
            "PP-OCR models not found under {}: run scripts/setup-python.sh or set EDGEOPT_PPOCR_MODELS",
            lib.display()
        )
    })
}

fn ppocr(file: &str, shape: &[usize]) -> Model {
    let path = ppocr_dir().join(file);
    let mut m = load_model(&path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = m.graph.value(feed_inputs(&m.graph)[0]).name.clone();
    specialize_inputs(&mut m, &[(&name, shape)]).unwrap();
    m
}

/// Optimizes `m`, checks outputs before/after and after an export round trip of the
/// decomposed model, prints and returns (before, after) op histograms.
fn check(name: &str, m: &Model, seed: u64) -> (Model, String) {
    let inputs: Vec<_> = feed_inputs(&m.graph)
        .iter()
        .map(|&v| {
            let shape = m
                .graph
                .value(v)
                .ty
                .as_tensor()
                .and_then(|t| t.concrete_shape());
            random_tensor(&shape.expect("static input"), seed)
        })
        .collect();
    let want = run(m, &inputs);
    let mut opt = m.clone();
    let reports = optimize(&mut opt, 2).unwrap_or_else(|e| panic!("{name}: {e}"));
    let d = max_rel_diff(&run(&opt, &inputs), &want);
    assert!(d <= 1e-5, "{name}: outputs moved by {d}");
    // A fixed point: a second run finds nothing.
    let again = optimize(&mut opt.clone(), 2).unwrap();
    assert!(again.iter().all(|r| r.rewrites == 0), "{name}: {again:?}");

    // The optimized model itself (fused ops, domain com.edgeopt) loads back with the
    // registry that knows them, and only with it.
    let fused = encode_model(&opt, &SaveOptions::default()).unwrap();
    let with_fused = LoadOptions {
        registry: Some(std::sync::Arc::new(edgeopt_passes::registry())),
        ..LoadOptions::default()
    };
    let reloaded =
        load_model_bytes(fused.clone(), &with_fused).unwrap_or_else(|e| panic!("{name}: {e}"));
    let d1 = max_rel_diff(&run(&reloaded, &inputs), &want);
    assert!(d1 <= 1e-5, "{name}: reloaded fused outputs moved by {d1}");
    if count(&opt, "FusedConv") + count(&opt, "FusedGemm") > 0 {
        let err = load_model_bytes(fused, &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("com.edgeopt"), "{name}: {err}");
    }

    let mut plain = opt.clone();
    let decompose = Config {
        opt_level: 0,
        enable: vec!["decompose_fused".into()],
        ..Config::default()
    };
    Pipeline::new(decompose).unwrap().run(&mut plain).unwrap();
    // ONNX Runtime refuses a model with two nodes of the same name.
    let mut names: Vec<&str> = plain.graph.nodes.iter().map(|n| n.name.as_str()).collect();
    names.sort_unstable();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "{name}: duplicate node names");
    let bytes = encode_model(&plain, &SaveOptions::default()).unwrap();
    let back =
        load_model_bytes(bytes, &LoadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let d2 = max_rel_diff(&run(&back, &inputs), &want);
    assert!(d2 <= 1e-5, "{name}: exported outputs moved by {d2}");

    let summary = format!(
        "{name}: {} -> {} nodes, {} -> {} BatchNormalization, fused: {} FusedConv, {} FusedGemm, {} FusedMatMul, {} FusedElementwise; max rel diff {d:.1e} (export {d2:.1e})\n  before: {}\n  after:  {}\n{}",
        m.graph.nodes.len(),
        opt.graph.nodes.len(),
        count(m, "BatchNormalization"),
        count(&opt, "BatchNormalization"),
        count(&opt, "FusedConv"),
        count(&opt, "FusedGemm"),
        count(&opt, "FusedMatMul"),
        count(&opt, "FusedElementwise"),
        histogram(m),
        histogram(&opt),
        edgeopt_passes::format_reports(&reports),
    );
    println!("{summary}");
    (opt, summary)
}

#[test]
fn ppocr_cls() {
    let m = ppocr("ch_ppocr_mobile_v2.0_cls_infer.onnx", &[1, 3, 48, 192]);
    let (opt, s) = check("PP-OCR cls", &m, 1);
    assert_eq!(count(&opt, "BatchNormalization"), 0, "{s}");
    assert!(count(&opt, "FusedConv") > 0, "{s}");
    assert!(opt.graph.nodes.len() * 3 < m.graph.nodes.len(), "{s}");
}

#[test]
fn ppocr_det() {
    let mut m = ppocr("ch_PP-OCRv4_det_infer.onnx", &[1, 3, 64, 64]);
    // On random input the probability map is ~1e-7 everywhere, which would hide any error:
    // compare the logits before the final Sigmoid too.
    let sigmoid = m
        .graph
        .nodes
        .iter()
        .rfind(|n| n.op_type() == "Sigmoid")
        .unwrap();
    let logits = sigmoid.inputs[0].unwrap();
    m.graph.outputs.push(logits);
    let (opt, s) = check("PP-OCR det", &m, 2);
    assert_eq!(count(&opt, "BatchNormalization"), 0, "{s}");
    assert!(count(&opt, "FusedConv") > 0, "{s}");
    assert!(opt.graph.nodes.len() * 2 < m.graph.nodes.len(), "{s}");
}

#[test]
fn ppocr_rec() {
    let m = ppocr("ch_PP-OCRv4_rec_infer.onnx", &[1, 3, 48, 64]);
    let (opt, s) = check("PP-OCR rec", &m, 3);
    assert_eq!(count(&opt, "Shape"), 0, "static shapes fold: {s}");
    assert!(opt.graph.nodes.len() * 2 < m.graph.nodes.len(), "{s}");
}

#[test]
fn mobilenet_v2() {
    let m = nets::mobilenet_v2(&[1, 3, 32, 32]);
    let (opt, s) = check("MobileNetV2", &m, 4);
    assert_eq!(count(&opt, "BatchNormalization"), 0, "{s}");
    // Every Conv + BN + Clip(0, 6) is one FusedConv; projections stay plain Convs.
    assert_eq!(count(&opt, "FusedConv"), 35, "{s}");
}

#[test]
fn resnet18() {
    let m = nets::resnet18(&[1, 3, 32, 32]);
    let (opt, s) = check("ResNet-18", &m, 5);
    assert_eq!(count(&opt, "BatchNormalization"), 0, "{s}");
    assert_eq!(count(&opt, "FusedConv"), 9, "{s}");
}

#[test]
fn mlp_and_mnist_cnn() {
    let (opt, s) = check("MLP", &nets::mlp(), 6);
    assert_eq!(count(&opt, "FusedGemm"), 2, "{s}");
    let (opt, s) = check("MNIST CNN", &nets::mnist_cnn(), 7);
    assert_eq!(
        (count(&opt, "FusedConv"), count(&opt, "FusedGemm")),
        (2, 1),
        "{s}"
    );
}
