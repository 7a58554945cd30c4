//! LeakyRelu: `y = x` for `x >= 0`, else `alpha * x`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__LeakyRelu.html>.
//!
//! Attribute `alpha` (float, default 0.01). Input X: float type T; output Y: T, same shape.
//! Opset differences: 1 had `consumed_inputs`; 16 adds bf16.

use super::common::{map_float, skip_consumed_inputs};
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct LeakyRelu {
    pub alpha: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    skip_consumed_inputs(ctx)?;
    Ok(Box::new(LeakyRelu {
        alpha: ctx.attrs.float_or("alpha", 0.01)?,
    }))
}

impl LeakyRelu {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.alpha;
        map_float(
            "LeakyRelu",
            x,
            |v| if v < 0.0 { a * v } else { v },
            |v| if v < 0.0 { a as f64 * v } else { v },
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default().float("alpha", self.alpha).build()
    }
}

float_activation_op!(LeakyRelu, "LeakyRelu", 1);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn spec_example() {
        // test_leakyrelu_example: alpha 0.1 on [-1, 0, 1] = [-0.1, 0, 1].
        let y = eval1(
            &LeakyRelu { alpha: 0.1 },
            &[Some(Tensor::vec1(vec![-1f32, 0., 1.]))],
        )
        .unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), [-0.1, 0., 1.]);
        assert!(eval1(
            &LeakyRelu { alpha: 0.1 },
            &[Some(Tensor::vec1(vec![-1i32]))]
        )
        .is_err());
    }
}
