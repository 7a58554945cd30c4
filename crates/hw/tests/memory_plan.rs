//! The estimate's peak activation memory is the runtime's planned arena, byte for byte.

use edgeopt_hw::estimate::{estimate, prepare_runtime, EstimateOptions};
use edgeopt_hw::Profile;
use edgeopt_runtime::{Session, SessionOptions};
use edgeopt_zoo::{BatchDim, ZooConfig};

#[test]
fn estimate_peak_equals_session_memory_plan() {
    let p = Profile::load("host-xeon-icelake-avx512").unwrap();
    for (name, width, res) in [
        ("mlp", 1.0, None),
        ("lenet", 1.0, None),
        ("cnn", 0.5, Some(28)),
        ("resnet", 0.5, Some(32)),
        ("mobilenetv2", 0.35, Some(64)),
    ] {
        let cfg = ZooConfig {
            width,
            resolution: res,
            batch: BatchDim::Fixed(1),
            ..ZooConfig::default()
        };
        let m = edgeopt_zoo::build(name, &cfg).unwrap();
        let mut opts = EstimateOptions::default();
        let prepared = prepare_runtime(&m, &[], &mut opts).unwrap();
        let e = estimate(&prepared, &p, &opts).unwrap();
        let s = Session::new(
            m,
            SessionOptions {
                threads: 1,
                ..SessionOptions::default()
            },
        )
        .unwrap();
        let planned = s
            .memory_plan()
            .expect("static shapes build the plan")
            .peak_bytes;
        assert!(planned > 0, "{name}");
        assert_eq!(e.peak_activation_bytes, planned as u64, "{name}");
    }
}
