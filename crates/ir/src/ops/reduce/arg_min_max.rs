//! ArgMax and ArgMin: the same search with the comparison flipped.
//! Spec: <https://onnx.ai/onnx/operators/onnx__ArgMax.html>,
//! <https://onnx.ai/onnx/operators/onnx__ArgMin.html>.
//!
//! Attributes: `axis` (default 0), `keepdims` (default 1), `select_last_index` (default 0, opset
//! 12+). Input: `data` (any numeric type). Output: `reduced` (int64 indices).
//! Opset differences: 11 allows negative axes; 12 adds `select_last_index`; 13 adds bfloat16.
//! Like numpy, a NaN wins over any number (the first NaN, or the last with select_last_index).

use super::common::{reduced_shape, Plan};
use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::{BuildCtx, Registry};
use crate::{bail, dispatch_num, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::{Dim, Numeric, Tensor};

#[derive(Clone, Debug)]
pub struct ArgMinMax {
    /// True for ArgMax, false for ArgMin.
    pub max: bool,
    pub axis: i64,
    pub keepdims: bool,
    pub select_last_index: bool,
}

fn build(ctx: &mut BuildCtx, max: bool) -> Result<Box<dyn Op>> {
    Ok(Box::new(ArgMinMax {
        max,
        axis: ctx.attrs.int_or("axis", 0)?,
        keepdims: ctx.attrs.int_or("keepdims", 1)? != 0,
        select_last_index: ctx.attrs.int_or("select_last_index", 0)? != 0,
    }))
}

impl ArgMinMax {
    fn name(&self) -> &'static str {
        if self.max {
            "ArgMax"
        } else {
            "ArgMin"
        }
    }

    /// Index of the winning element in each group.
    fn search<T: Numeric>(&self, x: &Tensor, plan: &Plan) -> Result<Vec<i64>> {
        let xs = x.as_slice::<T>()?;
        let (max, last) = (self.max, self.select_last_index);
        #[allow(clippy::eq_op)]
        let is_nan = |v: T| v != v;
        let better = |v: T, best: T| {
            if is_nan(best) {
                return last && is_nan(v);
            }
            if is_nan(v) {
                return true;
            }
            match (max, last) {
                (true, false) => v > best,
                (true, true) => v >= best,
                (false, false) => v < best,
                (false, true) => v <= best,
            }
        };
        Ok(plan.map(xs, |it| {
            let mut best: Option<(usize, T)> = None;
            for (i, v) in it.enumerate() {
                match best {
                    Some((_, b)) if !better(v, b) => {}
                    _ => best = Some((i, v)),
                }
            }
            best.map(|(i, _)| i as i64).unwrap_or(0)
        }))
    }
}

impl Op for ArgMinMax {
    fn op_type(&self) -> &str {
        self.name()
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match &x.shape {
            Some(s) => {
                let Ok(axis) = normalize_axis(self.axis, s.len()) else {
                    bail!(
                        "{}: axis {} is out of range for an input of rank {}",
                        self.name(),
                        self.axis,
                        s.len()
                    )
                };
                let mut out: Vec<Dim> = Vec::with_capacity(s.len());
                for (i, d) in s.iter().enumerate() {
                    if i != axis {
                        out.push(d.clone());
                    } else if self.keepdims {
                        out.push(Dim::Known(1));
                    }
                }
                Some(out)
            }
            None => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(edgeopt_tensor::DType::I64),
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let Ok(axis) = normalize_axis(self.axis, x.rank()) else {
            bail!(
                "{}: axis {} is out of range for input of shape {:?}",
                self.name(),
                self.axis,
                x.shape()
            )
        };
        if x.shape()[axis] == 0 {
            bail!(
                "{}: cannot search an empty axis {axis} of input shape {:?}",
                self.name(),
                x.shape()
            );
        }
        let plan = Plan::new(x.shape(), &[axis], self.keepdims)?;
        let idx = dispatch_num!(x.dtype(), T => self.search::<T>(x, &plan)?);
        let shape = reduced_shape(x.shape(), &[axis], self.keepdims);
        Ok(vec![Tensor::from_vec(shape, idx)?.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default()
            .int("axis", self.axis)
            .int("keepdims", self.keepdims as i64);
        if self.select_last_index {
            a = a.int("select_last_index", 1);
        }
        a.build()
    }
}

pub fn register(r: &mut Registry) {
    r.register("", "ArgMax", |c| build(c, true));
    r.register("", "ArgMin", |c| build(c, false));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn op(max: bool, axis: i64, keepdims: bool, last: bool) -> ArgMinMax {
        ArgMinMax {
            max,
            axis,
            keepdims,
            select_last_index: last,
        }
    }

    #[test]
    fn spec_examples() {
        // ONNX ArgMax/ArgMin examples: data [[2, 1], [3, 10]].
        let x = Tensor::from_vec(vec![2, 2], vec![2f32, 1., 3., 10.]).unwrap();
        let y = eval1(&op(true, 1, true, false), &[Some(x.clone())]).unwrap();
        assert_eq!(y.shape(), &[2, 1]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1]);
        let y = eval1(&op(false, 0, false, false), &[Some(x)]).unwrap();
        assert_eq!(y.shape(), &[2]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 0]);
    }

    #[test]
    fn ties_and_last_index() {
        // select_last_index example: data [[2, 2], [3, 10]] -> [[1], [1]] for ArgMax axis 1.
        let x = Tensor::from_vec(vec![2, 2], vec![2i32, 2, 3, 10]).unwrap();
        let y = eval1(&op(true, -1, true, true), &[Some(x.clone())]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 1]);
        let y = eval1(&op(true, -1, true, false), &[Some(x.clone())]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1]);
        let y = eval1(&op(false, 1, false, true), &[Some(x)]).unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 0]);
    }

    #[test]
    fn nan_wins_like_numpy() {
        let x = Tensor::vec1(vec![1f32, f32::NAN, 5., f32::NAN]);
        assert_eq!(
            eval1(&op(true, 0, false, false), &[Some(x.clone())])
                .unwrap()
                .as_slice::<i64>()
                .unwrap(),
            &[1]
        );
        assert_eq!(
            eval1(&op(false, 0, false, true), &[Some(x)])
                .unwrap()
                .as_slice::<i64>()
                .unwrap(),
            &[3]
        );
    }

    #[test]
    fn bad_axis_is_an_error() {
        let x = Tensor::vec1(vec![1f32]);
        assert!(eval1(&op(true, 2, true, false), &[Some(x)]).is_err());
    }
}
