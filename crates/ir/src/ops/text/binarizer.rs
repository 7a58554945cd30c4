//! Binarizer (ai.onnx.ml): 1 where the input exceeds a threshold, else 0, in the input's type.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxml_Binarizer.html>
//!
//! Attributes: `threshold` (float, default 0). Input: X (float, double, int64, int32).
//! Output: Y, same type and shape. Opset 1 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Result, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct Binarizer {
    pub threshold: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Binarizer {
        threshold: ctx.attrs.float_or("threshold", 0.0)?,
    }))
}

impl Op for Binarizer {
    fn op_type(&self) -> &str {
        "Binarizer"
    }

    fn domain(&self) -> &str {
        "ai.onnx.ml"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        if !matches!(x.dtype(), DType::F32 | DType::F64 | DType::I64 | DType::I32) {
            bail!(
                "Binarizer: input must be float, double, int64 or int32, got {}",
                x.dtype()
            );
        }
        let th = self.threshold as f64;
        let y: Vec<f64> = x
            .to_f64_vec()?
            .into_iter()
            .map(|v| if v > th { 1.0 } else { 0.0 })
            .collect();
        Ok(vec![
            Tensor::from_f64s(x.dtype(), x.shape().to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .float("threshold", self.threshold)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn thresholds() {
        let y = eval1(
            &Binarizer { threshold: 1.0 },
            &[Some(Tensor::vec1(vec![1.76f32, 0.4, 1.0, -2.0]))],
        )
        .unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), vec![1., 0., 0., 0.]);
        let y = eval1(
            &Binarizer { threshold: 0.0 },
            &[Some(Tensor::vec1(vec![3i64, -1]))],
        )
        .unwrap();
        assert_eq!(y.to_vec::<i64>().unwrap(), vec![1, 0]);
    }
}
