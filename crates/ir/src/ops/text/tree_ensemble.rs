//! TreeEnsemble (ai.onnx.ml opset 5): sums (or averages, mins, maxes) the leaf weights that each
//! decision tree of an ensemble reaches, per target.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxml_TreeEnsemble.html>
//!
//! Attributes: `tree_roots` (node index of each tree's root), per node `nodes_featureids`,
//! `nodes_splits` (tensor), `nodes_modes` (uint8 tensor: 0 `<=`, 1 `<`, 2 `>=`, 3 `>`, 4 `==`,
//! 5 `!=`, 6 set membership), `nodes_truenodeids`/`nodes_trueleafs` and
//! `nodes_falsenodeids`/`nodes_falseleafs` (the branch targets: a node index, or a leaf index
//! when the flag is 1), optional `nodes_missing_value_tracks_true` (NaN takes the true branch),
//! `nodes_hitrates` (unused); per leaf `leaf_targetids`, `leaf_weights` (tensor);
//! `membership_values` (tensor: the member sets of the mode-6 nodes in node order, each ended by
//! a NaN); `n_targets`; `aggregate_function` (0 average, 1 sum (default), 2 min, 3 max);
//! `post_transform` (0 none (default), 1 softmax, 2 logistic, 3 softmax_zero, 4 probit).
//! A root whose two branches are the same leaf is that leaf. Input X [N, F] (float, double,
//! float16). Output Y [N, n_targets], X's type.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::text::ml_common::{erf_inv, floats, index, ints, softmax};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
struct Node {
    mode: i64,
    split: f64,
    feature: usize,
    missing_true: bool,
    members: Vec<f64>,
    /// (index, is_leaf) of the true and false branches.
    branches: [(usize, bool); 2],
}

