//! IsInf: which elements are infinite.
//! Spec: <https://onnx.ai/onnx/operators/onnx__IsInf.html>.
//!
//! Attributes `detect_negative`, `detect_positive` (int, default 1): which infinities count.
//! Input X: float type; output Y: bool, same shape.
//! Opset differences: 10 has f32/f64, 20 adds f16, bf16 and the 8-bit floats.

use super::is_nan::float_test;
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{Result, TensorType, Value, ValueType};
use edgeopt_tensor::DType;

#[derive(Clone, Debug)]
pub struct IsInf {
    pub detect_negative: bool,
    pub detect_positive: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(IsInf {
        detect_negative: ctx.attrs.int_or("detect_negative", 1)? != 0,
        detect_positive: ctx.attrs.int_or("detect_positive", 1)? != 0,
    }))
}

impl Op for IsInf {
    fn op_type(&self) -> &str {
        "IsInf"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(DType::Bool),
            shape: ctx.input(0).shape().cloned(),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (neg, pos) = (self.detect_negative, self.detect_positive);
        let f = |v: f64| v.is_infinite() && if v > 0.0 { pos } else { neg };
        // Only e5m2 has infinities among the 8-bit floats: 0x7c and 0xfc.
        let byte =
            |d: DType, b: u8| d == DType::F8E5M2 && ((b == 0x7c && pos) || (b == 0xfc && neg));
        Ok(vec![float_test("IsInf", inputs.tensor(0)?, f, byte)?.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("detect_negative", self.detect_negative as i64)
            .int("detect_positive", self.detect_positive as i64)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    #[test]
    fn detects_requested_signs() {
        // test_isinf, test_isinf_negative, test_isinf_positive inputs.
        let x = || {
            Some(Tensor::vec1(vec![
                -1.2f32,
                f32::NAN,
                f32::INFINITY,
                2.8,
                f32::NEG_INFINITY,
                f32::INFINITY,
            ]))
        };
        let run = |n, p| {
            let op = IsInf {
                detect_negative: n,
                detect_positive: p,
            };
            eval1(&op, &[x()]).unwrap().to_vec::<bool>().unwrap()
        };
        assert_eq!(run(true, true), [false, false, true, false, true, true]);
        assert_eq!(run(true, false), [false, false, false, false, true, false]);
        assert_eq!(run(false, true), [false, false, true, false, false, true]);
        assert_eq!(run(false, false), [false; 6]);
    }
}
