//! fuse_bias: an Add or Mul of a constant that only varies along the output channels moves
//! into the producer. Add: Conv / ConvTranspose gets (or adds to) its bias; MatMul becomes
//! Gemm (2-D) or FusedMatMul with a bias (other ranks); Gemm without C gets C. Mul (a
//! per-channel or scalar scale, as PP-OCRv4's learnable affine layers export it): the constant
//! weights and bias of a Conv, ConvTranspose, Gemm, MatMul or FusedMatMul (without
//! activation) are scaled.
//! The producer's output must be read by the Add / Mul alone.

use super::weights::layout;
use crate::ops::fused_matmul::FusedMatMul;
use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_ir::ops::math::binary::{Binary, BinaryKind};
use edgeopt_ir::{NodeId, Op, Result, ValueId};
use edgeopt_tensor::{DType, Tensor};

pub struct FuseBias;

/// A producer input after the rewrite: kept, or a new initializer.
pub enum In {
    Keep(Option<ValueId>),
    New(Tensor),
}

/// The producer's new op (when it changes) and inputs.
type Rewrite = (Option<Box<dyn Op>>, Vec<In>);

pub struct Fusion {
    /// The Add or Mul, removed.
    node: NodeId,
    producer: NodeId,
    op: Option<Box<dyn Op>>,
    inputs: Vec<In>,
}

/// The constant's values when it broadcasts along `axis` of a rank-`rank` output with `count`
/// channels and nowhere else (so the op does not change the output's shape).
fn channel_values(t: &Tensor, rank: usize, axis: usize, count: usize) -> Option<Vec<f64>> {
    let s = t.shape();
    if s.len() > rank {
        return None;
    }
    let offset = rank - s.len();
    let ok = s
        .iter()
        .enumerate()
        .all(|(i, &d)| d == 1 || (i + offset == axis && d == count));
    let v = t.to_f64_vec().ok()?;
    match v.len() {
        1 if ok => Some(vec![v[0]; count]),
        k if ok && k == count => Some(v),
        _ => None,
    }
}

fn input(ed: &Editor, n: NodeId, i: usize) -> Option<ValueId> {
    ed.node(n).inputs.get(i).copied().flatten()
}

fn tensor(dtype: DType, shape: Vec<usize>, v: &[f64]) -> Option<Tensor> {
    Tensor::from_f64s(dtype, shape, v).ok()
}

/// Folds a per-channel scale `s` into the producer `p`: its weights and bias are scaled.
fn scale(ed: &Editor, p: NodeId, s: &[f64]) -> Option<Rewrite> {
    let l = layout(ed, p)?;
    if l.channels != s.len() {
        return None;
    }
    let w = l.scaled(s)?;
    let node = ed.node(p);
    let gemm_without_c = node
        .op
        .downcast_ref::<Gemm>()
        .is_some_and(|g| g.beta == 0.0);
    let bias = match input(ed, p, 2) {
        // Gemm ignores C when beta is 0.
        Some(_) if gemm_without_c => In::Keep(None),
        None => In::Keep(None),
        Some(b) => {
            let t = ed.constant(b)?;
            let r = t.rank().max(1);
            let v = channel_values(t, r, r - 1, s.len())?;
            let out: Vec<f64> = v.iter().zip(s).map(|(a, b)| a * b).collect();
            In::New(tensor(t.dtype(), vec![s.len()], &out)?)
        }
    };
    Some((None, vec![In::Keep(input(ed, p, 0)), In::New(w), bias]))
}

