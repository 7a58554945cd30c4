//! The host model keys nodes on the kernel the runtime lowered them to and uses the shipped
//! calibrated `[host_model]`.

use edgeopt_hw::estimate::{estimate, prepare_runtime, EstimateOptions};
use edgeopt_hw::host_nodes::{host_nodes, CacheSizes};
use edgeopt_hw::profile::Profile;
use edgeopt_passes::testing::{ints, ModelBuilder};

fn mobile_block() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 20, 20])
        .weight("we", &[24, 8, 1, 1])
        .node("Conv", &["x", "we"], &["e"], vec![])
        .node("Relu", &["e"], &["er"], vec![])
        .weight("wd", &[24, 1, 3, 3])
        .node(
            "Conv",
            &["er", "wd"],
            &["d"],
            vec![
                ("pads", ints(&[1, 1, 1, 1])),
                ("strides", ints(&[2, 2])),
                ("group", edgeopt_ir::Attribute::Int(24)),
            ],
        )
        .node("Sigmoid", &["d"], &["s"], vec![])
        .node("Flatten", &["s"], &["f"], vec![])
        .weight("wf", &[2400, 10])
        .node("MatMul", &["f", "wf"], &["y"], vec![])
        .output("y");
    b.build()
}

#[test]
fn nodes_are_keyed_on_the_runtime_kernel() {
    let mut opts = EstimateOptions::default();
    let m = prepare_runtime(&mobile_block(), &[], &mut opts).unwrap();
    let kernels = opts.host_kernels.clone().unwrap();
    let caches = CacheSizes {
        l1_bytes: 32 << 10,
        l2_bytes: 1 << 20,
        llc_bytes: 8 << 20,
    };
    let nodes = host_nodes(&m.graph, Some(&kernels), &caches).unwrap();
    assert_eq!(nodes.len(), kernels.len());
    let keys: Vec<&str> = nodes.iter().map(|n| n.key.as_str()).collect();
    assert!(keys.contains(&"conv.pointwise"), "{keys:?}");
    assert!(keys.contains(&"conv.depthwise.k3s2"), "{keys:?}");
    let dw = nodes
        .iter()
        .find(|n| n.key == "conv.depthwise.k3s2")
        .unwrap();
    // 24 channels x 10 output rows x 10 columns padded to 16 x 9 taps.
    assert_eq!(dw.features[1] + dw.features[2], (24 * 10 * 16 * 9) as f64);
    // The sigmoid (fused into the depthwise conv or run alone) costs transcendental work.
    assert!(nodes.iter().any(|n| n.features[10] > 0.0), "{nodes:?}");
    // Zero-copy reshapes are free.
    for n in nodes.iter().filter(|n| n.op_type == "Flatten") {
        assert!(n.is_free() || n.kernel != "alias");
    }
}

#[test]
fn the_shipped_host_profile_predicts_every_node_with_its_fitted_model() {
    let p = Profile::load("host-xeon-icelake-avx512").unwrap();
    let hm = p
        .host_model
        .as_ref()
        .expect("the host profile is calibrated");
    assert!(!hm.kernels.is_empty() && hm.l2_bytes > hm.l1_bytes);
    assert!(hm.calibration_set.contains("disjoint"));
    let mut opts = EstimateOptions::default();
    let m = prepare_runtime(&mobile_block(), &[], &mut opts).unwrap();
    let e = estimate(&m, &p, &opts).unwrap();
    assert!(e.layers.iter().all(|l| l.cost.bound == "model"), "{e:?}");
    let sum: f64 = e.layers.iter().map(|l| l.cost.time_s).sum();
    assert!(e.latency_s >= sum && e.latency_s.is_finite() && e.latency_s > 0.0);
    // Without the runtime's kernels (a plain graph) the kernel is guessed, still modelled.
    let plain = EstimateOptions {
        host_kernels: None,
        ..opts.clone()
    };
    let g = estimate(&m, &p, &plain).unwrap();
    assert!(g.latency_s.is_finite() && g.latency_s > 0.0);
}
