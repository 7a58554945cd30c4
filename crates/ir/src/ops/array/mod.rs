//! Array ops: data movement and shape arithmetic (Shape, Reshape, Gather, Concat, Slice, Pad...).
//! None of them looks at element values except the scatter reductions and Range, so most work
//! on every dtype through [`common::ElemBuf`].

pub mod common;
pub mod concat;
pub mod constant;
pub mod constant_of_shape;
pub mod flatten;
pub mod identity;
pub mod reshape;
pub mod shape;
pub mod size;
pub mod slice;
pub mod split;
pub mod squeeze;
pub mod transpose;
pub mod unsqueeze;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "Constant", constant::build);
    r.register("", "ConstantOfShape", constant_of_shape::build);
    r.register("", "Identity", identity::build);
    r.register("", "Shape", shape::build);
    r.register("", "Size", size::build);
    r.register("", "Slice", slice::build);
    r.register("", "Split", split::build);
    r.register("", "Squeeze", squeeze::build);
    r.register("", "Transpose", transpose::build);
    r.register("", "Unsqueeze", unsqueeze::build);
    r.register("", "Concat", concat::build);
    r.register("", "Flatten", flatten::build);
    r.register("", "Reshape", reshape::build);
}
