//! Every op, one file each, grouped by family. Each family's `register` adds its builders.
//!
//! Trivial element-wise functions without attributes (Abs, Exp, Add, ...) share one table-driven
//! file per arity instead of thirty near-identical files.

pub mod util;

#[doc(hidden)]
pub mod testing;

pub mod activation;
pub mod array;
pub mod cast;
pub mod control;
pub mod linalg;
pub mod loss;
pub mod math;
pub mod nn;
pub mod quant;
pub mod reduce;
pub mod rnn;
pub mod select;
pub mod sequence;
pub mod signal;
pub mod text;
pub mod training;
pub mod transformer;
pub mod vision;

use crate::registry::Registry;

pub fn register_all(r: &mut Registry) {
    activation::register(r);
    array::register(r);
    cast::register(r);
    control::register(r);
    linalg::register(r);
    loss::register(r);
    math::register(r);
    nn::register(r);
    quant::register(r);
    reduce::register(r);
    rnn::register(r);
    select::register(r);
    sequence::register(r);
    signal::register(r);
    text::register(r);
    training::register(r);
    transformer::register(r);
    vision::register(r);
}
