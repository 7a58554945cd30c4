//! HardSigmoid: `y = max(0, min(1, alpha * x + beta))`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__HardSigmoid.html>.
//!
//! Attributes `alpha` (float, default 0.2) and `beta` (float, default 0.5).
//! Input X: float type T; output Y: T, same shape.
//! Opset differences: 1 had `consumed_inputs`; 22 adds bf16.

use super::common::{map_float, skip_consumed_inputs};
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct HardSigmoid {
    pub alpha: f32,
    pub beta: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    skip_consumed_inputs(ctx)?;
    Ok(Box::new(HardSigmoid {
        alpha: ctx.attrs.float_or("alpha", 0.2)?,
        beta: ctx.attrs.float_or("beta", 0.5)?,
    }))
}

impl HardSigmoid {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (a, b) = (self.alpha, self.beta);
        let (a64, b64) = (a as f64, b as f64);
        map_float(
            "HardSigmoid",
            x,
            |v| (a * v + b).clamp(0.0, 1.0),
            |v| (a64 * v + b64).clamp(0.0, 1.0),
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .float("alpha", self.alpha)
            .float("beta", self.beta)
            .build()
    }
}

float_activation_op!(HardSigmoid, "HardSigmoid", 3);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn spec_example() {
        // test_hardsigmoid_example: alpha 0.5, beta 0.6 on [-1, 0, 1] = [0.1, 0.6, 1].
        let op = HardSigmoid {
            alpha: 0.5,
            beta: 0.6,
        };
        let y = eval1(&op, &[Some(Tensor::vec1(vec![-1f32, 0., 1.]))]).unwrap();
        assert_close(&y.to_vec::<f32>().unwrap(), &[0.1, 0.6, 1.], 1e-6, 0.);
    }
}
