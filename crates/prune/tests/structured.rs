//! Dependency-aware structured pruning on small graphs built in Rust: the shrunk model must
//! compute what the masked original computes (removed channels' downstream weights zeroed),
//! within 1e-5 relative, and really be smaller.

use std::collections::{BTreeMap, BTreeSet};

use edgeopt_ir::Attribute;
use edgeopt_ir::Model;
use edgeopt_passes::testing::{ints, max_rel_diff, random_tensor, run, ModelBuilder};
use edgeopt_prune::channel::{importance, select};
use edgeopt_prune::report::model_cost;
use edgeopt_prune::rules::analyze;
use edgeopt_prune::{apply_plan, normalize, Apply, Criterion, Target};

fn conv(b: &mut ModelBuilder, x: &str, y: &str, w: &str, shape: &[usize], group: i64) {
    let pad = (shape[2] / 2) as i64;
    b.weight(w, shape)
        .weight(&format!("{w}_b"), &[shape[0]])
        .node(
            "Conv",
            &[x, w, &format!("{w}_b")],
            &[y],
            vec![
                ("pads", ints(&[pad, pad, pad, pad])),
                ("group", Attribute::Int(group)),
            ],
        );
}

fn bn(b: &mut ModelBuilder, x: &str, y: &str, c: usize, name: &str) {
    let var = random_tensor(&[c], 99)
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.abs() + 0.5)
        .collect();
    b.weight(&format!("{name}_s"), &[c])
        .weight(&format!("{name}_b"), &[c])
        .weight(&format!("{name}_m"), &[c])
        .init(
            &format!("{name}_v"),
            edgeopt_tensor::Tensor::from_vec(vec![c], var).unwrap(),
        )
        .node(
            "BatchNormalization",
            &[
                x,
                &format!("{name}_s"),
                &format!("{name}_b"),
                &format!("{name}_m"),
                &format!("{name}_v"),
            ],
            &[y],
            vec![],
        );
}

/// Prunes `target` channels at `sparsity` by L1; checks shrunk == masked on random inputs.
/// Returns (shrunk model, channels removed).
fn check(model: &Model, target: Target, sparsity: f64, input: &[usize]) -> (Model, usize) {
    let mut model = model.clone();
    normalize(&mut model).unwrap();
    let dg = analyze(&model.graph);
    let imp = importance(&model, &dg, Criterion::L1, &[]).unwrap();
    let (removed, reports) = select(&model, &dg, target, sparsity, &BTreeMap::new(), &imp, 1);
    let n: usize = reports.iter().map(|r| r.removed).sum();
    let mut masked = model.clone();
    apply_plan(&mut masked, &dg, &removed, Apply::Mask).unwrap();
    let mut shrunk = model.clone();
    apply_plan(&mut shrunk, &dg, &removed, Apply::Shrink).unwrap();
    shrunk.graph.check().unwrap();
    for seed in 0..3 {
        let x = [random_tensor(input, 100 + seed)];
        let d = max_rel_diff(&run(&shrunk, &x), &run(&masked, &x));
        assert!(d <= 1e-5, "shrunk vs masked differ by {d}");
    }
    let (before, after) = (model_cost(&model), model_cost(&shrunk));
    if n > 0 {
        assert!(
            after.params < before.params,
            "{} -> {}",
            before.params,
            after.params
        );
        assert!(
            after.macs < before.macs,
            "{} -> {}",
            before.macs,
            after.macs
        );
    }
    (shrunk, n)
}

fn residual() -> Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8]);
    conv(&mut b, "x", "c1", "w1", &[8, 3, 3, 3], 1);
    bn(&mut b, "c1", "b1", 8, "bn1");
    b.node("Relu", &["b1"], &["r1"], vec![]);
    conv(&mut b, "r1", "c2", "w2", &[8, 8, 3, 3], 1);
    bn(&mut b, "c2", "b2", 8, "bn2");
    b.node("Add", &["b2", "r1"], &["a"], vec![]);
    b.node("Relu", &["a"], &["r2"], vec![]);
    conv(&mut b, "r2", "c3", "w3", &[8, 8, 1, 1], 1);
    b.node("Relu", &["c3"], &["r3"], vec![]);
    conv(&mut b, "r3", "y", "w4", &[4, 8, 1, 1], 1);
    b.output("y");
    b.build()
}

