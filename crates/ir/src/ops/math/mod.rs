//! math ops.

use crate::registry::Registry;

pub mod binary;
pub mod common;
pub mod unary;

pub fn register(r: &mut Registry) {
    unary::register(r);
    binary::register(r);
}
