//! nn ops: convolutions, pooling, normalizations, dropout.

use crate::registry::Registry;

pub mod average_pool;
pub mod common;
pub mod conv;
pub mod conv_transpose;
pub mod global_pool;
pub mod im2col;
pub mod lp_pool;
pub mod max_pool;
pub mod max_unpool;
pub mod pooling;

pub fn register(r: &mut Registry) {
    r.register("", "AveragePool", average_pool::build);
    r.register("", "Conv", conv::build);
    r.register("", "ConvTranspose", conv_transpose::build);
    global_pool::register(r);
    r.register("", "LpPool", lp_pool::build);
    r.register("", "MaxPool", max_pool::build);
    r.register("", "MaxUnpool", max_unpool::build);
}
