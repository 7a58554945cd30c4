//! Squeeze / Unsqueeze at opset 13: the `axes` attribute becomes input 1.

use super::{Ctx, Rule};
use crate::Result;

pub(crate) fn rules() -> Vec<Rule> {
    vec![Rule {
        op_types: &["Squeeze", "Unsqueeze"],
        version: 13,
        apply: axes_to_input,
    }]
}

fn axes_to_input(ctx: &mut Ctx) -> Result<()> {
    ctx.ints_attr_to_input("axes", 1)
}
