//! training ops: the ai.onnx.preview.training optimizers.

use crate::registry::Registry;

pub mod adagrad;
pub mod adam;
pub mod common;
pub mod momentum;

pub fn register(r: &mut Registry) {
    r.register(common::DOMAIN, "Adagrad", adagrad::build);
    r.register(common::DOMAIN, "Adam", adam::build);
    r.register(common::DOMAIN, "Momentum", momentum::build);
}