#[test]
fn residual_add_prunes_both_branches_together() {
    let (shrunk, n) = check(&residual(), Target::Channels, 0.5, &[1, 3, 8, 8]);
    assert_eq!(
        n,
        4 + 4,
        "the residual group (8) and c3's group (8) lose half each"
    );
    let w1 = shrunk.graph.find("w1").unwrap();
    assert_eq!(shrunk.graph.initializers[&w1].shape(), &[4, 3, 3, 3]);
    let w2 = shrunk.graph.find("w2").unwrap();
    assert_eq!(shrunk.graph.initializers[&w2].shape(), &[4, 4, 3, 3]);
    let w4 = shrunk.graph.find("w4").unwrap();
    assert_eq!(
        shrunk.graph.initializers[&w4].shape(),
        &[4, 4, 1, 1],
        "output kept"
    );
}

#[test]
fn concat_and_depthwise_follow_their_inputs() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 6, 6]);
    conv(&mut b, "x", "ca", "wa", &[6, 3, 3, 3], 1);
    conv(&mut b, "x", "cb", "wb", &[4, 3, 1, 1], 1);
    b.node(
        "Concat",
        &["ca", "cb"],
        &["cat"],
        vec![("axis", Attribute::Int(1))],
    );
    conv(&mut b, "cat", "dw", "wd", &[10, 1, 3, 3], 10);
    bn(&mut b, "dw", "dwb", 10, "bnd");
    b.node("Clip", &["dwb"], &["r"], vec![]);
    conv(&mut b, "r", "y", "wp", &[5, 10, 1, 1], 1);
    b.output("y");
    let (shrunk, n) = check(&b.build(), Target::Channels, 0.5, &[1, 3, 6, 6]);
    assert_eq!(n, 3 + 2);
    let wd = shrunk.graph.find("wd").unwrap();
    assert_eq!(shrunk.graph.initializers[&wd].shape(), &[5, 1, 3, 3]);
    let dw = shrunk
        .graph
        .nodes
        .iter()
        .find(|n| n.op_type() == "Conv" && n.outputs[0] == shrunk.graph.find("dw"))
        .unwrap();
    let group = dw.op.attributes().into_iter().find(|(k, _)| k == "group");
    assert!(matches!(group, Some((_, Attribute::Int(5)))), "{group:?}");
}

#[test]
fn flatten_to_gemm_removes_feature_blocks_and_neurons() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8]);
    conv(&mut b, "x", "c", "w", &[6, 3, 3, 3], 1);
    b.node("Relu", &["c"], &["r"], vec![]);
    b.node(
        "AveragePool",
        &["r"],
        &["p"],
        vec![("kernel_shape", ints(&[4, 4])), ("strides", ints(&[4, 4]))],
    );
    b.node("Flatten", &["p"], &["f"], vec![]);
    b.weight("g1", &[7, 24]).weight("g1b", &[7]);
    b.node(
        "Gemm",
        &["f", "g1", "g1b"],
        &["h"],
        vec![("transB", Attribute::Int(1))],
    );
    b.node("Relu", &["h"], &["hr"], vec![]);
    b.weight("g2", &[7, 3]).weight("g2b", &[3]);
    b.node("Gemm", &["hr", "g2", "g2b"], &["y"], vec![]);
    b.output("y");
    let model = b.build();
    let (shrunk, n) = check(&model, Target::Channels, 0.5, &[1, 3, 8, 8]);
    assert_eq!(n, 3);
    let g1 = shrunk.graph.find("g1").unwrap();
    assert_eq!(shrunk.graph.initializers[&g1].shape(), &[7, 12]);
    let (shrunk, n) = check(&model, Target::Neurons, 0.5, &[1, 3, 8, 8]);
    assert_eq!(n, 3);
    let g2 = shrunk.graph.find("g2").unwrap();
    assert_eq!(shrunk.graph.initializers[&g2].shape(), &[4, 3]);
}

