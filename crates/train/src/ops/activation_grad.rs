//! Element-wise activation gradients `dX = dY * f'(X)`, one op with the activation as a field.

use super::util::{f32_in, infer_like, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// The differentiated activation, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Act {
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    HardSwish,
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// Clip to `[min, max]`: gradient 1 strictly inside, 0 outside (as PyTorch at the bounds: 1).
    Clip {
        min: f32,
        max: f32,
    },
}

impl Act {
    /// `f'(x)`.
    pub fn derivative(&self, x: f32) -> f32 {
        match *self {
            Act::Relu => (x > 0.0) as u8 as f32,
            Act::LeakyRelu(a) => {
                if x >= 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Act::Sigmoid => {
                let s = 1.0 / (1.0 + (-x).exp());
                s * (1.0 - s)
            }
            Act::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Act::HardSwish => {
                if x < -3.0 {
                    0.0
                } else if x > 3.0 {
                    1.0
                } else {
                    (2.0 * x + 3.0) / 6.0
                }
            }
            Act::HardSigmoid { alpha, beta } => {
                let v = alpha * x + beta;
                if v > 0.0 && v < 1.0 {
                    alpha
                } else {
                    0.0
                }
            }
            Act::Clip { min, max } => (x >= min && x <= max) as u8 as f32,
        }
    }
}

impl Act {
    /// `dx = dy * f'(x)` element-wise.
    pub fn backward(&self, dy: &[f32], x: &[f32], dx: &mut [f32]) {
        let it = dx.iter_mut().zip(dy).zip(x);
        match self {
            Act::Relu => it.for_each(|((d, &g), &v)| *d = if v > 0.0 { g } else { 0.0 }),
            _ => it.for_each(|((d, &g), &v)| *d = g * self.derivative(v)),
        }
    }
}

/// ActivationGrad(dY, X) -> dX.
#[derive(Clone, Debug)]
pub struct ActivationGrad {
    pub act: Act,
}

impl Op for ActivationGrad {
    fn op_type(&self) -> &str {
        "ActivationGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("ActivationGrad", inputs, 0)?;
        let (x, sx) = f32_in("ActivationGrad", inputs, 1)?;
        if sdy != sx {
            bail!(
                "ActivationGrad ({:?}): dY {sdy:?} and X {sx:?} differ",
                self.act
            );
        }
        let mut dx = vec![0f32; x.len()];
        self.act.backward(dy, x, &mut dx);
        Ok(vec![out(sx, dx)?])
    }
}
