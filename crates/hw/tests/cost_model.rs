//! The cost models on hand-computed cases, and `estimate` end to end on a small model.

use edgeopt_hw::estimate::{estimate, prepare, EstimateOptions};
use edgeopt_hw::layers::{GemmDims, KernelClass, Layer};
use edgeopt_hw::profile::{Precision, Profile};
use edgeopt_hw::roofline::{homes, layer_cost};
use edgeopt_passes::testing::{ints, ModelBuilder};

/// A toy CPU: 1 GMAC/s fp32 at 50% efficiency, L1 1 KB at 100 GB/s, DRAM at 1 GB/s.
const TOY: &str = r#"
[device]
name = "toy"
description = "hand-computable"
kind = "cpu"
clock_hz = 1e9
cores = 1
process_nm = 45
source = "test"
[compute]
winograd = false
[compute.fp32]
peak_macs_per_s = 1e9
efficiency = 0.5
source = "test"
[compute.fp16]
peak_macs_per_s = 2e9
efficiency = 0.5
source = "test"
[compute.int8]
peak_macs_per_s = 4e9
efficiency = 0.5
source = "test"
[[memory]]
name = "L1"
kind = "cache"
size_bytes = 1024
bandwidth_bytes_per_s = 1e11
energy_pj_per_byte = 1.0
source = "test"
[[memory]]
name = "dram"
kind = "dram"
size_bytes = 1000000000
bandwidth_bytes_per_s = 1e9
energy_pj_per_byte = 100.0
source = "test"
[placement]
weights = "dram"
activations = "dram"
[energy]
static_w = 0.0
source = "test"
[energy.fp32]
mac_pj = 4.6
op_pj = 0.9
[energy.fp16]
mac_pj = 1.5
op_pj = 0.4
[energy.int8]
mac_pj = 0.3
op_pj = 0.03
[overhead]
per_layer_s = 1e-6
source = "test"
"#;

fn layer(macs: u64, act_in: u64, act_out: u64, w: u64) -> Layer {
    Layer {
        name: "l".into(),
        op_type: "Gemm".into(),
        class: KernelClass::Gemm,
        macs,
        flops: 0,
        act_in_bytes: act_in,
        act_out_bytes: act_out,
        weight_bytes: w,
        out_elems: act_out / 4,
        gemm: Some(GemmDims {
            m: 1,
            k: 1,
            n: 1,
            groups: 1,
        }),
    }
}

#[test]
fn roofline_compute_bound_case() {
    let p = Profile::parse(TOY, "toy").unwrap();
    let h = homes(&p, 400, 600);
    // 1e6 MACs at 0.5 GMAC/s = 2 ms; activations 600 B fit L1 (600 B / 100 GB/s), weights
    // 400 B fit L1 too (the whole model's weights): 1000 B / 1e11 = 10 ns. Time 2 ms + 1 us.
    let c = layer_cost(
        &p,
        &layer(1_000_000, 200, 400, 400),
        &h,
        400,
        Precision::Fp32,
        1.0,
    );
    assert_eq!(c.bytes, vec![1000, 0]);
    assert!((c.time_s - 2.001e-3).abs() < 1e-12, "{}", c.time_s);
    assert_eq!(c.bound, "compute");
    // Energy: 1e6 MACs x 4.6 pJ + 1000 B x 1 pJ = 4.601 uJ.
    assert!((c.energy_j - 4.601e-6).abs() < 1e-15, "{}", c.energy_j);
}

#[test]
fn roofline_memory_bound_case() {
    let p = Profile::parse(TOY, "toy").unwrap();
    // 1 MB of weights cannot sit in L1: they stream from DRAM (and through L1).
    let w = 1_000_000;
    let h = homes(&p, w, 600);
    let c = layer_cost(&p, &layer(1_000, 200, 400, w), &h, w, Precision::Fp32, 1.0);
    assert_eq!(c.bytes, vec![600 + w, w]);
    // DRAM: 1e6 B / 1e9 B/s = 1 ms > compute 2 us, L1 ~10 us. Plus 1 us overhead.
    assert!((c.time_s - 1.001e-3).abs() < 1e-12, "{}", c.time_s);
    assert_eq!(c.bound, "dram");
    // int8 quadruples the MAC rate; the bytes passed in are what the layer moves.
    let c8 = layer_cost(
        &p,
        &layer(1_000_000, 200, 400, 0),
        &h,
        w,
        Precision::Int8,
        1.0,
    );
    assert!((c8.time_s - (1e6 / 2e9 + 1e-6)).abs() < 1e-12);
}

