//! IsNaN: which elements are NaN.
//! Spec: <https://onnx.ai/onnx/operators/onnx__IsNaN.html>.
//!
//! Input X: float type; output Y: bool, same shape. No attributes.
//! Opset differences: 9 has f16/f32/f64, 13 adds bf16, 20 adds the 8-bit floats (read straight
//! from their byte encodings).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{bf16, f16, DType, Tensor};

#[derive(Clone, Debug)]
pub struct IsNaN;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(IsNaN))
}

/// Element-wise float predicate over every float dtype, 8-bit encodings included.
pub(super) fn float_test(
    op: &str,
    x: &Tensor,
    f: impl Fn(f64) -> bool,
    byte: impl Fn(DType, u8) -> bool,
) -> Result<Tensor> {
    let y: Vec<bool> = match x.dtype() {
        DType::F32 => x.as_slice::<f32>()?.iter().map(|&v| f(v as f64)).collect(),
        DType::F64 => x.as_slice::<f64>()?.iter().map(|&v| f(v)).collect(),
        DType::F16 => x
            .as_slice::<f16>()?
            .iter()
            .map(|&v| f(v.to_f64()))
            .collect(),
        DType::BF16 => x
            .as_slice::<bf16>()?
            .iter()
            .map(|&v| f(v.to_f64()))
            .collect(),
        d if d.is_float() && d.is_encoded() => x.as_bytes().iter().map(|&b| byte(d, b)).collect(),
        d => bail!("{op}: input X must be a float tensor, got {d}"),
    };
    Ok(Tensor::from_vec(x.shape().to_vec(), y)?)
}

fn nan_byte(d: DType, b: u8) -> bool {
    match d {
        DType::F8E4M3FN => b & 0x7f == 0x7f,
        DType::F8E4M3FNUZ | DType::F8E5M2FNUZ => b == 0x80,
        DType::F8E5M2 => b & 0x7f > 0x7c,
        DType::F8E8M0 => b == 0xff,
        _ => false,
    }
}

impl Op for IsNaN {
    fn op_type(&self) -> &str {
        "IsNaN"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(DType::Bool),
            shape: ctx.input(0).shape().cloned(),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![float_test(
            "IsNaN",
            inputs.tensor(0)?,
            f64::is_nan,
            nan_byte,
        )?
        .into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn finds_nans() {
        let x = Tensor::vec1(vec![3.0f32, f32::NAN, f32::INFINITY, -f32::NAN]);
        assert_eq!(
            eval1(&IsNaN, &[Some(x)]).unwrap().to_vec::<bool>().unwrap(),
            [false, true, false, true]
        );
        let x = Tensor::vec1(vec![f16::NAN, f16::ONE]);
        assert_eq!(
            eval1(&IsNaN, &[Some(x)]).unwrap().to_vec::<bool>().unwrap(),
            [true, false]
        );
        let x =
            Tensor::from_bytes(DType::F8E5M2, vec![3], vec![0x7cu8, 0x7d, 0x3c].into()).unwrap();
        assert_eq!(
            eval1(&IsNaN, &[Some(x)]).unwrap().to_vec::<bool>().unwrap(),
            [false, true, false]
        );
        assert!(eval1(&IsNaN, &[Some(Tensor::vec1(vec![1i32]))]).is_err());
    }
}