/// Adds a per-channel `bias` to the producer `p` of a rank-`rank` output.
fn add_bias(ed: &Editor, p: NodeId, bias: Vec<f64>, rank: usize, dtype: DType) -> Option<Rewrite> {
    let node = ed.node(p);
    let keep = |i: usize| In::Keep(input(ed, p, i));
    let new = |b: &[f64]| tensor(dtype, vec![b.len()], b).map(In::New);
    match node.op_type() {
        "Conv" | "ConvTranspose" if node.op.domain().is_empty() => {
            let mut bias = bias;
            if let Some(old) = input(ed, p, 2) {
                let old = ed.constant(old)?.to_f64_vec().ok()?;
                if old.len() != bias.len() {
                    return None;
                }
                bias.iter_mut().zip(old).for_each(|(b, o)| *b += o);
            }
            Some((None, vec![keep(0), keep(1), new(&bias)?]))
        }
        "MatMul" => {
            let a_rank = ed.value_type(input(ed, p, 0)?).shape()?.len();
            let b_rank = ed.value_type(input(ed, p, 1)?).shape()?.len();
            let op: Box<dyn Op> = if rank == 2 && a_rank == 2 && b_rank == 2 {
                Box::new(Gemm {
                    alpha: 1.0,
                    beta: 1.0,
                    trans_a: false,
                    trans_b: false,
                    broadcast: None,
                })
            } else {
                Box::new(FusedMatMul { activation: None })
            };
            Some((Some(op), vec![keep(0), keep(1), new(&bias)?]))
        }
        "Gemm" if input(ed, p, 2).is_none() => {
            let mut g = node.op.downcast_ref::<Gemm>()?.clone();
            g.beta = 1.0;
            Some((Some(Box::new(g)), vec![keep(0), keep(1), new(&bias)?]))
        }
        _ => None,
    }
}

impl Rule for FuseBias {
    type Match = Fusion;

    fn name(&self) -> &'static str {
        "fuse_bias"
    }

    fn targets(&self) -> &'static [&'static str] {
        &["Add", "Mul"]
    }

    fn find(&self, ed: &Editor, n: NodeId, _ctx: &PassCtx) -> Option<Fusion> {
        let node = ed.node(n);
        let kind = node.op.downcast_ref::<Binary>()?.kind;
        if !matches!(kind, BinaryKind::Add | BinaryKind::Mul) || !node.op.attributes().is_empty() {
            return None;
        }
        let (a0, a1) = (input(ed, n, 0)?, input(ed, n, 1)?);
        let (y, c) = match (ed.constant(a0), ed.constant(a1)) {
            (None, Some(c)) => (a0, c),
            (Some(c), None) => (a1, c),
            _ => return None,
        };
        let dtype = ed.dtype(y).filter(|d| d.is_float())?;
        let shape = ed.shape(y)?;
        let p = ed.producer(y).filter(|&p| ed.is_live(p))?;
        if ed.sole_consumer(y) != Some(n) || c.dtype() != dtype || shape.len() < 2 {
            return None;
        }
        let rank = shape.len();
        let axis = match ed.node(p).op_type() {
            "Conv" | "ConvTranspose" => 1,
            _ => rank - 1,
        };
        let values = channel_values(c, rank, axis, shape[axis])?;
        let (op, inputs) = match kind {
            BinaryKind::Add => add_bias(ed, p, values, rank, dtype)?,
            _ => scale(ed, p, &values)?,
        };
        Some(Fusion {
            node: n,
            producer: p,
            op,
            inputs,
        })
    }

    fn apply(&self, ed: &mut Editor, m: Fusion, _ctx: &PassCtx) -> Result<()> {
        let Some(out) = ed.node(m.node).outputs.first().copied().flatten() else {
            return Ok(());
        };
        let name = ed.node(m.producer).name.clone();
        let mut inputs = Vec::with_capacity(m.inputs.len());
        for (i, x) in m.inputs.into_iter().enumerate() {
            inputs.push(match x {
                In::Keep(v) => v,
                In::New(t) => Some(ed.add_initializer(&format!("{name}_in{i}"), t)),
            });
        }
        while inputs.last() == Some(&None) {
            inputs.pop();
        }
        ed.set_inputs(m.producer, inputs);
        if let Some(op) = m.op {
            ed.set_op(m.producer, op);
        }
        ed.remove_node(m.node);
        ed.set_output(m.producer, 0, out)
    }
}
