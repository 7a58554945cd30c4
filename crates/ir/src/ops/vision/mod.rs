//! vision ops: Resize, Upsample, DepthToSpace, SpaceToDepth, CenterCropPad, Col2Im,
//! GridSample, AffineGrid, RoiAlign, NonMaxSuppression.

use crate::registry::Registry;

pub mod affine_grid;
pub mod center_crop_pad;
pub mod col2im;
pub mod depth_to_space;
pub mod grid_sample;
pub mod interp;
pub mod non_max_suppression;
pub mod resample;
pub mod resize;
#[cfg(test)]
mod resize_tests;
pub mod roi_align;
pub mod space_to_depth;
pub mod upsample;

pub fn register(r: &mut Registry) {
    r.register("", "Resize", resize::build);
    r.register("", "Upsample", upsample::build);
    r.register("", "DepthToSpace", depth_to_space::build);
    r.register("", "SpaceToDepth", space_to_depth::build);
    r.register("", "CenterCropPad", center_crop_pad::build);
    r.register("", "Col2Im", col2im::build);
    r.register("", "GridSample", grid_sample::build);
    r.register("", "AffineGrid", affine_grid::build);
    r.register("", "RoiAlign", roi_align::build);
    r.register("", "NonMaxSuppression", non_max_suppression::build);
}
