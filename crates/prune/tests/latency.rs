//! `latency::measure`: every step of every model is timed, step MACs match the IR's cost, and
//! per-key totals add up.

use edgeopt_ir::Model;
use edgeopt_passes::testing::{ints, random_tensor, ModelBuilder};
use edgeopt_prune::latency::measure;

fn wall() -> f64 {
    use std::sync::OnceLock;
    static T0: OnceLock<std::time::Instant> = OnceLock::new();
    T0.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

fn conv_relu(c: usize) -> Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 8, 8]);
    b.weight("w", &[c, 3, 3, 3]).weight("wb", &[c]).node(
        "Conv",
        &["x", "w", "wb"],
        &["c"],
        vec![("pads", ints(&[1, 1, 1, 1]))],
    );
    b.node("Relu", &["c"], &["r"], vec![]);
    b.node("GlobalAveragePool", &["r"], &["y"], vec![]);
    b.output("y");
    b.build()
}

#[test]
fn measures_every_step_of_models_in_alternation() {
    let (big, small) = (conv_relu(16), conv_relu(4));
    let x = random_tensor(&[1, 3, 8, 8], 1);
    let m = measure(&[&big, &small], &[x], 3, wall).unwrap();
    assert_eq!(m.len(), 2);
    for (r, c) in m.iter().zip([16u64, 4]) {
        assert!(r.run_seconds > 0.0);
        assert!(!r.steps.is_empty());
        let conv = r.steps.iter().find(|s| s.macs > 0).unwrap();
        assert_eq!(conv.macs, c * 3 * 9 * 64);
        assert!(r.node_seconds(&conv.node).is_some());
        let by_op = r.totals_by(|s| s.op_type.clone());
        let total: f64 = by_op.values().map(|v| v.0).sum();
        let sum: f64 = r.steps.iter().map(|s| s.seconds).sum();
        assert!((total - sum).abs() <= 1e-12 * sum.max(1.0));
    }
    assert!(m[0].node_seconds("no such node").is_none());
}
