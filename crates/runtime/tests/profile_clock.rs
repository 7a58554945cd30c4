//! `Session::set_profile_clock` (per-step times on a caller's clock, e.g. thread CPU time)
//! and `Session::node_kernels` (the kernel of every step, by node index, before any run).

use edgeopt_passes::testing::{ints, random_tensor, ModelBuilder};
use edgeopt_runtime::{Session, SessionOptions};
use std::sync::atomic::{AtomicU64, Ordering};

static TICKS: AtomicU64 = AtomicU64::new(0);

/// A clock that advances one second per reading.
fn ticking() -> f64 {
    TICKS.fetch_add(1, Ordering::SeqCst) as f64
}

fn model() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 4, 8, 8])
        .weight("w", &[8, 4, 3, 3])
        .node(
            "Conv",
            &["x", "w"],
            &["c"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Sigmoid", &["c"], &["s"], vec![])
        .node("Flatten", &["s"], &["y"], vec![])
        .output("y");
    b.build()
}

#[test]
fn step_times_come_from_the_given_clock() {
    let mut s = Session::new(
        model(),
        SessionOptions {
            threads: 1,
            ..SessionOptions::default()
        },
    )
    .unwrap();
    s.set_profile_clock(Some(ticking));
    s.set_profiling(true);
    s.run(&[random_tensor(&[1, 4, 8, 8], 1)]).unwrap();
    s.set_profiling(false);
    let p = s.profile();
    assert!(!p.is_empty());
    // Two readings per step, one second apart.
    for st in &p {
        assert_eq!(st.time, std::time::Duration::from_secs(1), "{}", st.node);
    }
}

#[test]
fn node_kernels_name_every_step_before_a_run() {
    let s = Session::new(model(), SessionOptions::default()).unwrap();
    let k = s.node_kernels();
    let g = &s.optimized_model().unwrap().graph;
    assert!(!k.is_empty());
    for (i, name) in &k {
        assert!(*i < g.nodes.len());
        assert!(!name.is_empty());
    }
    let conv = k
        .iter()
        .find(|(i, _)| g.nodes[*i].op_type().contains("Conv"))
        .expect("the convolution is scheduled");
    assert!(conv.1.starts_with("conv."), "{}", conv.1);
    let names: Vec<String> = s.profile().into_iter().map(|p| p.kernel).collect();
    let from_kernels: Vec<String> = k.into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, from_kernels);
}
