//! vision ops: Resize, Upsample, DepthToSpace, SpaceToDepth, CenterCropPad, Col2Im,
//! GridSample, AffineGrid, RoiAlign, NonMaxSuppression.

use crate::registry::Registry;

pub mod interp;
pub mod resample;
pub mod resize;
#[cfg(test)]
mod resize_tests;

pub fn register(r: &mut Registry) {
    r.register("", "Resize", resize::build);
}
