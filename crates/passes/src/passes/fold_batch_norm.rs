//! fold_batch_norm: an inference BatchNormalization after a Conv, ConvTranspose, Gemm or
//! MatMul (optionally followed by an Add of a constant bias) is folded into the producer's weights and bias:
//! with `s = scale / sqrt(var + eps)`, `BN(y) = s * y + (B - mean * s)`, so the weights are
//! scaled per output channel and the bias becomes `bias * s + B - mean * s`.
//!
//! Conditions: BN in inference mode with per-channel (spatial) constants, the producer's
//! weights (and bias) constant, and the BN the only reader of the producer's output (otherwise
//! the unnormalized value is still needed). A MatMul (+ Add) becomes a Gemm, so it must be 2-D.

use super::weights::{layout, Layout};
use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_ir::ops::math::binary::{Binary, BinaryKind};
use edgeopt_ir::ops::nn::batch_normalization::BatchNormalization;
use edgeopt_ir::{bail, NodeId, Result, ValueId};
use edgeopt_tensor::{DType, Tensor};

pub struct FoldBatchNorm;

pub enum Producer {
    /// Conv or ConvTranspose: only the weights and bias change.
    Conv,
    Gemm(Gemm),
    /// A MatMul, and the Add of a constant bias after it when there is one: becomes a Gemm.
    MatMul(Option<NodeId>),
}

pub struct Fold {
    bn: NodeId,
    producer: NodeId,
    kind: Producer,
    /// Per-channel multiplier and shift.
    s: Vec<f64>,
    shift: Vec<f64>,
    layout: Layout,
    /// The producer's bias per channel (zeros when it has none).
    bias: Vec<f64>,
    dtype: DType,
}

/// `(s, shift)` of an inference BatchNormalization with constant parameters.
fn bn_params(ed: &Editor, bn: NodeId, opset: i64) -> Option<(Vec<f64>, Vec<f64>)> {
    let node = ed.node(bn);
    let op = node.op.downcast_ref::<BatchNormalization>()?;
    let training = if opset >= 14 {
        op.training_mode.unwrap_or(0) != 0
    } else {
        node.outputs.len() > 1 && op.is_test.unwrap_or(0) == 0
    };
    if training || op.spatial == Some(0) || node.outputs.iter().skip(1).any(|o| o.is_some()) {
        return None;
    }
    let p = |i: usize| -> Option<Vec<f64>> {
        let t = ed.constant(node.inputs.get(i).copied()??)?;
        (t.rank() == 1 && t.dtype().is_float()).then(|| t.to_f64_vec().ok())?
    };
    let (scale, b, mean, var) = (p(1)?, p(2)?, p(3)?, p(4)?);
    let c = scale.len();
    if [b.len(), mean.len(), var.len()] != [c, c, c] {
        return None;
    }
    let eps = op.epsilon.unwrap_or(1e-5) as f64;
    let s: Vec<f64> = (0..c).map(|i| scale[i] / (var[i] + eps).sqrt()).collect();
    let shift = (0..c).map(|i| b[i] - mean[i] * s[i]).collect();
    Some((s, shift))
}

fn input(ed: &Editor, n: NodeId, i: usize) -> Option<ValueId> {
    ed.node(n).inputs.get(i).copied().flatten()
}

/// A per-column constant bias (scalar, `[N]` or `[1, N]`) as N values.
fn per_column(t: &Tensor, n: usize) -> Option<Vec<f64>> {
    let v = t.to_f64_vec().ok()?;
    let dims_ok = t.shape().iter().rev().skip(1).all(|&d| d == 1) && t.rank() <= 2;
    match v.len() {
        1 if dims_ok => Some(vec![v[0]; n]),
        k if k == n && dims_ok => Some(v),
        _ => None,
    }
}

impl Rule for FoldBatchNorm {
    type Match = Fold;

