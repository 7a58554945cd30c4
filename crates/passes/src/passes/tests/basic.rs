//! fold_constants, eliminate_dead_nodes, eliminate_identities, and the editor's rules for
//! graph outputs.

use crate::testing::{check_passes, count, ints, random_tensor, ModelBuilder};
use edgeopt_ir::Attribute;
use edgeopt_tensor::{DType, Tensor};

fn x() -> Tensor {
    random_tensor(&[2, 3], 7)
}

#[test]
fn folds_constant_subgraphs_and_constant_nodes() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .weight("a", &[3])
        .weight("c", &[3])
        .node(
            "Constant",
            &[],
            &["k"],
            vec![("value", Attribute::Tensor(Tensor::vec1(vec![2f32; 3])))],
        )
        .node("Mul", &["a", "k"], &["ak"], vec![])
        .node("Add", &["ak", "c"], &["akc"], vec![])
        .node("Exp", &["akc"], &["e"], vec![])
        .node("Add", &["x", "e"], &["y"], vec![])
        .output("y");
    let m = b.build();
    let (opt, r) = check_passes(&m, &["fold_constants"], &[x()]);
    assert_eq!(r[0].rewrites, 4);
    assert_eq!(opt.graph.nodes.len(), 1, "only x + e is left");
    assert_eq!(
        opt.graph.initializers.len(),
        1,
        "a, c and the intermediates are pruned"
    );
}

#[test]
fn never_folds_random_ops_graph_outputs_or_over_the_limit() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .weight("c", &[2, 3])
        .init("ratio", Tensor::scalar(0.5f32))
        .init("train", Tensor::scalar(true))
        .node("Dropout", &["c", "ratio", "train"], &["r"], vec![])
        .node("Add", &["x", "r"], &["y"], vec![])
        .weight("w", &[64])
        .node("Neg", &["w"], &["z"], vec![])
        .output("y")
        .output("z");
    let mut m = b.build();
    let n = m.graph.nodes.len();
    crate::optimize(&mut m, 1).unwrap();
    assert_eq!(
        m.graph.nodes.len(),
        n,
        "training Dropout and the output-producing Neg stay"
    );

    let mut b = ModelBuilder::new(17);
    b.input("x", &[64])
        .weight("w", &[64])
        .node("Neg", &["w"], &["nw"], vec![])
        .node("Add", &["x", "nw"], &["y"], vec![])
        .output("y");
    let mut m = b.build();
    let p = crate::Pipeline::new(crate::Config {
        opt_level: 1,
        fold_limit: 16,
        ..Default::default()
    })
    .unwrap();
    p.run(&mut m).unwrap();
    assert_eq!(count(&m, "Neg"), 1, "64 elements is over the limit of 16");
}

#[test]
fn removes_dead_chains_and_their_weights() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .weight("w", &[3])
        .node("Mul", &["x", "w"], &["dead1"], vec![])
        .node("Relu", &["dead1"], &["dead2"], vec![])
        .node("Relu", &["x"], &["y"], vec![])
        .output("y");
    let (opt, r) = check_passes(&b.build(), &["eliminate_dead_nodes"], &[x()]);
    assert_eq!(r[0].rewrites, 2);
    assert_eq!(opt.graph.nodes.len(), 1);
    assert!(opt.graph.initializers.is_empty());
}

#[test]
fn bypasses_identity_like_nodes() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 3])
        .node("Identity", &["x"], &["a"], vec![])
        .node("Dropout", &["a"], &["b"], vec![])
        .node(
            "Cast",
            &["b"],
            &["c"],
            vec![("to", Attribute::Int(DType::F32.onnx_code() as i64))],
        )
        .node("Transpose", &["c"], &["d"], vec![("perm", ints(&[0, 1]))])
        .init("s", Tensor::vec1(vec![2i64, 3]))
        .node("Reshape", &["d", "s"], &["e"], vec![])
        .node("Relu", &["e"], &["y"], vec![])
        .output("y");
    let (opt, r) = check_passes(&b.build(), &["eliminate_identities"], &[x()]);
    assert!(r[0].rewrites >= 5);
    assert_eq!(
        opt.graph.nodes.len(),
        1,
        "{:?}",
        crate::testing::histogram(&opt)
    );
}

#[test]
fn keeps_dropout_whose_mask_is_read_and_real_casts() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 3])
        .node("Dropout", &["x"], &["a", "mask"], vec![])
        .node(
            "Cast",
            &["a"],
            &["y"],
            vec![("to", Attribute::Int(DType::F64.onnx_code() as i64))],
        )
        .output("y")
        .output("mask");
    let (opt, _) = check_passes(&b.build(), &["eliminate_identities"], &[x()]);
    assert_eq!(opt.graph.nodes.len(), 2);
}

#[test]
fn collapses_view_chains_and_unsqueeze_squeeze() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 3])
        .node("Flatten", &["x"], &["f"], vec![("axis", Attribute::Int(0))])
        .init("s", Tensor::vec1(vec![2i64, 3]))
        .node("Reshape", &["f", "s"], &["r"], vec![])
        .init("ax", Tensor::vec1(vec![0i64, 3]))
        .node("Unsqueeze", &["r", "ax"], &["u"], vec![])
        .node("Squeeze", &["u", "ax"], &["q"], vec![])
        .node("Neg", &["q"], &["y"], vec![])
        .output("y");
    let (opt, _) = check_passes(&b.build(), &["eliminate_identities"], &[x()]);
    assert_eq!(
        opt.graph.nodes.len(),
        1,
        "{}",
        crate::testing::histogram(&opt)
    );
}

