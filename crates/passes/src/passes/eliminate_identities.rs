//! eliminate_identities: bypasses nodes that return their input unchanged: Identity, Dropout
//! at inference, Cast to the input's own type, Transpose by the identity permutation,
//! Reshape-like ops whose output shape equals their input's, chains of Reshape / Flatten /
//! Squeeze / Unsqueeze that end at the shape they started from, and Unsqueeze + Squeeze of the
//! same axes (shapes unknown).

use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::ops::array::squeeze::Squeeze;
use edgeopt_ir::ops::array::transpose::Transpose;
use edgeopt_ir::ops::array::unsqueeze::Unsqueeze;
use edgeopt_ir::ops::cast::cast::Cast;
use edgeopt_ir::{NodeId, Result, ValueId};

pub struct EliminateIdentities;

/// Ops that only reinterpret the shape of their first input.
const VIEWS: &[&str] = &["Reshape", "Flatten", "Squeeze", "Unsqueeze"];

/// Remove `nodes` and make readers of `from` read `to`.
pub struct Bypass {
    nodes: Vec<NodeId>,
    from: ValueId,
    to: ValueId,
}

fn io(ed: &Editor, n: NodeId) -> Option<(ValueId, ValueId)> {
    let node = ed.node(n);
    Some((
        node.inputs.first().copied()??,
        node.outputs.first().copied()??,
    ))
}

/// Whether the node's extra outputs (Dropout's mask) are absent or unread.
fn extra_outputs_unused(ed: &Editor, n: NodeId) -> bool {
    ed.node(n)
        .outputs
        .iter()
        .skip(1)
        .flatten()
        .all(|&v| !ed.is_graph_output(v) && !ed.is_pinned(v) && ed.consumers(v).is_empty())
}

fn dropout_is_inference(ed: &Editor, n: NodeId, opset: i64) -> bool {
    // Before opset 12 there is no training input: inference, as in ONNX Runtime.
    opset < 12
        || match ed.node(n).inputs.get(2).copied().flatten() {
            None => true,
            Some(t) => ed.scalar(t) == Some(0.0),
        }
}

/// Axes of a Squeeze/Unsqueeze: the attribute (before opset 13) or the constant input.
fn axes(ed: &Editor, n: NodeId) -> Option<Vec<i64>> {
    let node = ed.node(n);
    let attr = match node.op_type() {
        "Squeeze" => node.op.downcast_ref::<Squeeze>()?.axes.clone(),
        _ => node.op.downcast_ref::<Unsqueeze>()?.axes.clone(),
    };
    match attr {
        Some(a) => Some(a),
        None => ed
            .constant(node.inputs.get(1).copied()??)?
            .to_i64_vec()
            .ok(),
    }
}

/// A chain of view ops ending at `n` whose start has `n`'s output shape.
fn view_chain(ed: &Editor, n: NodeId, out: ValueId) -> Option<Bypass> {
    let want = ed.shape(out)?;
    let mut nodes = vec![n];
    let mut cur = n;
    for _ in 0..8 {
        let (input, _) = io(ed, cur)?;
        if ed.shape(input).as_ref() == Some(&want) {
            return Some(Bypass {
                nodes,
                from: out,
                to: input,
            });
        }
        let p = ed.producer(input)?;
        if !ed.is_live(p) || !VIEWS.contains(&ed.node(p).op_type()) {
            return None;
        }
        if ed.sole_consumer(input) != Some(cur) {
            return None;
        }
        nodes.push(p);
        cur = p;
    }
    None
}

/// Unsqueeze(axes) then Squeeze(same axes): the identity whatever the shapes.
fn unsqueeze_squeeze(ed: &Editor, n: NodeId, out: ValueId, input: ValueId) -> Option<Bypass> {
    let u = ed.producer(input)?;
    if !ed.is_live(u) || ed.node(u).op_type() != "Unsqueeze" || ed.sole_consumer(input) != Some(n) {
        return None;
    }
    let (mut a, mut b) = (axes(ed, u)?, axes(ed, n)?);
    if a.iter().chain(&b).any(|&x| x < 0) {
        return None;
    }
    a.sort_unstable();
    b.sort_unstable();
    let to = io(ed, u)?.0;
    (a == b).then_some(Bypass {
        nodes: vec![n, u],
        from: out,
        to,
    })
}

impl Rule for EliminateIdentities {
    type Match = Bypass;

    fn name(&self) -> &'static str {
        "eliminate_identities"
    }

    fn targets(&self) -> &'static [&'static str] {
        &[
            "Identity",
            "Dropout",
            "Cast",
            "Transpose",
            "Reshape",
            "Flatten",
            "Squeeze",
            "Unsqueeze",
            "Expand",
        ]
    }

    fn find(&self, ed: &Editor, n: NodeId, ctx: &PassCtx) -> Option<Bypass> {
        let node = ed.node(n);
        let (input, out) = io(ed, n)?;
        let single = |ok: bool| {
            ok.then_some(Bypass {
                nodes: vec![n],
                from: out,
                to: input,
            })
        };
        let same_shape = || ed.shape(input).is_some_and(|s| Some(s) == ed.shape(out));
        let m = match node.op_type() {
            "Identity" => single(node.op.domain().is_empty()),
            "Dropout" => {
                single(dropout_is_inference(ed, n, ctx.opset) && extra_outputs_unused(ed, n))
            }
            "Cast" => single(
                node.op
                    .downcast_ref::<Cast>()
                    .is_some_and(|c| ed.dtype(input) == Some(c.to)),
            ),
            "Transpose" => {
                let rank = ed.value_type(input).shape().map(|s| s.len());
                let perm = node.op.downcast_ref::<Transpose>().map(|t| t.perm.clone());
                single(match (perm, rank) {
                    (Some(Some(p)), _) => p.iter().enumerate().all(|(i, &a)| a == i as i64),
                    (Some(None), Some(r)) => r <= 1,
                    _ => false,
                })
            }
            "Expand" => single(same_shape()),
            "Squeeze" => unsqueeze_squeeze(ed, n, out, input).or_else(|| view_chain(ed, n, out)),
            _ => view_chain(ed, n, out),
        }?;
        let live = m.nodes.iter().all(|&k| ed.is_live(k));
        (live && ed.can_replace(m.from, m.to)).then_some(m)
    }

    fn apply(&self, ed: &mut Editor, m: Bypass, _ctx: &PassCtx) -> Result<()> {
        for n in m.nodes {
            ed.remove_node(n);
        }
        ed.replace_uses(m.from, m.to)
    }
}
