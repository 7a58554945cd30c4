//! Fast kernels for the training graph's gradient ops on the runtime: lowerings registered
//! in a [`LoweringRegistry`] on top of the runtime's defaults, so a training step runs on the
//! packed GEMM and planned arena buffers instead of the ops' reference `eval` (which copies
//! every input and output). Each kernel is tested against its op's `eval`.

pub mod conv_grad;
pub mod elementwise;
pub mod geometry;
pub mod matmul;

use crate::ops::DOMAIN;
use edgeopt_runtime::LoweringRegistry;
use std::sync::{Arc, OnceLock};

/// The runtime's default lowerings plus the training ops'.
pub fn registry() -> LoweringRegistry {
    let mut r = LoweringRegistry::with_defaults();
    r.register(DOMAIN, "ConvGradWeight", conv_grad::lower_weight);
    r.register(DOMAIN, "ConvGradInput", conv_grad::lower_input);
    r.register(DOMAIN, "ActivationGrad", elementwise::lower_activation);
    r.register(DOMAIN, "BiasGrad", elementwise::lower_bias);
    r.register(DOMAIN, "MaxPoolGrad", elementwise::lower_pool);
    r.register(DOMAIN, "AveragePoolGrad", elementwise::lower_pool);
    r.register(DOMAIN, "ReshapeLike", elementwise::lower_reshape_like);
    r.register(DOMAIN, "BatchNormTrain", elementwise::lower_bn_train);
    r.register(DOMAIN, "BatchNormGrad", elementwise::lower_bn_grad);
    r.register(DOMAIN, "MatMulT", matmul::lower_matmul_t);
    r.register("", "Gemm", matmul::lower_gemm);
    r
}

/// [`registry`], built once per process.
pub fn shared() -> Arc<LoweringRegistry> {
    static R: OnceLock<Arc<LoweringRegistry>> = OnceLock::new();
    R.get_or_init(|| Arc::new(registry())).clone()
}
