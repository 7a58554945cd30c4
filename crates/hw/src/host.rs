//! The calibrated host: per-kernel linear models `time = coef · features`, fitted by
//! non-negative least squares on per-node times measured inside whole models (as tract's
//! cost-model notes describe: a few linear features per kernel family, non-negative so no
//! feature can make a node faster). Nodes are keyed on the kernel the runtime lowered them to
//! ([`crate::host_nodes`]).

use crate::host_nodes::{HostNode, NF, WEIGHT_FEATURES};

/// Samples a key needs for its weight bytes to get one coefficient per cache level.
pub const MIN_SAMPLES_PER_WEIGHT_LEVEL: usize = 40;
use crate::nnls::nnls;
use crate::profile::{HostModel, KernelModel};

/// Predicted seconds of `node` under `m`, from the most specific model there is for it
/// (key, kernel name, kernel family); `None` when there is none. Alias steps cost nothing.
pub fn predict(m: &HostModel, node: &HostNode) -> Option<f64> {
    if node.is_free() {
        return Some(0.0);
    }
    let km = node
        .lookup_keys()
        .into_iter()
        .find_map(|k| m.kernels.iter().find(|c| c.key == k))?;
    Some(dot(&km.coef, &node.features))
}

/// Bytes of the graph's fed inputs and outputs (what a run copies in and out).
pub fn io_bytes(g: &edgeopt_ir::Graph) -> u64 {
    let bytes = |v: edgeopt_ir::ValueId| {
        let ty = &g.value(v).ty;
        let n = ty
            .as_tensor()
            .and_then(|t| t.concrete_shape())
            .map_or(0, |s| s.iter().product::<usize>() as u64);
        n * ty.dtype().map_or(4, |d| d.size_of().max(1) as u64)
    };
    let ins: u64 = edgeopt_ir::exec::feed_inputs(g)
        .into_iter()
        .map(bytes)
        .sum();
    ins + g.outputs.iter().map(|&v| bytes(v)).sum::<u64>()
}

/// Seconds per run outside the nodes for a graph moving `io` bytes in and out, running
/// `steps` steps whose own predicted time is `nodes_s`.
pub fn per_run(m: &HostModel, io: u64, steps: usize, nodes_s: f64) -> f64 {
    m.per_run_s
        + m.per_run_s_per_byte * io as f64
        + m.per_run_s_per_step * steps as f64
        + m.per_run_node_fraction * nodes_s
}

/// One calibration model's time outside its nodes and what it may depend on.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Outside {
    /// Bytes of the graph's fed inputs and outputs.
    pub io_bytes: u64,
    /// Steps that run (alias steps included).
    pub steps: usize,
    /// Seconds of the nodes (the steps' sum).
    pub nodes_s: f64,
    /// Seconds of a whole run less `nodes_s`.
    pub outside_s: f64,
}

/// Fits `(per_run_s, per_run_s_per_byte, per_run_s_per_step, per_run_node_fraction)` by NNLS,
/// minimizing the error relative to each model's whole run (the outside time is a difference
/// of two measurements whose noise grows with the model).
pub fn fit_per_run(points: &[Outside]) -> [f64; 4] {
    let m = points.len();
    if m == 0 {
        return [0.0; 4];
    }
    let max = |f: &dyn Fn(&Outside) -> f64| points.iter().map(f).fold(1e-12, f64::max);
    let scale = [
        1.0,
        max(&|p| p.io_bytes as f64),
        max(&|p| p.steps as f64),
        max(&|p| p.nodes_s),
    ];
    let mut a = Vec::with_capacity(4 * m);
    let mut b = Vec::with_capacity(m);
    for p in points {
        let w = 1.0 / (p.nodes_s + p.outside_s).max(1e-9);
        let f = [1.0, p.io_bytes as f64, p.steps as f64, p.nodes_s];
        a.extend(f.iter().zip(&scale).map(|(x, s)| w * x / s));
        b.push(w * p.outside_s);
    }
    let x = nnls(&a, &b, m, 4);
    std::array::from_fn(|i| x[i] / scale[i])
}

fn dot(c: &[f64], f: &[f64; NF]) -> f64 {
    c.iter().zip(f).map(|(a, b)| a * b).sum()
}

/// One measured node: its features, median seconds and the weight of the sample in the fit.
#[derive(Clone, Debug)]
pub struct FitSample {
    pub features: [f64; NF],
    pub seconds: f64,
    pub weight: f64,
}

