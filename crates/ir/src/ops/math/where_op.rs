//! Where: picks from X where the condition holds, else from Y, all three broadcast.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Where.html>.
//!
//! Inputs condition (bool), X, Y (same type T, any type including strings); output: T.
//! Opset differences: 9 introduces it; 16 adds bf16 (we take every dtype).

use super::common::{common_dtype, zip3};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::BuildCtx;
use crate::{bail, dispatch_pod, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Elem, Tensor};

#[derive(Clone, Debug)]
pub struct Where;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Where))
}

fn select<T: Elem + bytemuck::NoUninit>(c: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let (shape, v) = zip3(
        (c.as_slice::<bool>()?, c.shape()),
        (x.as_slice::<T>()?, x.shape()),
        (y.as_slice::<T>()?, y.shape()),
        |&c, &a, &b| if c { a } else { b },
    )?;
    Ok(Tensor::from_vec(shape, v)?)
}

impl Op for Where {
    fn op_type(&self) -> &str {
        "Where"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        if let Some(d) = ctx.input(0).dtype().filter(|&d| d != DType::Bool) {
            bail!("Where: condition must be bool, got {d}");
        }
        let dtype = common_dtype("Where", &[ctx.input(1), ctx.input(2)])?;
        let shape = infer_broadcast(&ctx.inputs[..ctx.inputs.len().min(3)], None)?
            .shape()
            .cloned();
        Ok(vec![ValueType::Tensor(TensorType { dtype, shape })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (c, x, y) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        if c.dtype() != DType::Bool {
            bail!("Where: condition must be bool, got {}", c.dtype());
        }
        if x.dtype() != y.dtype() {
            bail!(
                "Where: X and Y must share a dtype, got {} and {}",
                x.dtype(),
                y.dtype()
            );
        }
        let out = if x.dtype() == DType::String {
            let (shape, v) = zip3(
                (c.as_slice::<bool>()?, c.shape()),
                (x.as_strings()?, x.shape()),
                (y.as_strings()?, y.shape()),
                |&c, a, b| if c { a.clone() } else { b.clone() },
            )?;
            Tensor::from_strings(shape, v)?
        } else if x.dtype().is_encoded() {
            // One byte per element, whatever the encoding: select the bytes.
            let (shape, v) = zip3(
                (c.as_slice::<bool>()?, c.shape()),
                (x.as_bytes(), x.shape()),
                (y.as_bytes(), y.shape()),
                |&c, &a, &b| if c { a } else { b },
            )?;
            Tensor::from_bytes(x.dtype(), shape, v.into())?
        } else {
            dispatch_pod!(x.dtype(), T => select::<T>(c, x, y)?)
        };
        Ok(vec![out.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn spec_example_and_broadcast() {
        // test_where_example: [[1,0],[1,1]] ? [[1,2],[3,4]] : [[9,8],[7,6]] = [[1,8],[3,4]].
        let c = Tensor::from_vec(vec![2, 2], vec![true, false, true, true]).unwrap();
        let x = Tensor::from_vec(vec![2, 2], vec![1f32, 2., 3., 4.]).unwrap();
        let y = Tensor::from_vec(vec![2, 2], vec![9f32, 8., 7., 6.]).unwrap();
        let out = eval1(&Where, &[Some(c), Some(x), Some(y)]).unwrap();
        assert_eq!(out.to_vec::<f32>().unwrap(), [1., 8., 3., 4.]);
        // test_where_long_example broadcasting: cond [2,1], x [2], y scalar.
        let c = Tensor::from_vec(vec![2, 1], vec![true, false]).unwrap();
        let out = eval1(
            &Where,
            &[
                Some(c),
                Some(Tensor::vec1(vec![1i64, 2])),
                Some(Tensor::scalar(0i64)),
            ],
        )
        .unwrap();
        assert_eq!(
            (out.shape(), out.to_vec::<i64>().unwrap()),
            (&[2usize, 2][..], vec![1, 2, 0, 0])
        );
    }

    #[test]
    fn strings_and_errors() {
        let s = |v: &[&str]| {
            Tensor::from_strings(vec![v.len()], v.iter().map(|s| s.to_string()).collect()).unwrap()
        };
        let out = eval1(
            &Where,
            &[
                Some(Tensor::vec1(vec![true, false])),
                Some(s(&["a", "b"])),
                Some(s(&["c", "d"])),
            ],
        );
        assert_eq!(out.unwrap().as_strings().unwrap(), ["a", "d"]);
        let bad = eval1(
            &Where,
            &[
                Some(Tensor::vec1(vec![1u8])),
                Some(s(&["a"])),
                Some(s(&["b"])),
            ],
        );
        assert!(bad.is_err());
    }
}
