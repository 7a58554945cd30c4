//! The QDQ residual add: `DequantizeLinear(a), DequantizeLinear(b) -> Add [-> Relu | Clip] ->
//! QuantizeLinear`, all per tensor, `a`, `b` and the output of one 8-bit type and one static
//! shape, becomes one [`QAdd`]. Exact up to the f32 rounding the QDQ graph itself does: the
//! fused kernel evaluates the same f32 expression.

use edgeopt_ir::{NodeId, ValueId};
use edgeopt_passes::rewrite::Editor;

use super::add::QAdd;
use super::qdq::{dq, per_tensor, Dq};
use super::qdq_act::{activation, Act};
use crate::Result;

pub(super) struct AddPlan {
    quant: NodeId,
    act: Option<Act>,
    add: NodeId,
    a: Dq,
    b: Dq,
    y: ValueId,
    y_scale: ValueId,
    y_zp: ValueId,
}

pub(super) fn match_add(ed: &Editor, q: NodeId) -> Option<AddPlan> {
    let qn = ed.node(q);
    if qn.op_type() != "QuantizeLinear" || !qn.op.domain().is_empty() {
        return None;
    }
    let (src, y_scale, y_zp) = (
        (*qn.inputs.first()?)?,
        (*qn.inputs.get(1)?)?,
        (*qn.inputs.get(2)?)?,
    );
    let y = (*qn.outputs.first()?)?;
    let ys = per_tensor(ed, y_scale, Some(y_zp))?;
    let y_dtype = ed.dtype(y)?;
    if ed.sole_consumer(src) != Some(q) {
        return None;
    }
    let (act, src) = activation(ed, src, ys, ed.scalar(y_zp)? as i32, y_dtype)?;
    let add = ed.producer(src)?;
    let an = ed.node(add);
    if an.op_type() != "Add" || !an.op.domain().is_empty() || ed.is_graph_output(src) {
        return None;
    }
    let a = dq(ed, (*an.inputs.first()?)?)?;
    let b = dq(ed, (*an.inputs.get(1)?)?)?;
    per_tensor(ed, a.scale, a.zp)?;
    per_tensor(ed, b.scale, b.zp)?;
    let shape = ed.shape(y)?;
    let same = |v: ValueId| ed.dtype(v) == Some(y_dtype) && ed.shape(v).as_ref() == Some(&shape);
    if !same(a.q) || !same(b.q) {
        return None;
    }
    Some(AddPlan {
        quant: q,
        act,
        add,
        a,
        b,
        y,
        y_scale,
        y_zp,
    })
}

pub(super) fn apply_add(ed: &mut Editor, p: AddPlan) -> Result<()> {
    let (lo, hi) = p.act.as_ref().map_or((i32::MIN, i32::MAX), |a| a.bounds);
    let inputs = vec![
        Some(p.a.q),
        Some(p.a.scale),
        p.a.zp,
        Some(p.b.q),
        Some(p.b.scale),
        p.b.zp,
        Some(p.y_scale),
        Some(p.y_zp),
    ];
    let name = ed.node(p.add).name.clone();
    ed.remove_node(p.quant);
    if let Some(a) = &p.act {
        ed.remove_node(a.node);
    }
    ed.remove_node(p.add);
    ed.add_node(&name, Box::new(QAdd { lo, hi }), inputs, vec![Some(p.y)])?;
    super::qdq::remove_unused(ed, &[Some(p.a.node), Some(p.b.node)]);
    Ok(())
}
