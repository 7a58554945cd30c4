//! Gelu: `y = 0.5 * x * (1 + erf(x / sqrt(2)))`, or with `approximate = "tanh"`,
//! `y = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Gelu.html>. Since opset 20.
//!
//! Attribute `approximate` (string, default "none"; or "tanh").
//! Input X: float type T; output Y: T, same shape.

use super::common::map_float;
use crate::attr::{AttrList, Attribute};
use crate::ops::math::unary::erf;
use crate::registry::BuildCtx;
use crate::{bail, float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct Gelu {
    pub tanh: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    let tanh = match ctx.attrs.string_or("approximate", "none")?.as_str() {
        "none" => false,
        "tanh" => true,
        a => bail!("Gelu: approximate must be 'none' or 'tanh', got '{a}'"),
    };
    Ok(Box::new(Gelu { tanh }))
}

fn gelu_erf(v: f64) -> f64 {
    0.5 * v * (1.0 + erf(v * std::f64::consts::FRAC_1_SQRT_2))
}

fn gelu_tanh(v: f64) -> f64 {
    let k = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh())
}

impl Gelu {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        if self.tanh {
            map_float("Gelu", x, |v| gelu_tanh(v as f64) as f32, gelu_tanh)
        } else {
            map_float("Gelu", x, |v| gelu_erf(v as f64) as f32, gelu_erf)
        }
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .string("approximate", if self.tanh { "tanh" } else { "none" })
            .build()
    }
}

float_activation_op!(Gelu, "Gelu", 8);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn exact_and_tanh() {
        // test_gelu_default_1 / test_gelu_tanh_1 on [-1, 0, 1].
        let x = || Some(Tensor::vec1(vec![-1f32, 0., 1.]));
        let y = eval1(&Gelu { tanh: false }, &[x()]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-0.15865526, 0., 0.8413447],
            1e-6,
            1e-6,
        );
        let y = eval1(&Gelu { tanh: true }, &[x()]).unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-0.15880801, 0., 0.841192],
            1e-6,
            1e-6,
        );
    }
}
