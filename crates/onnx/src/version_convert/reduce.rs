//! Reductions: the `axes` attribute becomes input 1 at opset 13 for ReduceSum and at 18 for
//! the others. No axes (reduce everything) stays no axes, which keeps its meaning
//! (`noop_with_empty_axes` defaults to 0).

use super::{Ctx, Rule};
use crate::Result;

pub(crate) fn rules() -> Vec<Rule> {
    vec![
        Rule {
            op_types: &["ReduceSum"],
            version: 13,
            apply: axes_to_input,
        },
        Rule {
            op_types: &[
                "ReduceMean",
                "ReduceMax",
                "ReduceMin",
                "ReduceProd",
                "ReduceL1",
                "ReduceL2",
                "ReduceLogSum",
                "ReduceLogSumExp",
                "ReduceSumSquare",
            ],
            version: 18,
            apply: axes_to_input,
        },
    ]
}

fn axes_to_input(ctx: &mut Ctx) -> Result<()> {
    ctx.ints_attr_to_input("axes", 1)
}
