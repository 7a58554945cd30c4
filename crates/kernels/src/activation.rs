//! Element-wise activations that the GEMM fuses into its store (the tile is still in
//! registers, so fusing saves a full pass over C), also usable on plain slices.

use crate::{KernelError, Result};

/// An activation applied to every output element, following the ONNX operator definitions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, min), max)`; ReLU6 is `Clip { min: 0.0, max: 6.0 }`.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `x` if `x >= 0`, else `alpha * x` (ONNX default alpha 0.01).
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `max(0, min(1, alpha * x + beta))` (ONNX defaults alpha 0.2, beta 0.5).
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 1 / 2))`.
    HardSwish,
}

impl Activation {
    /// Checks the parameters: no NaN, and `min <= max` for Clip.
    pub fn validate(&self) -> Result<()> {
        let ok = match *self {
            Activation::Clip { min, max } => min <= max,
            Activation::LeakyRelu { alpha } => !alpha.is_nan(),
            Activation::HardSigmoid { alpha, beta } => !alpha.is_nan() && !beta.is_nan(),
            Activation::None | Activation::Relu | Activation::Sigmoid | Activation::HardSwish => {
                true
            }
        };
        if ok {
            Ok(())
        } else {
            Err(KernelError::BadActivation(format!("{self:?}")))
        }
    }

    /// The scalar definition, the twin of the vectorized versions in `arch`.
    #[inline]
    pub fn apply(&self, x: f32) -> f32 {
        match *self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Clip { min, max } => x.max(min).min(max),
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Activation::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        }
    }

    /// The same definition in f64, for the reference GEMM.
    pub fn apply_f64(&self, x: f64) -> f64 {
        match *self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Clip { min, max } => x.max(min as f64).min(max as f64),
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha as f64 * x
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::HardSigmoid { alpha, beta } => {
                (alpha as f64 * x + beta as f64).clamp(0.0, 1.0)
            }
            Activation::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        }
    }

    /// A bound on `|f(x) - f(y)| / |x - y|`, so tests can scale their tolerance.
    pub fn lipschitz(&self) -> f32 {
        match *self {
            Activation::None | Activation::Relu | Activation::Clip { .. } => 1.0,
            Activation::LeakyRelu { alpha } => alpha.abs().max(1.0),
            Activation::Sigmoid => 0.25,
            Activation::HardSigmoid { alpha, .. } => alpha.abs(),
            // d/dx x*(x/6+1/2) = x/3 + 1/2, at most 3/2 on [-3, 3] where it is not clamped.
            Activation::HardSwish => 1.5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_definitions() {
        let cases: [(Activation, f32, f32); 9] = [
            (Activation::Relu, -2.0, 0.0),
            (Activation::Clip { min: 0.0, max: 6.0 }, 7.5, 6.0),
            (Activation::Clip { min: 0.0, max: 6.0 }, -1.0, 0.0),
            (Activation::LeakyRelu { alpha: 0.1 }, -2.0, -0.2),
            (Activation::Sigmoid, 0.0, 0.5),
            (
                Activation::HardSigmoid {
                    alpha: 0.2,
                    beta: 0.5,
                },
                1.0,
                0.7,
            ),
            (Activation::HardSwish, 3.0, 3.0),
            (Activation::HardSwish, -3.0, 0.0),
            (Activation::HardSwish, 1.5, 1.125),
        ];
        for (act, x, want) in cases {
            assert!((act.apply(x) - want).abs() < 1e-6, "{act:?}({x})");
            assert!(
                (act.apply_f64(x as f64) - want as f64).abs() < 1e-6,
                "{act:?}({x})"
            );
        }
    }

    #[test]
    fn validation_rejects_nonsense() {
        assert!(Activation::Clip { min: 1.0, max: 0.0 }.validate().is_err());
        assert!(Activation::Clip {
            min: f32::NAN,
            max: 0.0
        }
        .validate()
        .is_err());
        assert!(Activation::LeakyRelu { alpha: f32::NAN }
            .validate()
            .is_err());
        assert!(Activation::HardSwish.validate().is_ok());
    }
}
