//! Elu: `y = x` for `x > 0`, else `alpha * (exp(x) - 1)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Elu.html>.
//!
//! Attribute `alpha` (float, default 1.0). Input X: float type T; output Y: T, same shape.
//! Opset differences: 1 had `consumed_inputs`; 22 adds bf16.

use super::common::{map_float, skip_consumed_inputs};
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct Elu {
    pub alpha: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    skip_consumed_inputs(ctx)?;
    Ok(Box::new(Elu {
        alpha: ctx.attrs.float_or("alpha", 1.0)?,
    }))
}

impl Elu {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.alpha;
        map_float(
            "Elu",
            x,
            |v| if v > 0.0 { v } else { a * v.exp_m1() },
            |v| if v > 0.0 { v } else { a as f64 * v.exp_m1() },
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default().float("alpha", self.alpha).build()
    }
}

float_activation_op!(Elu, "Elu", 3);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn spec_example() {
        // test_elu_example: alpha 2 on [-1, 0, 1] = [-1.2642411, 0, 1].
        let y = eval1(
            &Elu { alpha: 2.0 },
            &[Some(Tensor::vec1(vec![-1f32, 0., 1.]))],
        )
        .unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-1.2642411, 0., 1.],
            1e-6,
            1e-6,
        );
    }
}
