//! Type conversion ops: Cast, CastLike, BitCast. `convert` holds the scalar codecs of the encoded
//! (8-bit float and sub-byte) dtypes and `kernel` the tensor-level conversion, both shared with
//! the quantization ops.

pub mod bit_cast;
#[allow(clippy::module_inception)]
pub mod cast;
pub mod cast_like;
pub mod convert;
pub mod kernel;
pub mod numstr;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "Cast", cast::build);
    r.register("", "CastLike", cast_like::build);
    r.register("", "BitCast", bit_cast::build);
}
