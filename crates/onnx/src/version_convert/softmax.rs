//! Softmax / LogSoftmax / Hardmax at opset 13. Before 13 the input is coerced to 2-D at `axis`
//! (default 1) and each row is normalized; from 13 only the one `axis` (default -1) is. When
//! the axis is the last one the two agree; otherwise the op runs on
//! `Flatten(x, axis)` and the result is reshaped back to `Shape(x)`.

use super::{Ctx, Rule};
use crate::{OnnxError, Result};
use edgeopt_ir::{Attribute, ValueType};

pub(crate) fn rules() -> Vec<Rule> {
    vec![Rule {
        op_types: &["Softmax", "LogSoftmax", "Hardmax"],
        version: 13,
        apply: coerce_2d,
    }]
}

fn coerce_2d(ctx: &mut Ctx) -> Result<()> {
    let axis = match ctx.attrs.get("axis") {
        None => 1,
        Some(Attribute::Int(a)) => *a,
        Some(a) => {
            return Err(OnnxError::Model(format!(
                "{}: attribute 'axis' should be an int, is {}",
                ctx.name(),
                a.kind()
            )))
        }
    };
    let Some(x) = ctx.inputs.first().copied().flatten() else {
        return Err(OnnxError::Model(format!("{} has no input", ctx.name())));
    };
    let xty = ctx.g.value(x).ty.clone();
    let Some(rank) = xty.shape().map(|s| s.len() as i64) else {
        return Err(OnnxError::Model(format!(
            "{}: the input rank is unknown, so its pre-13 2-D coercion cannot be rewritten",
            ctx.name()
        )));
    };
    let a = if axis < 0 { axis + rank } else { axis };
    if a < 0 || a > rank {
        return Err(OnnxError::Model(format!(
            "{}: axis {axis} is out of range for rank {rank}",
            ctx.name()
        )));
    }
    if a == rank - 1 || rank == 0 {
        ctx.attrs.insert("axis".into(), Attribute::Int(-1));
        return Ok(());
    }
    let dtype_only = |t: &ValueType| t.dtype().map_or(ValueType::Unknown, ValueType::dtype_only);
    let xname = ctx.g.value(x).name.clone();
    let flat = ctx.add_node(
        "Flatten",
        vec![("axis", Attribute::Int(a))],
        vec![Some(x)],
        &format!("{xname}_2d"),
        dtype_only(&xty),
    )?;
    let shape = ctx.add_node(
        "Shape",
        vec![],
        vec![Some(x)],
        &format!("{xname}_shape"),
        ValueType::dtype_only(edgeopt_tensor::DType::I64),
    )?;
    let Some(y) = ctx.g.nodes[ctx.node].outputs.first().copied().flatten() else {
        return Err(OnnxError::Model(format!("{} has no output", ctx.name())));
    };
    let yname = ctx.g.value(y).name.clone();
    let y2name = ctx.unique_value_name(&format!("{yname}_2d"));
    let y2 = ctx.g.add_value(&y2name, dtype_only(&xty));
    ctx.g.nodes[ctx.node].outputs[0] = Some(y2);
    let reshape = super::build_op("Reshape", Default::default(), 2, 1, ctx.target)?;
    let name = format!("{}_Reshape", ctx.g.nodes[ctx.node].name);
    ctx.g
        .add_node(&name, reshape, vec![Some(y2), Some(shape)], vec![Some(y)]);
    ctx.inputs[0] = Some(flat);
    ctx.attrs.insert("axis".into(), Attribute::Int(-1));
    Ok(())
}
