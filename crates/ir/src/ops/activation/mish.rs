//! Mish: `y = x * tanh(softplus(x))`, `softplus(x) = ln(1 + exp(x))`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Mish.html>. Since opset 18.
//!
//! No attributes. Input X: float type T; output Y: T, same shape. Opset 22 adds bf16.

use super::common::map_float;
use crate::attr::Attribute;
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct Mish;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    Ok(Box::new(Mish))
}

/// softplus without overflow: for large x, ln(1 + e^x) = x to working precision.
fn mish(v: f64) -> f64 {
    let sp = if v > 30.0 { v } else { v.exp().ln_1p() };
    v * sp.tanh()
}

impl Mish {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        map_float("Mish", x, |v| mish(v as f64) as f32, mish)
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        Vec::new()
    }
}

float_activation_op!(Mish, "Mish", 5);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn values() {
        // numpy: x * tanh(log1p(exp(x))) for [-2, 0, 1, 50].
        let y = eval1(&Mish, &[Some(Tensor::vec1(vec![-2f32, 0., 1., 50.]))]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-0.252_501_5, 0., 0.865_098_4, 50.],
            1e-6,
            1e-6,
        );
    }
}
