//! nn ops: convolutions, pooling, normalizations, dropout.

use crate::registry::Registry;

pub mod common;
pub mod conv;
pub mod conv_transpose;
pub mod im2col;

pub fn register(r: &mut Registry) {
    r.register("", "Conv", conv::build);
    r.register("", "ConvTranspose", conv_transpose::build);
}