fn small_cnn() -> edgeopt_ir::Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 3, 16, 16])
        .weight("w1", &[8, 3, 3, 3])
        .weight("b1", &[8])
        .node(
            "Conv",
            &["x", "w1", "b1"],
            &["c1"],
            vec![("pads", ints(&[1, 1, 1, 1]))],
        )
        .node("Relu", &["c1"], &["r1"], vec![])
        .weight("w2", &[16, 8, 1, 1])
        .node("Conv", &["r1", "w2"], &["c2"], vec![])
        .node("GlobalAveragePool", &["c2"], &["g"], vec![])
        .node("Flatten", &["g"], &["f"], vec![])
        .weight("w3", &[16, 10])
        .node("MatMul", &["f", "w3"], &["y"], vec![])
        .output("y");
    b.build()
}

#[test]
fn estimate_small_model_end_to_end() {
    let m = prepare(&small_cnn()).unwrap();
    // Relu fused into the first Conv: no separate element-wise layer moves memory.
    assert!(m.graph.nodes.iter().all(|n| n.op_type() != "Relu"));
    let p = Profile::parse(TOY, "toy").unwrap();
    let e32 = estimate(&m, &p, &EstimateOptions::default()).unwrap();
    let macs = 8 * 27 * 256 + 16 * 8 * 256 + 160;
    assert_eq!(e32.macs, macs);
    assert_eq!(e32.weight_bytes, 4 * (8 * 27 + 8 + 16 * 8 + 160));
    let classes: Vec<KernelClass> = e32.layers.iter().map(|l| l.layer.class).collect();
    assert!(classes.contains(&KernelClass::ConvKxK) && classes.contains(&KernelClass::Conv1x1));
    let sum: f64 = e32.layers.iter().map(|l| l.cost.time_s).sum();
    assert!((sum - e32.latency_s).abs() < 1e-15 && e32.latency_s > 0.0);
    // Live at once: the 3x16x16 input while the 8x16x16 output is written, then 8 + 16
    // channels: the peak is (8 + 16) x 256 floats.
    assert_eq!(e32.peak_activation_bytes, 4 * 24 * 256);
    let opts8 = EstimateOptions {
        precision: Precision::Int8,
        ..EstimateOptions::default()
    };
    let e8 = estimate(&m, &p, &opts8).unwrap();
    assert_eq!(e8.weight_bytes * 4, e32.weight_bytes);
    assert!(e8.latency_s < e32.latency_s && e8.energy_j < e32.energy_j);
    let half = EstimateOptions {
        sparsity: 0.5,
        ..EstimateOptions::default()
    };
    let es = estimate(&m, &p, &half).unwrap();
    assert!(es.macs < e32.macs && es.weight_bytes < e32.weight_bytes);
    assert!(estimate(
        &m,
        &p,
        &EstimateOptions {
            sparsity: 1.0,
            ..half
        }
    )
    .is_err());
    // Every shipped profile estimates the model.
    for (name, _) in edgeopt_hw::profile::BUILTIN {
        let p = Profile::load(name).unwrap();
        for prec in [Precision::Fp32, Precision::Int8] {
            let opts = EstimateOptions {
                precision: prec,
                ..EstimateOptions::default()
            };
            let e = estimate(&m, &p, &opts).unwrap();
            assert!(e.latency_s.is_finite() && e.latency_s > 0.0, "{name}");
            assert!(e.energy_j.is_finite() && e.energy_j > 0.0, "{name}");
        }
    }
}
