//! Celu: `y = max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Celu.html>. Since opset 12.
//!
//! Attribute `alpha` (float, default 1.0). Input X: float type T (the spec lists f32; the
//! test data also has f16 and bf16, so every float type works); output Y: T, same shape.

use super::common::map_float;
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{bail, float_activation_op, Result};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct Celu {
    pub alpha: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    let alpha = ctx.attrs.float_or("alpha", 1.0)?;
    if alpha == 0.0 {
        bail!("Celu: alpha must be nonzero");
    }
    Ok(Box::new(Celu { alpha }))
}

impl Celu {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.alpha;
        let a64 = a as f64;
        map_float(
            "Celu",
            x,
            |v| v.max(0.0) + (a * (v / a).exp_m1()).min(0.0),
            |v| v.max(0.0) + (a64 * (v / a64).exp_m1()).min(0.0),
        )
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default().float("alpha", self.alpha).build()
    }
}

float_activation_op!(Celu, "Celu", 4);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn matches_reference() {
        // onnx.reference _vcelu1, alpha 2: [-2, -0.5, 0, 1.5] -> [-1.2642411, -0.4423984, 0, 1.5].
        let y = eval1(
            &Celu { alpha: 2.0 },
            &[Some(Tensor::vec1(vec![-2f32, -0.5, 0., 1.5]))],
        )
        .unwrap();
        assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-1.2642411, -0.4423984, 0., 1.5],
            1e-6,
            1e-6,
        );
    }
}
