//! `DequantizeLinear(x; s, z) -> MaxPool -> QuantizeLinear(s, z)` with the same per-tensor scale
//! and zero point (how quantizers treat pass-through ops) becomes MaxPool on the 8-bit `x`:
//! the max commutes with the monotone dequantization and `Q(DQ(v)) = v`.

use edgeopt_ir::NodeId;
use edgeopt_passes::rewrite::Editor;

use super::qdq::{dq, per_tensor, remove_unused};
use crate::Result;

/// The Q node, the MaxPool and the DQ feeding it.
pub(super) struct PoolPlan {
    quant: NodeId,
    pool: NodeId,
    dq: NodeId,
}

pub(super) fn match_pool(ed: &Editor, q: NodeId) -> Option<PoolPlan> {
    let qn = ed.node(q);
    if qn.op_type() != "QuantizeLinear" || !qn.op.domain().is_empty() {
        return None;
    }
    let (src, ys, yz) = (
        (*qn.inputs.first()?)?,
        (*qn.inputs.get(1)?)?,
        (*qn.inputs.get(2)?)?,
    );
    let y = (*qn.outputs.first()?)?;
    let pool = ed.producer(src)?;
    let pn = ed.node(pool);
    let single_output = pn.outputs.iter().skip(1).all(|o| o.is_none());
    if pn.op_type() != "MaxPool" || !pn.op.domain().is_empty() || !single_output {
        return None;
    }
    if ed.sole_consumer(src) != Some(q) || ed.is_graph_output(src) {
        return None;
    }
    let d = dq(ed, (*pn.inputs.first()?)?)?;
    let (sx, sy) = (
        per_tensor(ed, d.scale, d.zp)?,
        per_tensor(ed, ys, Some(yz))?,
    );
    let same_zp = ed.scalar(d.zp?)? == ed.scalar(yz)?;
    if sx.to_bits() != sy.to_bits() || !same_zp || ed.dtype(d.q) != ed.dtype(y) {
        return None;
    }
    Some(PoolPlan {
        quant: q,
        pool,
        dq: d.node,
    })
}

pub(super) fn apply_pool(ed: &mut Editor, p: PoolPlan) -> Result<()> {
    let (x, y) = {
        let (dn, qn) = (ed.node(p.dq), ed.node(p.quant));
        (dn.inputs[0], qn.outputs[0])
    };
    let pn = ed.node(p.pool);
    let (name, op) = (pn.name.clone(), pn.op.clone());
    ed.remove_node(p.quant);
    ed.remove_node(p.pool);
    ed.add_node(&name, op, vec![x], vec![y])?;
    remove_unused(ed, &[Some(p.dq)]);
    Ok(())
}