#[test]
fn graph_outputs_keep_their_names() {
    // The Identity producing output 'y' goes; Relu's output takes the name 'y'.
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .node("Relu", &["x"], &["r"], vec![])
        .node("Identity", &["r"], &["y"], vec![])
        .output("y");
    let (opt, _) = check_passes(&b.build(), &["eliminate_identities"], &[x()]);
    assert_eq!(opt.graph.nodes.len(), 1);
    let out = opt.graph.outputs[0];
    assert_eq!(opt.graph.value(out).name, "y");
    // x -> Identity -> y: the input cannot be renamed, so the Identity stays.
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .node("Identity", &["x"], &["y"], vec![])
        .output("y");
    let (opt, _) = check_passes(&b.build(), &["eliminate_identities"], &[x()]);
    assert_eq!(opt.graph.nodes.len(), 1);
    // Two outputs reached through Identities from one value: one rename, one Identity.
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .node("Relu", &["x"], &["r"], vec![])
        .node("Identity", &["r"], &["y1"], vec![])
        .node("Identity", &["r"], &["y2"], vec![])
        .output("y1")
        .output("y2");
    let (opt, _) = check_passes(&b.build(), &["eliminate_identities"], &[x()]);
    let names: Vec<&str> = opt
        .graph
        .outputs
        .iter()
        .map(|&o| opt.graph.value(o).name.as_str())
        .collect();
    assert_eq!(names, ["y1", "y2"]);
    assert_eq!(opt.graph.nodes.len(), 2);
}

#[test]
fn level_one_cleans_up_and_reports() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .weight("a", &[3])
        .node("Neg", &["a"], &["na"], vec![])
        .node("Identity", &["x"], &["i"], vec![])
        .node("Add", &["i", "na"], &["y"], vec![])
        .node("Relu", &["i"], &["unused"], vec![])
        .output("y");
    let m = b.build();
    let mut opt = m.clone();
    let reports = crate::optimize(&mut opt, 1).unwrap();
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0].nodes_before, 4);
    assert_eq!(reports.last().unwrap().nodes_after, 1);
    let text = crate::format_reports(&reports);
    assert!(text.contains("fold_constants"), "{text}");
    assert!(
        crate::testing::max_rel_diff(
            &crate::testing::run(&opt, &[x()]),
            &crate::testing::run(&m, &[x()])
        ) == 0.0
    );
    // Level 0 does nothing; unknown names are refused.
    assert!(crate::optimize(&mut m.clone(), 0).unwrap().is_empty());
    let bad = crate::Config {
        disable: vec!["nope".into()],
        ..Default::default()
    };
    assert!(crate::Pipeline::new(bad).is_err());
}

#[test]
fn config_disables_passes_and_dumps_each_step() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .node("Identity", &["x"], &["i"], vec![])
        .node("Relu", &["i"], &["y"], vec![])
        .output("y");
    let m = b.build();
    let dir = std::env::temp_dir().join(format!("edgeopt-dump-{}", std::process::id()));
    let config = crate::Config {
        opt_level: 1,
        disable: vec!["eliminate_identities".into()],
        dump_dir: Some(dir.clone()),
        ..Default::default()
    };
    let p = crate::Pipeline::new(config).unwrap();
    assert_eq!(p.passes.len(), 2);
    let mut opt = m.clone();
    p.run(&mut opt).unwrap();
    assert_eq!(opt.graph.nodes.len(), 2, "the Identity stays");
    let text = std::fs::read_to_string(dir.join("01-eliminate_dead_nodes.txt")).unwrap();
    assert!(text.contains("y = Relu(i)"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A branch graph computing `op(a)` where `a` is captured from the enclosing graph.
fn branch(op: &str, opset: i64) -> edgeopt_ir::Graph {
    let mut b = ModelBuilder::new(opset);
    b.node(op, &["a"], &["out"], vec![]).output("out");
    let mut g = b.model.graph.clone();
    g.captures = vec![g.find("a").unwrap()];
    g
}

#[test]
fn values_read_by_subgraphs_are_left_alone() {
    let mut b = ModelBuilder::new(17);
    b.input("x", &[2, 3])
        .init("cond", Tensor::scalar(true))
        .node("Identity", &["x"], &["a"], vec![])
        .node(
            "If",
            &["cond"],
            &["y"],
            vec![
                (
                    "then_branch",
                    Attribute::Graph(Box::new(branch("Relu", 17))),
                ),
                ("else_branch", Attribute::Graph(Box::new(branch("Neg", 17)))),
            ],
        )
        .output("y");
    let a = b.model.graph.find("a").unwrap();
    b.model.graph.nodes[1].implicit_inputs = vec![a];
    let m = b.build();
    // The Identity's output is read by name inside the branches: bypassing it would break
    // them, and the If (a subgraph op) is not folded even though its input is constant.
    let (opt, _) = check_passes(
        &m,
        &[
            "fold_constants",
            "eliminate_identities",
            "eliminate_dead_nodes",
        ],
        &[x()],
    );
    assert_eq!(crate::testing::histogram(&opt), "Identity:1 If:1");
    let mut g = opt.graph.clone();
    let mut ed = crate::rewrite::Editor::new(&mut g);
    assert!(ed.replace_uses(a, opt.graph.inputs[0]).is_err());
}
