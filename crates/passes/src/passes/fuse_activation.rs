//! fuse_activation: Conv / Gemm / MatMul / FusedMatMul followed by an activation becomes one
//! fused node ([`FusedConv`], [`FusedGemm`], [`FusedMatMul`]), so the activation runs on the
//! product while it is still in cache.
//!
//! Activations: Relu, Clip (Relu6), Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, PRelu
//! with per-channel slopes, and HardSwish written out the way exporters do it:
//! `x * HardSigmoid(x)` (PaddlePaddle, with its own alpha) and `x * Relu6(x + 3) / 6`
//! (MobileNetV3 and PP-OCR exports: Add, Clip, then Div and Mul in either order).
//! Conditions: f32 output read only by the activation's nodes.

use crate::ops::activation::{Activation, Channels, HARD_SWISH_ALPHA};
use crate::ops::fused_conv::FusedConv;
use crate::ops::fused_matmul::{FusedGemm, FusedMatMul};
use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_ir::ops::math::binary::{Binary, BinaryKind};
use edgeopt_ir::ops::nn::conv::Conv;
use edgeopt_ir::{NodeId, Op, Result, ValueId};
use edgeopt_tensor::DType;

pub struct FuseActivation;

pub struct ActFusion {
    producer: NodeId,
    fused: Box<dyn Op>,
    /// The activation's nodes, removed.
    nodes: Vec<NodeId>,
    /// The activation's output, which the fused node now produces.
    out: ValueId,
}

fn output(ed: &Editor, n: NodeId) -> Option<ValueId> {
    ed.node(n).outputs.first().copied().flatten()
}

/// `(other input, constant)` when `n` is the binary op `kind` with one scalar constant input
/// (the right one for Sub/Div).
fn with_const(ed: &Editor, n: NodeId, kind: BinaryKind) -> Option<(ValueId, f64)> {
    let node = ed.node(n);
    let b = node.op.downcast_ref::<Binary>()?;
    if b.kind != kind || !node.op.attributes().is_empty() || !ed.is_live(n) {
        return None;
    }
    let (a, c) = (
        node.inputs.first().copied()??,
        node.inputs.get(1).copied()??,
    );
    match (ed.scalar(a), ed.scalar(c)) {
        (None, Some(v)) => Some((a, v)),
        (Some(v), None) if matches!(kind, BinaryKind::Add | BinaryKind::Mul) => Some((c, v)),
        _ => None,
    }
}

/// Whether `n` is `Mul(a, b)` in either order.
fn is_mul_of(ed: &Editor, n: NodeId, a: ValueId, b: ValueId) -> bool {
    let node = ed.node(n);
    let is_mul = node
        .op
        .downcast_ref::<Binary>()
        .is_some_and(|m| m.kind == BinaryKind::Mul && node.op.attributes().is_empty());
    let ins = (
        node.inputs.first().copied().flatten(),
        node.inputs.get(1).copied().flatten(),
    );
    ed.is_live(n) && is_mul && (ins == (Some(a), Some(b)) || ins == (Some(b), Some(a)))
}

/// `y / 6` written as Div by 6 or Mul by 1/6: the node's other input.
fn sixth(ed: &Editor, n: NodeId) -> Option<ValueId> {
    if let Some((v, c)) = with_const(ed, n, BinaryKind::Div) {
        return (c == 6.0).then_some(v);
    }
    let (v, c) = with_const(ed, n, BinaryKind::Mul)?;
    ((c - 1.0 / 6.0).abs() < 1e-6).then_some(v)
}

fn next(ed: &Editor, n: NodeId) -> Option<(NodeId, ValueId)> {
    let v = output(ed, n)?;
    Some((ed.sole_consumer(v)?, v))
}

