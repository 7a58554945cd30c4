//! Dropout at opset 12: the `ratio` attribute becomes optional input 1 (a float scalar). In
//! inference Dropout is the identity either way; the ratio is kept for training.

use super::{Ctx, Rule};
use crate::{OnnxError, Result};
use edgeopt_ir::Attribute;
use edgeopt_tensor::Tensor;

pub(crate) fn rules() -> Vec<Rule> {
    vec![Rule {
        op_types: &["Dropout"],
        version: 12,
        apply: ratio_to_input,
    }]
}

fn ratio_to_input(ctx: &mut Ctx) -> Result<()> {
    match ctx.attrs.remove("ratio") {
        None => Ok(()),
        Some(Attribute::Float(r)) => {
            let name = format!("{}_ratio", ctx.g.nodes[ctx.node].name);
            let id = ctx.unique_initializer(&name, Tensor::scalar(r));
            ctx.inputs.resize(ctx.inputs.len().max(2), None);
            ctx.inputs[1] = Some(id);
            Ok(())
        }
        Some(a) => Err(OnnxError::Model(format!(
            "{}: attribute 'ratio' should be a float, is {}",
            ctx.name(),
            a.kind()
        ))),
    }
}
