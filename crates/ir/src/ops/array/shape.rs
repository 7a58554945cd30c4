//! Shape: <https://onnx.ai/onnx/operators/onnx__Shape.html>
//!
//! Input `data` (any type); output `shape`: 1-D int64 with `data`'s dims.
//! Attributes (v15+): `start` (default 0) and `end` (default rank): the dims kept, numpy-style
//! with negatives counted from the back and both clamped into `0..=rank`.
//! Opset differences: v1/v13 have no attributes; later versions only add dtypes.
//! `fold_static` yields the value whenever the selected dims are known, so shape arithmetic
//! (Shape -> Gather -> Concat -> Reshape) folds to constants during inference.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Shape {
    pub start: i64,
    pub end: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Shape {
        start: ctx.attrs.int_or("start", 0)?,
        end: ctx.attrs.int("end")?,
    }))
}

impl Shape {
    /// The kept range of dims for an input of rank `r`.
    pub fn range(&self, r: usize) -> std::ops::Range<usize> {
        let clamp = |v: i64| {
            let v = if v < 0 { v + r as i64 } else { v };
            v.clamp(0, r as i64) as usize
        };
        let (s, e) = (clamp(self.start), clamp(self.end.unwrap_or(r as i64)));
        s..e.max(s)
    }
}

impl Op for Shape {
    fn op_type(&self) -> &str {
        "Shape"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let shape = ctx
            .tensor(0)
            .rank()
            .map(|r| vec![Dim::Known(self.range(r).len())]);
        Ok(vec![ValueType::Tensor(crate::TensorType {
            dtype: Some(DType::I64),
            shape,
        })])
    }

    fn fold_static(&self, ctx: &InferCtx) -> Option<Vec<Tensor>> {
        let shape = ctx.tensor(0).shape?;
        let dims: Option<Vec<i64>> = shape[self.range(shape.len())]
            .iter()
            .map(|d| d.known().map(|d| d as i64))
            .collect();
        Some(vec![Tensor::vec1(dims?)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let shape = match inputs.value(0) {
            Some(Value::Tensor(t)) => t.shape(),
            Some(v) => bail!("Shape: input 'data' must be a tensor, got a {}", v.kind()),
            None => bail!("Shape: required input 'data' is missing"),
        };
        let dims: Vec<i64> = shape[self.range(shape.len())]
            .iter()
            .map(|&d| d as i64)
            .collect();
        Ok(vec![Tensor::vec1(dims).into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        Cost {
            bytes_written: ctx.output_elems(0) * 8,
            ..Cost::default()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let start = if self.start != 0 {
            Some(self.start)
        } else {
            None
        };
        AttrList::default()
            .opt_int("start", start)
            .opt_int("end", self.end)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use crate::{InferCtx, TensorType};

    fn run(op: &Shape, shape: Vec<usize>) -> Vec<i64> {
        let x = Tensor::zeros(DType::F32, shape).unwrap();
        eval1(op, &[Some(x)]).unwrap().to_vec::<i64>().unwrap()
    }

    #[test]
    fn start_and_end_follow_the_spec_examples() {
        // From the ONNX Shape spec examples, input shape [2, 3, 4, 5].
        let s = |start, end| Shape { start, end };
        assert_eq!(run(&s(0, None), vec![2, 3, 4, 5]), vec![2, 3, 4, 5]);
        assert_eq!(run(&s(0, Some(-1)), vec![2, 3, 4, 5]), vec![2, 3, 4]);
        assert_eq!(run(&s(1, Some(2)), vec![2, 3, 4, 5]), vec![3]);
        assert_eq!(run(&s(-10, None), vec![2, 3, 4, 5]), vec![2, 3, 4, 5]);
        assert_eq!(run(&s(0, Some(10)), vec![2, 3, 4, 5]), vec![2, 3, 4, 5]);
        assert_eq!(run(&s(3, Some(1)), vec![2, 3, 4, 5]), Vec::<i64>::new());
    }

    #[test]
    fn folds_when_the_selected_dims_are_known() {
        let ty = vec![ValueType::Tensor(TensorType::new(
            DType::F32,
            vec![Dim::Sym("N".into()), 3.into(), 4.into()],
        ))];
        let ctx = InferCtx {
            opset: 15,
            inputs: &ty,
            consts: &[None],
            num_outputs: 1,
        };
        assert!(Shape {
            start: 0,
            end: None
        }
        .fold_static(&ctx)
        .is_none());
        let t = Shape {
            start: 1,
            end: None,
        }
        .fold_static(&ctx)
        .unwrap();
        assert_eq!(t[0].to_vec::<i64>().unwrap(), vec![3, 4]);
        let ty = Shape {
            start: -1,
            end: None,
        }
        .infer(&ctx)
        .unwrap();
        assert_eq!(ty[0], ValueType::known(DType::I64, &[1]));
    }
}
