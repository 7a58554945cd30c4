//! Split: at opset 13 the `split` attribute becomes input 1; from 18 an equal split (no `split`
//! input) must say how many outputs it has in `num_outputs`.

use super::{Ctx, Rule};
use crate::Result;
use edgeopt_ir::Attribute;

pub(crate) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            op_types: &["Split"],
            version: 13,
            apply: split_to_input,
        },
        Rule {
            op_types: &["Split"],
            version: 18,
            apply: num_outputs,
        },
    ]
}

fn split_to_input(ctx: &mut Ctx) -> Result<()> {
    ctx.ints_attr_to_input("split", 1)
}

fn num_outputs(ctx: &mut Ctx) -> Result<()> {
    let has_split = ctx.inputs.get(1).copied().flatten().is_some();
    if !has_split && !ctx.attrs.contains_key("num_outputs") {
        let n = ctx.g.nodes[ctx.node].outputs.len() as i64;
        ctx.attrs.insert("num_outputs".into(), Attribute::Int(n));
    }
    Ok(())
}
