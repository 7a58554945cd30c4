//! Array ops: data movement and shape arithmetic (Shape, Reshape, Gather, Concat, Slice, Pad...).
//! None of them looks at element values except the scatter reductions and Range, so most work
//! on every dtype through [`common::ElemBuf`].

pub mod common;
pub mod constant;
pub mod constant_of_shape;
pub mod identity;
pub mod shape;
pub mod size;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "Constant", constant::build);
    r.register("", "ConstantOfShape", constant_of_shape::build);
    r.register("", "Identity", identity::build);
    r.register("", "Shape", shape::build);
    r.register("", "Size", size::build);
}
