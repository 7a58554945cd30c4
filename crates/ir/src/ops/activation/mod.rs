//! activation ops: one file each; the one-input float activations share `common::map_float`,
//! and Softmax/LogSoftmax/Hardmax share the opset-dependent `axis` handling.

use crate::registry::Registry;

pub mod celu;
pub mod common;
pub mod elu;
pub mod gelu;
pub mod hard_sigmoid;
pub mod hard_swish;
pub mod hardmax;
pub mod leaky_relu;
pub mod mish;
pub mod prelu;
pub mod selu;
pub mod shrink;
pub mod softmax;
pub mod swish;
pub mod thresholded_relu;

pub fn register(r: &mut Registry) {
    r.register("", "LeakyRelu", leaky_relu::build);
    r.register("", "PRelu", prelu::build);
    r.register("", "Elu", elu::build);
    r.register("", "Selu", selu::build);
    r.register("", "Celu", celu::build);
    r.register("", "HardSigmoid", hard_sigmoid::build);
    r.register("", "HardSwish", hard_swish::build);
    r.register("", "Gelu", gelu::build);
    r.register("", "ThresholdedRelu", thresholded_relu::build);
    r.register("", "Shrink", shrink::build);
    r.register("", "Mish", mish::build);
    r.register("", "Swish", swish::build);
    r.register("", "Softmax", softmax::build);
    r.register("", "LogSoftmax", softmax::build_log);
    r.register("", "Hardmax", hardmax::build);
}
