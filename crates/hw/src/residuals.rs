//! Per-node residuals of the host model: every node of a set of models profiled inside its
//! model (as calibration measures it) next to its prediction, and the sums per cost-model key.
//! `edgeopt hw validate --nodes FILE` writes them for the validation models: where the
//! whole-model errors come from (which kernel, which sizes), without refitting anything.

use crate::calib_set::CalibCase;
use crate::calibrate::CalibrateOptions;
use crate::host::predict;
use crate::host_nodes::{CacheSizes, HostNode};
use crate::measure::{median, Budget};
use crate::node_timing::measure_nodes;
use crate::profile::HostModel;
use crate::validate::ValidationCase;
use crate::Result;
use serde::Serialize;
use std::collections::BTreeMap;

/// One node: measured inside its model and predicted.
#[derive(Clone, Debug, Serialize)]
pub struct NodeResidual {
    pub case: String,
    #[serde(flatten)]
    pub node: HostNode,
    pub predicted_s: f64,
    pub measured_s: f64,
    /// Whether the key had its own fit (not a kernel or family fallback).
    pub own_fit: bool,
}

/// The nodes of one cost-model key over all models.
#[derive(Clone, Debug, Serialize)]
pub struct KeyResidual {
    pub key: String,
    pub nodes: usize,
    pub predicted_s: f64,
    pub measured_s: f64,
    /// (sum predicted - sum measured) / sum measured.
    pub rel_error: f64,
    /// Median of the nodes' own relative errors.
    pub median_node_error: f64,
}

/// Profiles every node of `cases` (1 thread, `budget`) and predicts it with `hm`.
pub fn node_residuals(
    cases: &[ValidationCase],
    hm: &HostModel,
    budget: Budget,
) -> Result<Vec<NodeResidual>> {
    let calib: Vec<CalibCase> = cases
        .iter()
        .map(|c| CalibCase {
            case: ValidationCase {
                name: c.name.clone(),
                model: c.model.clone(),
                shapes: c.shapes.clone(),
            },
            single_layer: false,
        })
        .collect();
    let opts = CalibrateOptions {
        budget,
        ..CalibrateOptions::default()
    };
    let caches = CacheSizes::of_model(hm);
    let (samples, _, _) = measure_nodes(&calib, &opts, &caches)?;
    Ok(samples
        .into_iter()
        .map(|s| NodeResidual {
            own_fit: hm.kernels.iter().any(|k| k.key == s.node.key),
            predicted_s: predict(hm, &s.node).unwrap_or(f64::NAN),
            measured_s: s.seconds,
            case: s.case,
            node: s.node,
        })
        .collect())
}

/// Sums per key, the most measured time first.
pub fn by_key(rows: &[NodeResidual]) -> Vec<KeyResidual> {
    let mut m: BTreeMap<&str, Vec<&NodeResidual>> = BTreeMap::new();
    for r in rows {
        m.entry(r.node.key.as_str()).or_default().push(r);
    }
    let mut out: Vec<KeyResidual> = m
        .into_iter()
        .map(|(key, v)| {
            let p: f64 = v.iter().map(|r| r.predicted_s).sum();
            let t: f64 = v.iter().map(|r| r.measured_s).sum();
            let mut e: Vec<f64> = v
                .iter()
                .map(|r| (r.predicted_s - r.measured_s) / r.measured_s.max(1e-12))
                .collect();
            KeyResidual {
                key: key.to_string(),
                nodes: v.len(),
                predicted_s: p,
                measured_s: t,
                rel_error: (p - t) / t.max(1e-12),
                median_node_error: median(&mut e),
            }
        })
        .collect();
    out.sort_by(|a, b| b.measured_s.total_cmp(&a.measured_s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_nodes::NF;

    fn row(key: &str, p: f64, m: f64) -> NodeResidual {
        NodeResidual {
            case: "c".into(),
            node: HostNode {
                node: 0,
                name: "n".into(),
                op_type: "Conv".into(),
                kernel: key.into(),
                key: key.into(),
                features: [0.0; NF],
                run_bytes: 0,
            },
            predicted_s: p,
            measured_s: m,
            own_fit: true,
        }
    }

    #[test]
    fn keys_sum_their_nodes_largest_first() {
        let rows = [
            row("a", 1.0, 2.0),
            row("b", 3.0, 3.0),
            row("a", 2.0, 2.0),
            row("b", 9.0, 6.0),
        ];
        let k = by_key(&rows);
        assert_eq!(k[0].key, "b");
        assert_eq!(
            (k[0].nodes, k[0].predicted_s, k[0].measured_s),
            (2, 12.0, 9.0)
        );
        assert!((k[1].rel_error + 0.25).abs() < 1e-12);
        assert!((k[1].median_node_error + 0.25).abs() < 1e-12);
    }
}
