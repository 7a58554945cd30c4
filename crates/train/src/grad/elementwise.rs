//! Broadcasting Add / Sub / Mul / Div; each gradient is summed over its operand's broadcast axes.

use super::GradCtx;
use crate::ops::reduce_to::ReduceToShape;
use edgeopt_ir::{AttrList, Result, ValueId};

pub fn grad(ctx: &mut GradCtx, dy: ValueId) -> Result<Vec<Option<ValueId>>> {
    let (a, b) = (ctx.input(0)?, ctx.input(1)?);
    let op = ctx.node.op_type().to_string();
    let none = AttrList::default;
    let mut g = vec![None; 2];
    if ctx.need(0) {
        let full = match op.as_str() {
            "Mul" => ctx.onnx("Mul", none(), &[dy, b])?,
            "Div" => ctx.onnx("Div", none(), &[dy, b])?,
            _ => dy,
        };
        g[0] = Some(ctx.emit1(Box::new(ReduceToShape), &[full, a]));
    }
    if ctx.need(1) {
        let full = match op.as_str() {
            "Add" => dy,
            "Sub" => ctx.onnx("Neg", none(), &[dy])?,
            "Mul" => ctx.onnx("Mul", none(), &[dy, a])?,
            _ => {
                // d(a/b)/db = -a/b^2 = -y/b.
                let y = ctx.output(0)?;
                let yb = ctx.onnx("Div", none(), &[y, b])?;
                let t = ctx.onnx("Mul", none(), &[dy, yb])?;
                ctx.onnx("Neg", none(), &[t])?
            }
        };
        g[1] = Some(ctx.emit1(Box::new(ReduceToShape), &[full, b]));
    }
    Ok(g)
}
