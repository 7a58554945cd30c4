//! math ops.

use crate::registry::Registry;

pub mod unary;

pub fn register(r: &mut Registry) {
    unary::register(r);
}