/// HardSwish of `x` written out: the activation, its nodes and its output.
fn hard_swish(ed: &Editor, x: ValueId, ch: Channels) -> Option<(Activation, Vec<NodeId>, ValueId)> {
    let consumers = ed.consumers(x);
    if consumers.len() != 2 {
        return None;
    }
    for &h in &consumers {
        // x * HardSigmoid(x)
        if let Some(Activation::HardSigmoid { alpha, beta }) = Activation::recognize(ed, h, ch) {
            let (m, hv) = next(ed, h)?;
            if ed.is_live(h) && is_mul_of(ed, m, x, hv) {
                let nodes = vec![h, m];
                return Some((Activation::HardSwish { alpha, beta }, nodes, output(ed, m)?));
            }
        }
        // x * Relu6(x + 3) / 6
        let Some((_, 3.0)) = with_const(ed, h, BinaryKind::Add) else {
            continue;
        };
        let (clip, _) = next(ed, h)?;
        let relu6 = Activation::Clip { min: 0.0, max: 6.0 };
        if !ed.is_live(clip) || Activation::recognize(ed, clip, ch) != Some(relu6) {
            return None;
        }
        let (k, cv) = next(ed, clip)?;
        let (last, nodes) = if sixth(ed, k) == Some(cv) {
            let (m, kv) = next(ed, k)?;
            is_mul_of(ed, m, x, kv).then_some((m, vec![h, clip, k, m]))?
        } else if is_mul_of(ed, k, x, cv) {
            let (d, kv) = next(ed, k)?;
            (sixth(ed, d) == Some(kv)).then_some((d, vec![h, clip, k, d]))?
        } else {
            return None;
        };
        let act = Activation::HardSwish {
            alpha: HARD_SWISH_ALPHA,
            beta: 0.5,
        };
        return Some((act, nodes, output(ed, last)?));
    }
    None
}

impl Rule for FuseActivation {
    type Match = ActFusion;

    fn name(&self) -> &'static str {
        "fuse_activation"
    }

    fn targets(&self) -> &'static [&'static str] {
        &["Conv", "Gemm", "MatMul", "FusedMatMul"]
    }

    fn find(&self, ed: &Editor, p: NodeId, _ctx: &PassCtx) -> Option<ActFusion> {
        let y = output(ed, p)?;
        let shape = ed.value_type(y).shape()?.clone();
        if ed.dtype(y) != Some(DType::F32) || ed.is_graph_output(y) || ed.is_pinned(y) {
            return None;
        }
        let node = ed.node(p);
        let conv = node.op_type() == "Conv";
        let axis = if conv { 1 } else { shape.len().checked_sub(1)? };
        let ch = Channels {
            axis,
            rank: shape.len(),
            count: shape.get(axis)?.known()?,
        };
        let consumers = ed.consumers(y);
        let (act, nodes, out) = match consumers.as_slice() {
            [c] if ed.is_live(*c) && ed.node(*c).inputs.first() == Some(&Some(y)) => (
                Activation::recognize(ed, *c, ch)?,
                vec![*c],
                output(ed, *c)?,
            ),
            _ => hard_swish(ed, y, ch)?,
        };
        if !nodes.iter().all(|&n| ed.is_live(n)) {
            return None;
        }
        let op = node.op.as_ref();
        let fused: Box<dyn Op> = match node.op_type() {
            "Conv" if op.domain().is_empty() => Box::new(FusedConv {
                conv: op.downcast_ref::<Conv>()?.clone(),
                activation: act,
            }),
            "Gemm" if op.domain().is_empty() => Box::new(FusedGemm {
                gemm: op.downcast_ref::<Gemm>()?.clone(),
                activation: act,
            }),
            "MatMul" if op.domain().is_empty() => Box::new(FusedMatMul {
                activation: Some(act),
            }),
            "FusedMatMul" if op.downcast_ref::<FusedMatMul>()?.activation.is_none() => {
                Box::new(FusedMatMul {
                    activation: Some(act),
                })
            }
            _ => return None,
        };
        Some(ActFusion {
            producer: p,
            fused,
            nodes,
            out,
        })
    }

    fn apply(&self, ed: &mut Editor, m: ActFusion, _ctx: &PassCtx) -> Result<()> {
        for n in m.nodes {
            ed.remove_node(n);
        }
        ed.set_op(m.producer, m.fused);
        ed.set_output(m.producer, 0, m.out)
    }
}