/// Fits one key on its samples. Rows are weighted by `weight / time`, so the fit minimizes
/// relative error (what the validation targets); columns are scaled to unit norm for
/// conditioning.
pub fn fit(key: &str, samples: &[FitSample]) -> KernelModel {
    let (m, n) = (samples.len(), NF);
    // With few samples the three weight levels are confounded with the other size features
    // (measured: a 31-sample Winograd fit put its MAC cost on LLC weight bytes); they share
    // one coefficient then.
    let merge_weights = m < MIN_SAMPLES_PER_WEIGHT_LEVEL;
    let mut a = vec![0.0; m * n];
    let mut b = vec![0.0; m];
    for (r, s) in samples.iter().enumerate() {
        let w = s.weight / s.seconds.max(1e-12);
        let mut f = s.features;
        if merge_weights {
            f[WEIGHT_FEATURES] += f[WEIGHT_FEATURES + 1] + f[WEIGHT_FEATURES + 2];
            f[WEIGHT_FEATURES + 1] = 0.0;
            f[WEIGHT_FEATURES + 2] = 0.0;
        }
        for c in 0..n {
            a[r * n + c] = f[c] * w;
        }
        b[r] = s.weight;
    }
    let scale: Vec<f64> = (0..n)
        .map(|c| {
            let s = (0..m).map(|r| a[r * n + c].powi(2)).sum::<f64>().sqrt();
            if s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    for r in 0..m {
        for c in 0..n {
            a[r * n + c] /= scale[c];
        }
    }
    let x = nnls(&a, &b, m, n);
    let mut coef: Vec<f64> = x.iter().zip(&scale).map(|(v, s)| v / s).collect();
    if merge_weights {
        coef[WEIGHT_FEATURES + 1] = coef[WEIGHT_FEATURES];
        coef[WEIGHT_FEATURES + 2] = coef[WEIGHT_FEATURES];
    }
    let rms = if m == 0 {
        0.0
    } else {
        let se: f64 = samples
            .iter()
            .map(|s| ((dot(&coef, &s.features) - s.seconds) / s.seconds.max(1e-12)).powi(2))
            .sum();
        (se / m as f64).sqrt()
    };
    KernelModel {
        key: key.to_string(),
        coef,
        samples: m as u64,
        fit_rel_rms: rms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_linear_timing_law() {
        // time = 3e-6 s + 2e-11 s/MAC + 1e-10 s/byte in L2.
        let samples: Vec<FitSample> = (1..20)
            .map(|i| {
                let macs = (i * i * 10_000) as f64;
                let bytes = (i * 3_000) as f64;
                let mut f = [0.0; NF];
                f[0] = 1.0;
                f[1] = macs;
                f[3] = bytes;
                f[5] = 7.0 * i as f64;
                f[8] = bytes / 4.0 + (i % 3) as f64;
                FitSample {
                    features: f,
                    seconds: 3e-6 + 2e-11 * macs + 1e-10 * bytes,
                    weight: 1.0,
                }
            })
            .collect();
        let m = fit("conv.pointwise", &samples);
        assert!(m.fit_rel_rms < 1e-6, "{m:?}");
        for s in &samples {
            assert!((dot(&m.coef, &s.features) - s.seconds).abs() / s.seconds < 1e-6);
        }
        assert!(m.coef.iter().all(|&c| c >= 0.0));
    }

    #[test]
    fn per_run_fit_recovers_a_fixed_cost_and_a_share_of_the_nodes() {
        // outside = 2 us + 5% of the nodes' time.
        let points: Vec<Outside> = (1..12)
            .map(|i| {
                let nodes_s = 1e-4 * (i * i) as f64;
                Outside {
                    io_bytes: (1000 * (i % 4)) as u64,
                    steps: 3 + (i * 7) % 11,
                    nodes_s,
                    outside_s: 2e-6 + 0.05 * nodes_s,
                }
            })
            .collect();
        let [c, per_byte, per_step, frac] = fit_per_run(&points);
        assert!((c - 2e-6).abs() < 1e-9, "{c}");
        assert!((frac - 0.05).abs() < 1e-6, "{frac}");
        assert!(per_byte.abs() < 1e-12 && per_step.abs() < 1e-10);
    }

    #[test]
    fn predict_falls_back_from_key_to_kernel_to_family_and_aliases_are_free() {
        let model = |key: &str, c: f64| KernelModel {
            key: key.into(),
            coef: {
                let mut v = vec![0.0; NF];
                v[0] = c;
                v
            },
            samples: 1,
            fit_rel_rms: 0.0,
        };
        let hm = HostModel {
            measured_on: String::new(),
            threads: 1,
            calibration_set: String::new(),
            l1_bytes: 1,
            l2_bytes: 1,
            llc_bytes: 1,
            canary_s: 0.0,
            per_run_s: 0.0,
            per_run_s_per_byte: 0.0,
            per_run_s_per_step: 0.0,
            per_run_node_fraction: 0.0,
            features: crate::host_nodes::NODE_FEATURES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            kernels: vec![model("conv.depthwise", 2.0), model("conv", 3.0)],
        };
        let mut node = HostNode {
            node: 0,
            name: "n".into(),
            op_type: "Conv".into(),
            kernel: "conv.depthwise".into(),
            key: "conv.depthwise.k3s2".into(),
            features: [1.0; NF],
            run_bytes: 0,
        };
        assert_eq!(predict(&hm, &node), Some(2.0));
        node.kernel = "conv.im2col".into();
        node.key = "conv.im2col".into();
        assert_eq!(predict(&hm, &node), Some(3.0));
        node.kernel = "softmax".into();
        node.key = "softmax".into();
        assert_eq!(predict(&hm, &node), None);
        node.kernel = "alias".into();
        assert_eq!(predict(&hm, &node), Some(0.0));
    }
}
