//! ThresholdedRelu: `y = x` for `x > alpha`, else 0.
//! Spec: <https://onnx.ai/onnx/operators/onnx__ThresholdedRelu.html>. Since opset 10.
//!
//! Attribute `alpha` (float, default 1.0). Input X: float type T; output Y: T, same shape.
//! Opset 22 adds bf16.

use super::common::map_float;
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct ThresholdedRelu {
    pub alpha: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    Ok(Box::new(ThresholdedRelu {
        alpha: ctx.attrs.float_or("alpha", 1.0)?,
    }))
}

impl ThresholdedRelu {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.alpha;
        map_float(
            "ThresholdedRelu",
            x,
            |v| if v > a { v } else { 0.0 },
            |v| if v > a as f64 { v } else { 0.0 },
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default().float("alpha", self.alpha).build()
    }
}

float_activation_op!(ThresholdedRelu, "ThresholdedRelu", 1);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn spec_example() {
        // test_thresholdedrelu_example: alpha 2 on [-1, 0, 1, 2, 3] (strict threshold).
        let y = eval1(
            &ThresholdedRelu { alpha: 2.0 },
            &[Some(Tensor::vec1(vec![-1f32, 0., 1., 2., 3.]))],
        )
        .unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), [0., 0., 0., 0., 3.]);
    }
}
