//! The convolution geometry and column-matrix transforms are the runtime's
//! (`edgeopt_runtime::lower::conv_geometry`); gradients add the check that `dy` is the output.

use edgeopt_ir::ops::nn::conv::Conv;
pub use edgeopt_runtime::lower::conv_geometry::{col2im, im2col, Geometry};

/// The geometry of `conv` on X `x` with W `w`, when `dy` is its output shape.
pub fn geometry_of(conv: &Conv, x: &[usize], w: &[usize], dy: &[usize]) -> Option<Geometry> {
    let (g, _, _, out_shape) = Geometry::of_conv(conv, x, w)?;
    (out_shape.as_slice() == dy).then_some(g)
}
