//! StringConcat: element-wise concatenation of two string tensors, with numpy broadcasting.
//! Spec: <https://onnx.ai/onnx/operators/onnx__StringConcat.html>
//!
//! Inputs: `X`, `Y` (string tensors). Output: `Z`, the broadcast shape. No attributes.
//! Opset 20 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::{for_each_index2, infer_broadcast};
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::shape::{broadcast_shapes, broadcast_strides, checked_numel};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct StringConcat;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(StringConcat))
}

impl Op for StringConcat {
    fn op_type(&self) -> &str {
        "StringConcat"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_broadcast(ctx.inputs, Some(DType::String)).map(|t| vec![t])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, y) = (inputs.tensor(0)?, inputs.tensor(1)?);
        if x.dtype() != DType::String || y.dtype() != DType::String {
            bail!(
                "StringConcat: inputs must be strings, got {} and {}",
                x.dtype(),
                y.dtype()
            );
        }
        let out = broadcast_shapes(x.shape(), y.shape())?;
        let n = checked_numel(&out)?;
        let (a, b) = (x.as_strings()?, y.as_strings()?);
        let mut res = Vec::with_capacity(n);
        let (sa, sb) = (
            broadcast_strides(x.shape(), &out),
            broadcast_strides(y.shape(), &out),
        );
        for_each_index2(&out, &sa, &sb, |i, j| res.push(format!("{}{}", a[i], b[j])));
        Ok(vec![Tensor::from_strings(out, res)?.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn s(shape: Vec<usize>, v: &[&str]) -> Tensor {
        Tensor::from_strings(shape, v.iter().map(|x| x.to_string()).collect()).unwrap()
    }

    #[test]
    fn broadcasts_like_numpy() {
        // np.char.add([["a"],["b"]], ["1","2"]) = [["a1","a2"],["b1","b2"]].
        let z = eval1(
            &StringConcat,
            &[
                Some(s(vec![2, 1], &["a", "b"])),
                Some(s(vec![2], &["1", "2"])),
            ],
        )
        .unwrap();
        assert_eq!(z.shape(), &[2, 2]);
        assert_eq!(z.as_strings().unwrap(), &["a1", "a2", "b1", "b2"]);
        let z = eval1(
            &StringConcat,
            &[Some(s(vec![], &["é"])), Some(s(vec![], &["ü"]))],
        )
        .unwrap();
        assert_eq!(z.as_strings().unwrap(), &["éü"]);
        assert!(eval1(
            &StringConcat,
            &[
                Some(s(vec![2], &["a", "b"])),
                Some(s(vec![3], &["", "", ""]))
            ]
        )
        .is_err());
    }
}
