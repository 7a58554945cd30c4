//! HardSwish: `y = x * max(0, min(1, x / 6 + 0.5))`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__HardSwish.html>. Since opset 14.
//!
//! No attributes. Input X: float type T; output Y: T, same shape. Opset 22 adds bf16.

use super::common::map_float;
use crate::attr::Attribute;
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct HardSwish;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    Ok(Box::new(HardSwish))
}

impl HardSwish {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        map_float(
            "HardSwish",
            x,
            |v| v * (v / 6.0 + 0.5).clamp(0.0, 1.0),
            |v| v * (v / 6.0 + 0.5).clamp(0.0, 1.0),
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        Vec::new()
    }
}

float_activation_op!(HardSwish, "HardSwish", 4);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn values() {
        // x * hardsigmoid(x; 1/6, 0.5): [-4, -1, 0, 1, 4] -> [0, -1/3, 0, 2/3, 4].
        let y = eval1(
            &HardSwish,
            &[Some(Tensor::vec1(vec![-4f32, -1., 0., 1., 4.]))],
        )
        .unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[0., -1. / 3., 0., 2. / 3., 4.],
            1e-6,
            0.,
        );
    }
}
