//! transformer ops: attention variants, rotary embeddings and gated activations.

use crate::registry::Registry;

pub mod attention;
pub mod attention_bias;
pub mod attention_kernel;
pub mod common;

pub fn register(r: &mut Registry) {
    r.register("", "Attention", attention::build);
}