    fn name(&self) -> &'static str {
        "fold_batch_norm"
    }

    fn targets(&self) -> &'static [&'static str] {
        &["BatchNormalization"]
    }

    fn find(&self, ed: &Editor, bn: NodeId, ctx: &PassCtx) -> Option<Fold> {
        let x = input(ed, bn, 0)?;
        let dtype = ed.dtype(x).filter(|d| d.is_float())?;
        let (s, shift) = bn_params(ed, bn, ctx.opset)?;
        let c = s.len();
        let p = ed.producer(x).filter(|&p| ed.is_live(p))?;
        if ed.sole_consumer(x) != Some(bn) {
            return None;
        }
        let node = ed.node(p);
        // The producer's own bias, per channel (None: present but not per-channel constant).
        let bias = |i: usize| match input(ed, p, i) {
            None => Some(vec![0.0; c]),
            Some(b) => per_column(ed.constant(b)?, c),
        };
        let (mm, kind, bias) = match node.op_type() {
            "Conv" | "ConvTranspose" if node.op.domain().is_empty() => {
                (p, Producer::Conv, bias(2)?)
            }
            "Gemm" => {
                let g = node.op.downcast_ref::<Gemm>()?.clone();
                let b = if g.beta == 0.0 {
                    vec![0.0; c]
                } else {
                    bias(2)?
                };
                (p, Producer::Gemm(g), b)
            }
            "MatMul" => (p, Producer::MatMul(None), vec![0.0; c]),
            "Add" => {
                // MatMul + Add(constant bias) + BN.
                let add = node.op.downcast_ref::<Binary>()?;
                if add.kind != BinaryKind::Add || !node.op.attributes().is_empty() {
                    return None;
                }
                let (a, b) = (input(ed, p, 0)?, input(ed, p, 1)?);
                let (mm_out, t) = match (ed.constant(a), ed.constant(b)) {
                    (None, Some(t)) => (a, t),
                    (Some(t), None) => (b, t),
                    _ => return None,
                };
                let b = per_column(t, c)?;
                let mm = ed.producer(mm_out).filter(|&m| ed.is_live(m))?;
                if ed.node(mm).op_type() != "MatMul" || ed.sole_consumer(mm_out) != Some(p) {
                    return None;
                }
                (mm, Producer::MatMul(Some(p)), b)
            }
            _ => return None,
        };
        if let Producer::MatMul(_) = kind {
            // Becomes a Gemm: A must be 2-D.
            if ed.value_type(input(ed, mm, 0)?).shape()?.len() != 2 {
                return None;
            }
        }
        let layout = layout(ed, mm)?;
        if layout.channels != c || layout.weight.dtype() != dtype {
            return None;
        }
        Some(Fold {
            bn,
            producer: mm,
            kind,
            s,
            shift,
            layout,
            bias,
            dtype,
        })
    }

    fn apply(&self, ed: &mut Editor, f: Fold, _ctx: &PassCtx) -> Result<()> {
        let Some(y) = ed.node(f.bn).outputs.first().copied().flatten() else {
            bail!("fold_batch_norm: the BatchNormalization has no output");
        };
        let p = f.producer;
        let x = ed.node(p).inputs.first().copied().flatten();
        let name = ed.node(p).name.clone();
        let c = f.s.len();
        let Some(w2) = f.layout.scaled(&f.s) else {
            bail!("fold_batch_norm: '{name}' has a weight element without a channel");
        };
        // Gemm adds beta * C: the shift enters C divided by beta.
        let beta = match &f.kind {
            Producer::Gemm(g) if g.beta != 0.0 => g.beta as f64,
            _ => 1.0,
        };
        let b2: Vec<f64> = (0..c)
            .map(|i| f.bias[i] * f.s[i] + f.shift[i] / beta)
            .collect();
        let w2 = ed.add_initializer(&format!("{name}_w_bn"), w2);
        let b2 = Tensor::from_f64s(f.dtype, vec![c], &b2)?;
        let b2 = ed.add_initializer(&format!("{name}_b_bn"), b2);
        match f.kind {
            Producer::Conv => {}
            Producer::Gemm(mut g) => {
                g.beta = beta as f32;
                ed.set_op(p, Box::new(g));
            }
            Producer::MatMul(add) => {
                if let Some(a) = add {
                    ed.remove_node(a);
                }
                let g = Gemm {
                    alpha: 1.0,
                    beta: 1.0,
                    trans_a: false,
                    trans_b: false,
                    broadcast: None,
                };
                ed.set_op(p, Box::new(g));
            }
        }
        ed.set_inputs(p, vec![x, Some(w2), Some(b2)]);
        ed.remove_node(f.bn);
        ed.set_output(p, 0, y)
    }
}
