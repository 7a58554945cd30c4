//! reduce ops: ReduceXxx (one table-driven file), ArgMax/ArgMin, TopK.

use crate::registry::Registry;

pub mod arg_min_max;
pub mod common;
pub mod reductions;
#[cfg(test)]
mod reductions_tests;
pub mod top_k;

pub fn register(r: &mut Registry) {
    reductions::register(r);
    arg_min_max::register(r);
    r.register("", "TopK", top_k::build);
}