#[test]
fn matmul_chain_with_bias_add() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 16]);
    b.weight("m1", &[16, 12]).weight("m1b", &[12]);
    b.node("MatMul", &["x", "m1"], &["h"], vec![]);
    b.node("Add", &["h", "m1b"], &["hb"], vec![]);
    b.node("Relu", &["hb"], &["hr"], vec![]);
    b.weight("m2", &[12, 5]);
    b.node("MatMul", &["hr", "m2"], &["y"], vec![]);
    b.output("y");
    let (shrunk, n) = check(&b.build(), Target::Neurons, 0.75, &[2, 16]);
    assert_eq!(n, 9);
    let m2 = shrunk.graph.find("m2").unwrap();
    assert_eq!(shrunk.graph.initializers[&m2].shape(), &[3, 5]);
}

#[test]
fn channel_mixing_reshape_and_outputs_are_blocked() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 4, 4]);
    conv(&mut b, "x", "c", "w", &[8, 4, 1, 1], 1);
    b.init(
        "shape",
        edgeopt_tensor::Tensor::from_vec(vec![4], vec![1i64, 2, 4, 16]).unwrap(),
    );
    b.node("Reshape", &["c", "shape"], &["y"], vec![]);
    b.output("y");
    let mut model = b.build();
    normalize(&mut model).unwrap();
    let dg = analyze(&model.graph);
    let groups = dg.groups(&model.graph);
    let g = groups.iter().find(|g| !g.producers.is_empty()).unwrap();
    assert!(
        g.blocked.as_deref().unwrap().contains("Reshape"),
        "{:?}",
        g.blocked
    );
    let imp = importance(&model, &dg, Criterion::L2, &[]).unwrap();
    let (removed, _) = select(
        &model,
        &dg,
        Target::Channels,
        0.5,
        &BTreeMap::new(),
        &imp,
        1,
    );
    assert_eq!(removed, BTreeSet::new());
}

#[test]
fn activation_criterion_runs_calibration_data() {
    let model = residual();
    let calib = vec![vec![random_tensor(&[1, 3, 8, 8], 5)]];
    let mut m = model.clone();
    normalize(&mut m).unwrap();
    let dg = analyze(&m.graph);
    let imp = importance(&m, &dg, Criterion::Activation, &calib).unwrap();
    assert!(imp.values().any(|v| *v > 0.0));
    assert!(importance(&m, &dg, Criterion::Activation, &[]).is_err());
}

#[test]
fn split_sizes_follow_their_outputs() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 6, 6]);
    conv(&mut b, "x", "c", "w", &[10, 3, 3, 3], 1);
    b.init(
        "sizes",
        edgeopt_tensor::Tensor::from_vec(vec![2], vec![4i64, 6]).unwrap(),
    );
    b.node(
        "Split",
        &["c", "sizes"],
        &["s0", "s1"],
        vec![("axis", Attribute::Int(1))],
    );
    conv(&mut b, "s0", "y0", "w0", &[2, 4, 1, 1], 1);
    conv(&mut b, "s1", "y1", "w1", &[2, 6, 1, 1], 1);
    b.node("Add", &["y0", "y1"], &["y"], vec![]);
    b.output("y");
    let (shrunk, n) = check(&b.build(), Target::Channels, 0.5, &[1, 3, 6, 6]);
    assert_eq!(n, 2 + 3, "each split part is its own group");
    let sizes = shrunk.graph.find("sizes").unwrap();
    assert_eq!(
        shrunk.graph.initializers[&sizes].to_i64_vec().unwrap(),
        vec![2, 3]
    );
}
