//! Swish: `y = x * sigmoid(alpha * x)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Swish.html>. Since opset 24.
//!
//! Attribute `alpha` (float, default 1.0). Input X: float type T; output Y: T, same shape.

use super::common::map_float;
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct Swish {
    pub alpha: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    Ok(Box::new(Swish {
        alpha: ctx.attrs.float_or("alpha", 1.0)?,
    }))
}

impl Swish {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.alpha;
        map_float(
            "Swish",
            x,
            |v| v / (1.0 + (-a * v).exp()),
            |v| v / (1.0 + (-(a as f64) * v).exp()),
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default().float("alpha", self.alpha).build()
    }
}

float_activation_op!(Swish, "Swish", 4);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn values() {
        // x / (1 + exp(-alpha x)) with alpha 2 on [-1, 0, 3].
        let y = eval1(
            &Swish { alpha: 2.0 },
            &[Some(Tensor::vec1(vec![-1f32, 0., 3.]))],
        )
        .unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-0.119_202_92, 0., 2.992_582],
            1e-6,
            1e-6,
        );
    }
}
