//! EyeLike: a 2-D tensor shaped like the input with ones on one diagonal and zeros elsewhere.
//! Spec: <https://onnx.ai/onnx/operators/onnx__EyeLike.html>
//!
//! Attributes: `dtype` (optional ONNX type code; defaults to the input's dtype), `k` (default
//! 0: the diagonal, `output[i, i + k] = 1`). Input: 2-D tensor (numeric or bool); only its shape
//! is used. Output: numeric or bool.
//! Opset differences: 22 adds bfloat16.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct EyeLike {
    pub dtype: Option<DType>,
    pub k: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let dtype = match ctx.attrs.int("dtype")? {
        None => None,
        Some(code) => match i32::try_from(code).ok().and_then(DType::from_onnx_code) {
            Some(d) if d != DType::String && !d.is_encoded() => Some(d),
            _ => bail!("EyeLike: dtype {code} is not a supported output type"),
        },
    };
    Ok(Box::new(EyeLike {
        dtype,
        k: ctx.attrs.int_or("k", 0)?,
    }))
}

impl Op for EyeLike {
    fn op_type(&self) -> &str {
        "EyeLike"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        if let Some(r) = x.rank() {
            if r != 2 {
                bail!("EyeLike: input must be 2-D, got rank {r}");
            }
        }
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: self.dtype.or(x.dtype),
            shape: x.shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let &[rows, cols] = x.shape() else {
            bail!("EyeLike: input must be 2-D, got shape {:?}", x.shape())
        };
        let n = checked_numel(&[rows, cols])?;
        let mut v = vec![0f64; n];
        for i in 0..rows {
            let j = i as i64 + self.k;
            if j >= 0 && (j as usize) < cols {
                v[i * cols + j as usize] = 1.0;
            }
        }
        let dt = self.dtype.unwrap_or(x.dtype());
        Ok(vec![Tensor::from_f64s(dt, vec![rows, cols], &v)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        Cost {
            bytes_read: 0,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default().opt_int("dtype", self.dtype.map(|d| d.onnx_code() as i64));
        if self.k != 0 {
            a = a.int("k", self.k);
        }
        a.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn off_diagonal_with_dtype() {
        // numpy.eye(3, 4, k=1, dtype=int32)
        let x = Tensor::zeros(DType::F32, vec![3, 4]).unwrap();
        let y = eval1(
            &EyeLike {
                dtype: Some(DType::I32),
                k: 1,
            },
            &[Some(x.clone())],
        )
        .unwrap();
        assert_eq!(
            y.as_slice::<i32>().unwrap(),
            &[0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        );
        let y = eval1(&EyeLike { dtype: None, k: -2 }, &[Some(x)]).unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[0., 0., 0., 0., 0., 0., 0., 0., 1., 0., 0., 0.]
        );
    }

    #[test]
    fn non_matrix_is_refused() {
        assert!(eval1(
            &EyeLike { dtype: None, k: 0 },
            &[Some(Tensor::vec1(vec![1f32]))]
        )
        .is_err());
    }
}
