//! nn ops: convolutions, pooling, normalizations, dropout.
//!
//! Helper modules: `common` (window attributes and geometry, small numeric helpers), `im2col`
//! (convolution lowering), `pooling` (window enumeration for the pools).

use crate::registry::Registry;

pub mod average_pool;
pub mod batch_normalization;
pub mod common;
pub mod conv;
#[cfg(test)]
mod conv_reference_tests;
pub mod conv_transpose;
pub mod deform_conv;
pub mod dropout;
pub mod global_pool;
pub mod group_normalization;
pub mod im2col;
pub mod instance_normalization;
pub mod layer_normalization;
pub mod lp_normalization;
pub mod lp_pool;
pub mod lrn;
pub mod max_pool;
pub mod max_unpool;
pub mod mean_variance_normalization;
pub mod pooling;
pub mod rms_normalization;

pub fn register(r: &mut Registry) {
    r.register("", "AveragePool", average_pool::build);
    r.register("", "BatchNormalization", batch_normalization::build);
    r.register("", "Conv", conv::build);
    r.register("", "ConvTranspose", conv_transpose::build);
    r.register("", "DeformConv", deform_conv::build);
    r.register("", "Dropout", dropout::build);
    global_pool::register(r);
    r.register("", "GroupNormalization", group_normalization::build);
    r.register("", "InstanceNormalization", instance_normalization::build);
    r.register("", "LayerNormalization", layer_normalization::build);
    r.register("", "LpNormalization", lp_normalization::build);
    r.register("", "LpPool", lp_pool::build);
    r.register("", "LRN", lrn::build);
    r.register("", "MaxPool", max_pool::build);
    r.register("", "MaxUnpool", max_unpool::build);
    r.register(
        "",
        "MeanVarianceNormalization",
        mean_variance_normalization::build,
    );
    r.register("", "RMSNormalization", rms_normalization::build);
}
