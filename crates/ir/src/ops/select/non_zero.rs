//! NonZero: the indices of the non-zero elements, one column per element.
//! Spec: <https://onnx.ai/onnx/operators/onnx__NonZero.html>
//!
//! No attributes. Input: `X` (any type). Output: `Y`, int64 of shape `[rank(X), nnz]`, the
//! indices in row-major order (like numpy.nonzero). A scalar gives shape `[0, nnz]`.
//! Non-zero means: != 0 for numbers (NaN counts), true for bool, non-empty for strings.
//! Opset differences: 13 adds bfloat16.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::shape::strides;
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct NonZero;

pub fn build(_ctx: &mut crate::registry::BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(NonZero))
}

/// Which elements of `x` are non-zero.
pub fn nonzero_mask(x: &Tensor) -> Result<Vec<bool>> {
    Ok(match x.dtype() {
        DType::String => x.as_strings()?.iter().map(|s| !s.is_empty()).collect(),
        DType::Bool => x.as_slice::<bool>()?.to_vec(),
        d if d.is_encoded() => bail!("NonZero: dtype {d} is not supported"),
        _ => x.to_f64_vec()?.iter().map(|&v| v != 0.0).collect(),
    })
}

impl Op for NonZero {
    fn op_type(&self) -> &str {
        "NonZero"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let shape = ctx
            .tensor(0)
            .rank()
            .map(|r| vec![Dim::Known(r), Dim::Unknown]);
        Ok(vec![ValueType::Tensor(crate::TensorType {
            dtype: Some(DType::I64),
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let mask = nonzero_mask(x)?;
        let hits: Vec<usize> = mask
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| i)
            .collect();
        let (r, n) = (x.rank(), hits.len());
        let st = strides(x.shape());
        let mut out = vec![0i64; r * n];
        for (j, &flat) in hits.iter().enumerate() {
            for d in 0..r {
                out[d * n + j] = ((flat / st[d]) % x.shape()[d]) as i64;
            }
        }
        Ok(vec![Tensor::from_vec(vec![r, n], out)?.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn spec_example() {
        // ONNX NonZero example: [[1, 0], [1, 1]] -> [[0, 1, 1], [0, 0, 1]].
        let x = Tensor::from_vec(vec![2, 2], vec![true, false, true, true]).unwrap();
        let y = eval1(&NonZero, &[Some(x)]).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1, 1, 0, 0, 1]);
    }

    #[test]
    fn scalars_nan_and_strings() {
        let y = eval1(&NonZero, &[Some(Tensor::scalar(3f32))]).unwrap();
        assert_eq!(y.shape(), &[0, 1]);
        let y = eval1(&NonZero, &[Some(Tensor::vec1(vec![0f32, f32::NAN, -0.0]))]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1]);
        let s = Tensor::from_strings(vec![2], vec![String::new(), "x".into()]).unwrap();
        assert_eq!(
            eval1(&NonZero, &[Some(s)])
                .unwrap()
                .as_slice::<i64>()
                .unwrap(),
            &[1]
        );
    }
}
