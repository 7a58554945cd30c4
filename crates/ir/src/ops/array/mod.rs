//! Array ops: data movement and shape arithmetic (Shape, Reshape, Gather, Concat, Slice, Pad...).
//! None of them looks at element values except the scatter reductions and Range, so most work
//! on every dtype through [`common::ElemBuf`].

pub mod common;
pub mod concat;
pub mod constant;
pub mod constant_of_shape;
pub mod expand;
pub mod flatten;
pub mod gather;
pub mod gather_elements;
pub mod gather_nd;
pub mod identity;
pub mod pad;
pub mod range;
pub mod reshape;
pub mod reverse_sequence;
pub mod scatter_common;
pub mod scatter_elements;
pub mod scatter_nd;
pub mod shape;
pub mod size;
pub mod slice;
pub mod split;
pub mod squeeze;
pub mod tensor_scatter;
pub mod tile;
pub mod transpose;
pub mod unsqueeze;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "Concat", concat::build);
    r.register("", "Constant", constant::build);
    r.register("", "ConstantOfShape", constant_of_shape::build);
    r.register("", "Expand", expand::build);
    r.register("", "Flatten", flatten::build);
    r.register("", "Gather", gather::build);
    r.register("", "GatherElements", gather_elements::build);
    r.register("", "GatherND", gather_nd::build);
    r.register("", "Identity", identity::build);
    r.register("", "Pad", pad::build);
    r.register("", "Range", range::build);
    r.register("", "Reshape", reshape::build);
    r.register("", "ReverseSequence", reverse_sequence::build);
    r.register("", "Scatter", scatter_elements::build_scatter);
    r.register("", "ScatterElements", scatter_elements::build);
    r.register("", "ScatterND", scatter_nd::build);
    r.register("", "Shape", shape::build);
    r.register("", "Size", size::build);
    r.register("", "Slice", slice::build);
    r.register("", "Split", split::build);
    r.register("", "Squeeze", squeeze::build);
    r.register("", "TensorScatter", tensor_scatter::build);
    r.register("", "Tile", tile::build);
    r.register("", "Transpose", transpose::build);
    r.register("", "Unsqueeze", unsqueeze::build);
}
