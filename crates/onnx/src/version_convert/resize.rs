//! Resize at opset 13: `roi` and `scales` become optional and the coordinate transformation mode
//! `tf_half_pixel_for_nn` is removed; every other model keeps its meaning.

use super::{Ctx, Rule};
use crate::{OnnxError, Result};
use edgeopt_ir::Attribute;

pub(crate) fn rules() -> Vec<Rule> {
    vec![Rule {
        op_types: &["Resize"],
        version: 13,
        apply: check_mode,
    }]
}

fn check_mode(ctx: &mut Ctx) -> Result<()> {
    match ctx.attrs.get("coordinate_transformation_mode") {
        Some(Attribute::String(m)) if m == b"tf_half_pixel_for_nn" => {
            Err(OnnxError::Model(format!(
            "{}: coordinate_transformation_mode tf_half_pixel_for_nn does not exist at opset 13",
            ctx.name()
        )))
        }
        _ => Ok(()),
    }
}
