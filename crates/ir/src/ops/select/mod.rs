//! select ops: NonZero, Compress, Unique, Trilu, EyeLike, OneHot.

use crate::registry::Registry;

pub mod common;
pub mod compress;
pub mod eye_like;
pub mod non_zero;
pub mod one_hot;
pub mod trilu;
pub mod unique;

pub fn register(r: &mut Registry) {
    r.register("", "NonZero", non_zero::build);
    r.register("", "Compress", compress::build);
    r.register("", "Unique", unique::build);
    r.register("", "Trilu", trilu::build);
    r.register("", "EyeLike", eye_like::build);
    r.register("", "OneHot", one_hot::build);
}
