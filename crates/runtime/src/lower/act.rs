//! Activations of fused ops: the part the GEMM applies in its store, and the rest.

use edgeopt_kernels::Activation as K;
use edgeopt_passes::ops::activation::{Activation as A, HARD_SWISH_ALPHA};

/// The kernel-fused activation for `a`, or `None` when it must run as a separate pass
/// (Tanh, PRelu, HardSwish with non-ONNX constants).
pub fn kernel_activation(a: &A) -> Option<K> {
    Some(match *a {
        A::Relu => K::Relu,
        A::Clip { min, max } => K::Clip { min, max },
        A::Sigmoid => K::Sigmoid,
        A::HardSigmoid { alpha, beta } => K::HardSigmoid { alpha, beta },
        A::HardSwish { alpha, beta } if alpha == HARD_SWISH_ALPHA && beta == 0.5 => K::HardSwish,
        A::LeakyRelu { alpha } => K::LeakyRelu { alpha },
        _ => return None,
    })
}

/// An activation split into the GEMM-fused part and a separate pass.
#[derive(Clone, Debug)]
pub struct PostActivation {
    /// Applied by the kernel's store.
    pub fused: K,
    /// Applied after, with the channel index (PRelu slopes).
    pub post: Option<A>,
}

impl PostActivation {
    /// Splits an optional fused-op activation.
    pub fn new(a: Option<&A>) -> PostActivation {
        match a {
            None => PostActivation {
                fused: K::None,
                post: None,
            },
            Some(a) => match kernel_activation(a) {
                Some(k) => PostActivation {
                    fused: k,
                    post: None,
                },
                None => PostActivation {
                    fused: K::None,
                    post: Some(a.clone()),
                },
            },
        }
    }

    /// Applies the separate pass to `y`, whose channel of element `i` is `(i / inner) % count`.
    pub fn apply_post(&self, y: &mut [f32], inner: usize, count: usize) {
        if let Some(a) = &self.post {
            let (inner, count) = (inner.max(1), count.max(1));
            for (i, v) in y.iter_mut().enumerate() {
                *v = a.apply(*v, (i / inner) % count);
            }
        }
    }
}
