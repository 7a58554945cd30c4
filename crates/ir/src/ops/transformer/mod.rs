//! transformer ops: attention variants, rotary embeddings and gated activations.

use crate::registry::Registry;

pub mod attention;
pub mod attention_bias;
pub mod attention_kernel;
pub mod causal_conv_with_state;
pub mod common;
pub mod flex_attention;
pub mod linear_attention;
pub mod rotary_embedding;
pub mod swiglu;

pub fn register(r: &mut Registry) {
    r.register("", "Attention", attention::build);
    r.register("", "RotaryEmbedding", rotary_embedding::build);
    r.register("", "LinearAttention", linear_attention::build);
    r.register("", "CausalConvWithState", causal_conv_with_state::build);
    r.register("", "SwiGLU", swiglu::build);
    r.register("ai.onnx.preview", "FlexAttention", flex_attention::build);
}
