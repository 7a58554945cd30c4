//! Selu: `y = gamma * x` for `x > 0`, else `gamma * alpha * (exp(x) - 1)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Selu.html>.
//!
//! Attributes `alpha` (float, default 1.67326319...) and `gamma` (float, default 1.05070102...).
//! Input X: float type T; output Y: T, same shape.
//! Opset differences: 1 had `consumed_inputs`; 22 adds bf16.

use super::common::{map_float, skip_consumed_inputs};
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

pub const DEFAULT_ALPHA: f32 = 1.673_263_2;
pub const DEFAULT_GAMMA: f32 = 1.050_701;

#[derive(Clone, Debug)]
pub struct Selu {
    pub alpha: f32,
    pub gamma: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    skip_consumed_inputs(ctx)?;
    Ok(Box::new(Selu {
        alpha: ctx.attrs.float_or("alpha", DEFAULT_ALPHA)?,
        gamma: ctx.attrs.float_or("gamma", DEFAULT_GAMMA)?,
    }))
}

impl Selu {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (a, g) = (self.alpha, self.gamma);
        let (a64, g64) = (a as f64, g as f64);
        map_float(
            "Selu",
            x,
            |v| g * if v > 0.0 { v } else { a * v.exp_m1() },
            |v| g64 * if v > 0.0 { v } else { a64 * v.exp_m1() },
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .float("alpha", self.alpha)
            .float("gamma", self.gamma)
            .build()
    }
}

float_activation_op!(Selu, "Selu", 3);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn spec_example() {
        // test_selu_example: alpha 2, gamma 3 on [-1, 0, 1] = [-3.7927232, 0, 3].
        let y = eval1(
            &Selu {
                alpha: 2.0,
                gamma: 3.0,
            },
            &[Some(Tensor::vec1(vec![-1f32, 0., 1.]))],
        )
        .unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-3.7927232, 0., 3.],
            1e-6,
            1e-6,
        );
    }
}
