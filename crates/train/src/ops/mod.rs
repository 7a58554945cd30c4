//! Gradient and training ops, domain `com.edgeopt.train`. Each implements the IR [`Op`] trait
//! (`infer` + a fast f32 `eval`), so the training graph runs on any executor that falls back to
//! `Op::eval` for ops it has no kernel for.
//!
//! [`Op`]: edgeopt_ir::Op

pub mod activation_grad;
pub mod array_grad;
pub mod batch_norm;
pub mod conv_grad;
pub mod dropout;
pub mod fake_quant;
pub mod layer_norm_grad;
pub mod loss;
pub mod matmul_t;
pub mod pool_grad;
pub mod reduce_to;
pub mod reshape_like;
pub mod softmax_grad;
pub mod util;

/// The ONNX domain of edgeopt's training ops.
pub const DOMAIN: &str = "com.edgeopt.train";

/// Registers the ops a saved model may contain ([`fake_quant::FakeQuant`], with attributes
/// `axis`, `qmin`, `qmax`) in `r`, for loading QAT models.
pub fn register(r: &mut edgeopt_ir::Registry) {
    r.register(DOMAIN, "FakeQuant", |ctx| {
        Ok(Box::new(fake_quant::FakeQuant {
            axis: ctx.attrs.int("axis")?,
            qmin: ctx.attrs.float_or("qmin", -128.0)?,
            qmax: ctx.attrs.float_or("qmax", 127.0)?,
        }))
    });
}
