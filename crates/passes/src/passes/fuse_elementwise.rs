//! fuse_elementwise: a chain of element-wise ops on one tensor becomes one
//! [`FusedElementwise`] node. A chain starts at an element-wise node whose non-constant inputs
//! are all one value `x`, and grows through the sole reader of its last result while that
//! reader is element-wise and reads only `x`, the last result and constants (so
//! `x * HardSigmoid(x)` and `x * Relu6(x + 3) / 6` fuse too). Every step keeps `x`'s shape and
//! dtype: constants must broadcast into `x`, never widen it. Float tensors only.

use crate::ops::fused_elementwise::{Arg, FusedElementwise, Step};
use crate::pass::{PassCtx, Rule};
use crate::rewrite::Editor;
use edgeopt_ir::{NodeId, Result, ValueId};
use edgeopt_tensor::Dim;

/// One data input (input 0); any further inputs must be constants.
const UNARY: &[&str] = &[
    "Abs",
    "Neg",
    "Relu",
    "Floor",
    "Ceil",
    "Round",
    "Sqrt",
    "Reciprocal",
    "Exp",
    "Log",
    "Sin",
    "Cos",
    "Tan",
    "Asin",
    "Acos",
    "Atan",
    "Sinh",
    "Cosh",
    "Asinh",
    "Acosh",
    "Atanh",
    "Erf",
    "Sigmoid",
    "Tanh",
    "Softsign",
    "Softplus",
    "Sign",
    "HardSigmoid",
    "HardSwish",
    "LeakyRelu",
    "Elu",
    "Selu",
    "Celu",
    "Gelu",
    "ThresholdedRelu",
    "Shrink",
    "Mish",
    "Clip",
    "PRelu",
];
/// Two inputs, each `x`, an earlier result or a constant.
const BINARY: &[&str] = &["Add", "Sub", "Mul", "Div", "Pow"];

pub struct FuseElementwise;

pub struct Chain {
    nodes: Vec<NodeId>,
    x: ValueId,
    out: ValueId,
    steps: Vec<Step>,
}

/// Whether a constant of `shape` broadcasts into `x` without changing `x`'s shape.
fn fits(shape: &[usize], x: &[Dim]) -> bool {
    shape.len() <= x.len()
        && shape
            .iter()
            .rev()
            .zip(x.iter().rev())
            .all(|(&d, xd)| d == 1 || xd.known() == Some(d))
}

/// Node `n` as a step, its inputs resolved through `known` (x and earlier results).
fn step(ed: &Editor, n: NodeId, x: ValueId, known: &[(ValueId, Arg)]) -> Option<Step> {
    let node = ed.node(n);
    let op_type = node.op_type();
    let unary = UNARY.contains(&op_type);
    if !ed.is_live(n) || !node.op.domain().is_empty() || node.outputs.len() != 1 {
        return None;
    }
    let binary = BINARY.contains(&op_type) && node.inputs.len() == 2;
    if !unary && !binary {
        return None;
    }
    let xt = ed.value_type(x).as_tensor()?;
    let (dtype, xs) = (xt.dtype?, xt.shape.as_ref()?);
    let out = node.outputs[0]?;
    if ed.dtype(out) != Some(dtype) || !node.op.attributes().iter().all(|(k, _)| k != "broadcast") {
        return None;
    }
    let mut args = Vec::with_capacity(node.inputs.len());
    for (i, v) in node.inputs.iter().enumerate() {
        let Some(v) = v else {
            args.push(None);
            continue;
        };
        let arg = if let Some((_, a)) = known.iter().find(|(k, _)| k == v) {
            if unary && i > 0 {
                return None;
            }
            a.clone()
        } else {
            let t = ed.constant(*v)?;
            // Pow's exponent may have its own type; every other constant has x's.
            let dtype_ok = t.dtype() == dtype || (op_type == "Pow" && i == 1);
            if (unary && i == 0) || !dtype_ok || !fits(t.shape(), xs) {
                return None;
            }
            Arg::Const(t.clone())
        };
        args.push(Some(arg));
    }
    // At least one argument is x or an earlier result (not constants only).
    if !args.iter().flatten().any(|a| !matches!(a, Arg::Const(_))) {
        return None;
    }
    Some(Step {
        op: node.op.clone(),
        args,
    })
}

impl Rule for FuseElementwise {
    type Match = Chain;

    fn name(&self) -> &'static str {
        "fuse_elementwise"
    }

    fn targets(&self) -> &'static [&'static str] {
        &[]
    }

    fn find(&self, ed: &Editor, n: NodeId, _ctx: &PassCtx) -> Option<Chain> {
        let node = ed.node(n);
        let x = node
            .inputs
            .iter()
            .flatten()
            .copied()
            .find(|&v| ed.constant(v).is_none())?;
        if !ed.dtype(x)?.is_float() || ed.is_pinned(x) {
            return None;
        }
        let mut known = vec![(x, Arg::Input)];
        let first = step(ed, n, x, &known)?;
        let mut out = node.outputs[0]?;
        let (mut nodes, mut steps) = (vec![n], vec![first]);
        known.push((out, Arg::Step(0)));
        while let Some(c) = ed.sole_consumer(out) {
            let Some(s) = step(ed, c, x, &known) else {
                break;
            };
            out = ed.node(c).outputs[0]?;
            known.push((out, Arg::Step(steps.len())));
            steps.push(s);
            nodes.push(c);
        }
        (steps.len() >= 2).then_some(Chain {
            nodes,
            x,
            out,
            steps,
        })
    }

    fn apply(&self, ed: &mut Editor, c: Chain, _ctx: &PassCtx) -> Result<()> {
        let name = format!("{}_fused", ed.node(c.nodes[0]).name);
        for &n in &c.nodes {
            ed.remove_node(n);
        }
        let op = Box::new(FusedElementwise { steps: c.steps });
        ed.add_node(&name, op, vec![Some(c.x)], vec![Some(c.out)])?;
        Ok(())
    }
}