#[derive(Clone, Debug)]
pub struct TreeEnsemble {
    /// The attributes as given, exported unchanged.
    pub attrs: Vec<(String, Attribute)>,
    nodes: Vec<Node>,
    /// (target, weight) of each leaf.
    leaves: Vec<(usize, f64)>,
    /// Root of each tree: (index, is_leaf).
    roots: Vec<(usize, bool)>,
    n_targets: usize,
    aggregate: i64,
    post_transform: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let mut keep = Vec::new();
    let k = &mut keep;
    let req = |v: Option<Vec<i64>>, name: &str| {
        v.ok_or_else(|| crate::IrError::Op(format!("TreeEnsemble: {name} is required")))
    };
    let features = req(ints(ctx, k, "nodes_featureids")?, "nodes_featureids")?;
    let n = features.len();
    let splits = floats(ctx, k, "nodes_splits")?.unwrap_or_default();
    let modes = floats(ctx, k, "nodes_modes")?.unwrap_or_else(|| vec![0.0; n]);
    let true_ids = req(ints(ctx, k, "nodes_truenodeids")?, "nodes_truenodeids")?;
    let false_ids = req(ints(ctx, k, "nodes_falsenodeids")?, "nodes_falsenodeids")?;
    let true_leafs = ints(ctx, k, "nodes_trueleafs")?.unwrap_or_else(|| vec![0; n]);
    let false_leafs = ints(ctx, k, "nodes_falseleafs")?.unwrap_or_else(|| vec![0; n]);
    let missing = ints(ctx, k, "nodes_missing_value_tracks_true")?.unwrap_or_else(|| vec![0; n]);
    floats(ctx, k, "nodes_hitrates")?;
    let targets = req(ints(ctx, k, "leaf_targetids")?, "leaf_targetids")?;
    let weights = floats(ctx, k, "leaf_weights")?.unwrap_or_default();
    let members = floats(ctx, k, "membership_values")?.unwrap_or_default();
    let tree_roots = req(ints(ctx, k, "tree_roots")?, "tree_roots")?;
    let n_targets = ints(ctx, k, "n_targets")?
        .and_then(|v| v.first().copied())
        .unwrap_or(1);
    let aggregate = ints(ctx, k, "aggregate_function")?
        .and_then(|v| v.first().copied())
        .unwrap_or(1);
    let post_transform = ints(ctx, k, "post_transform")?
        .and_then(|v| v.first().copied())
        .unwrap_or(0);
    let lens = [
        splits.len(),
        modes.len(),
        true_ids.len(),
        false_ids.len(),
        true_leafs.len(),
        false_leafs.len(),
        missing.len(),
    ];
    if lens.iter().any(|&l| l != n) || targets.len() != weights.len() {
        bail!("TreeEnsemble: per-node attributes have lengths {lens:?} (expected {n}), leaves {} targets and {} weights", targets.len(), weights.len());
    }
    if !(0..=3).contains(&aggregate)
        || !(0..=4).contains(&post_transform)
        || !(1..=1 << 20).contains(&n_targets)
    {
        bail!("TreeEnsemble: bad aggregate_function {aggregate}, post_transform {post_transform} or n_targets {n_targets}");
    }
    let n_targets = n_targets as usize;
    let leaves = targets
        .iter()
        .zip(&weights)
        .map(|(&t, &w)| Ok((index(t, n_targets, "leaf target")?, w)))
        .collect::<Result<Vec<_>>>()?;
    let branch = |id: i64, leaf: i64| -> Result<(usize, bool)> {
        let leaf = leaf != 0;
        Ok((
            index(id, if leaf { leaves.len() } else { n }, "branch target")?,
            leaf,
        ))
    };
    let mut sets = members.split(|v| v.is_nan());
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let mode = modes[i] as i64;
        if !(0..=6).contains(&mode) {
            bail!("TreeEnsemble: node {i} has unknown mode {mode}");
        }
        let members = if mode == 6 {
            match sets.next() {
                Some(s) => s.to_vec(),
                None => bail!("TreeEnsemble: membership_values has no set for node {i}"),
            }
        } else {
            Vec::new()
        };
        nodes.push(Node {
            mode,
            split: splits[i],
            feature: index(features[i], usize::MAX, "feature id")?,
            missing_true: missing[i] != 0,
            members,
            branches: [
                branch(true_ids[i], true_leafs[i])?,
                branch(false_ids[i], false_leafs[i])?,
            ],
        });
    }
    let roots = tree_roots
        .iter()
        .map(|&r| {
            let r = index(r, n, "tree root")?;
            let [t, f] = nodes[r].branches;
            Ok(if t.1 && f.1 && t.0 == f.0 {
                (t.0, true)
            } else {
                (r, false)
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Box::new(TreeEnsemble {
        attrs: keep,
        nodes,
        leaves,
        roots,
        n_targets,
        aggregate,
        post_transform,
    }))
}

impl TreeEnsemble {
    /// The leaf one tree reaches for feature row `x`.
    fn walk(&self, root: (usize, bool), x: &[f64]) -> Result<(usize, f64)> {
        let mut at = root;
        // A well-formed tree reaches a leaf in fewer steps than it has nodes; more means a cycle.
        for _ in 0..=self.nodes.len() {
            if at.1 {
                return Ok(self.leaves[at.0]);
            }
            let node = &self.nodes[at.0];
            let Some(&v) = x.get(node.feature) else {
                bail!(
                    "TreeEnsemble: feature {} is out of range for {} features",
                    node.feature,
                    x.len()
                );
            };
            let hit = match node.mode {
                0 => v <= node.split,
                1 => v < node.split,
                2 => v >= node.split,
                3 => v > node.split,
                4 => v == node.split,
                5 => v != node.split,
                _ => node.members.contains(&v),
            } || (node.missing_true && v.is_nan());
            at = node.branches[if hit { 0 } else { 1 }];
        }
        bail!("TreeEnsemble: the tree at node {} has a cycle", root.0)
    }

    /// Aggregated scores of one row, then the post transform.
    fn row(&self, x: &[f64], max: f64) -> Result<Vec<f64>> {
        let init = match self.aggregate {
            2 => max,
            3 => -max,
            _ => 0.0,
        };
        let mut out = vec![init; self.n_targets];
        for &r in &self.roots {
            let (t, w) = self.walk(r, x)?;
            out[t] = match self.aggregate {
                0 => out[t] + w / self.roots.len() as f64,
                2 => out[t].min(w),
                3 => out[t].max(w),
                _ => out[t] + w,
            };
        }
        match self.post_transform {
            1 | 3 => softmax(&mut out, self.post_transform == 3),
            2 => out.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
            4 => out
                .iter_mut()
                .for_each(|v| *v = std::f64::consts::SQRT_2 * erf_inv(2.0 * *v - 1.0)),
            _ => {}
        }
        Ok(out)
    }
}

impl Op for TreeEnsemble {
    fn op_type(&self) -> &str {
        "TreeEnsemble"
    }

    fn domain(&self) -> &str {
        "ai.onnx.ml"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let n = x
            .shape
            .as_ref()
            .and_then(|s| s.first().cloned())
            .unwrap_or(Dim::Unknown);
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape: Some(vec![n, Dim::Known(self.n_targets)]),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let max = match x.dtype() {
            DType::F32 => f32::MAX as f64,
            DType::F64 => f64::MAX,
            DType::F16 => 65504.0,
            d => bail!("TreeEnsemble: X must be float, double or float16, got {d}"),
        };
        let (rows, f) = match x.shape() {
            [n, f] => (*n, *f),
            [f] => (1, *f),
            s => bail!("TreeEnsemble: X must be [N, F], got {s:?}"),
        };
        let xs = x.to_f64_vec()?;
        let mut y = Vec::with_capacity(edgeopt_tensor::shape::checked_numel(&[
            rows,
            self.n_targets,
        ])?);
        for r in 0..rows {
            y.extend(self.row(&xs[r * f..(r + 1) * f], max)?);
        }
        Ok(vec![Tensor::from_f64s(
            x.dtype(),
            vec![rows, self.n_targets],
            &y,
        )?
        .into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.attrs.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use crate::Attrs;

    /// The model of the ONNX test test_ai_onnx_ml_tree_ensemble_set_membership.
    fn set_membership(extra: Vec<(&str, Attribute)>) -> Result<Box<dyn Op>> {
        let mut a = Attrs::default();
        let f = |v: &[f32]| Attribute::Tensor(Tensor::vec1(v.to_vec()));
        for (n, v) in [
            ("aggregate_function", Attribute::Int(1)),
            ("leaf_targetids", Attribute::Ints(vec![0, 1, 2, 3])),
            ("leaf_weights", f(&[1., 10., 1000., 100.])),
            (
                "membership_values",
                f(&[1.2, 3.7, 8., 9., f32::NAN, 12., 7., f32::NAN]),
            ),
            ("n_targets", Attribute::Int(4)),
            ("nodes_falseleafs", Attribute::Ints(vec![1, 0, 1])),
            ("nodes_falsenodeids", Attribute::Ints(vec![2, 2, 3])),
            ("nodes_featureids", Attribute::Ints(vec![0, 0, 0])),
            (
                "nodes_modes",
                Attribute::Tensor(Tensor::vec1(vec![0u8, 6, 6])),
            ),
            ("nodes_splits", f(&[11., 232344., f32::NAN])),
            ("nodes_trueleafs", Attribute::Ints(vec![0, 1, 1])),
            ("nodes_truenodeids", Attribute::Ints(vec![1, 0, 1])),
            ("post_transform", Attribute::Int(0)),
            ("tree_roots", Attribute::Ints(vec![0])),
        ]
        .into_iter()
        .chain(extra)
        {
            a.insert(n, v);
        }
        build(&mut BuildCtx {
            opset: 5,
            attrs: &mut a,
            num_inputs: 1,
            num_outputs: 1,
        })
    }

    #[test]
    fn onnx_set_membership_example() {
        let op = set_membership(vec![]).unwrap();
        let x = Tensor::from_vec(vec![6, 1], vec![1.2f32, 3.4, -0.12, f32::NAN, 12., 7.]).unwrap();
        let y = eval1(op.as_ref(), &[Some(x)])
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        let want = [
            1., 0., 0., 0., 0., 0., 0., 100., 0., 0., 0., 100., 0., 0., 1000., 0., 0., 0., 1000.,
            0., 0., 10., 0., 0.,
        ];
        assert_eq!(y, want);
        assert_eq!(op.attributes().len(), 14);
    }

    #[test]
    fn rejects_bad_indices_and_features() {
        assert!(
            set_membership(vec![("nodes_truenodeids", Attribute::Ints(vec![1, 0, 7]))]).is_err()
        );
        assert!(
            set_membership(vec![("leaf_targetids", Attribute::Ints(vec![0, 1, 2, 4]))]).is_err()
        );
        let op =
            set_membership(vec![("nodes_featureids", Attribute::Ints(vec![3, 0, 0]))]).unwrap();
        assert!(eval1(
            op.as_ref(),
            &[Some(Tensor::from_vec(vec![1, 1], vec![0f32]).unwrap())]
        )
        .is_err());
    }

    #[test]
    fn post_transforms() {
        let mut v = vec![1.0, 0.0, 1.0];
        softmax(&mut v, true);
        assert_eq!(v, vec![0.5, 0.0, 0.5]);
        // scipy.special.erfinv(0.5) = 0.4769362762044699.
        assert!((erf_inv(0.5) - 0.4769362762044699).abs() < 1e-12);
    }
}
