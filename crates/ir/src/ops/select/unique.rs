//! Unique: the distinct elements (or distinct slices along an axis) of a tensor.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Unique.html>
//!
//! Attributes: `axis` (optional; without it the input is flattened), `sorted` (default 1).
//! Input: `X` (any type). Outputs: `Y` (the unique elements or slices), `indices` (first
//! occurrence of each in X), `inverse_indices` (for each element or slice of X, its position in
//! Y), `counts` (occurrences of each); the last three are int64 and optional.
//! Sorted order is ascending (slices compare lexicographically, like numpy.unique); NaN sorts
//! last and all NaNs count as one value. Unsorted order is the order of first occurrence.
//! Opset differences: 28 adds bfloat16.

use super::common::take;
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, dispatch_pod, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::{DType, Dim, Elem, Tensor};
use std::cmp::Ordering;

#[derive(Clone, Debug)]
pub struct Unique {
    pub axis: Option<i64>,
    pub sorted: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Unique {
        axis: ctx.attrs.int("axis")?,
        sorted: ctx.attrs.int_or("sorted", 1)? != 0,
    }))
}

/// Element order with NaN above every number and equal to itself.
fn cmp_pod<T: Elem + PartialOrd>(a: T, b: T) -> Ordering {
    #[allow(clippy::eq_op)]
    match (a != a, b != b) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Layout of the slices being compared: slice `s`, element `(o, i)` is at `(o * n + s) * inner + i`.
struct Slices {
    outer: usize,
    n: usize,
    inner: usize,
}

impl Slices {
    fn cmp_with(&self, a: usize, b: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Ordering {
        for o in 0..self.outer {
            for i in 0..self.inner {
                let ord = cmp(
                    (o * self.n + a) * self.inner + i,
                    (o * self.n + b) * self.inner + i,
                );
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
        Ordering::Equal
    }

    /// Slice ids grouped by value: stably sorted, so each group lists its ids in input order.
    fn groups(&self, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<Vec<usize>> {
        let mut ids: Vec<usize> = (0..self.n).collect();
        ids.sort_by(|&a, &b| self.cmp_with(a, b, cmp));
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for id in ids {
            match groups.last_mut() {
                Some(g) if self.cmp_with(g[0], id, cmp) == Ordering::Equal => g.push(id),
                _ => groups.push(vec![id]),
            }
        }
        groups
    }
}

fn groups_of<T: Elem + PartialOrd>(x: &Tensor, sl: &Slices) -> Result<Vec<Vec<usize>>> {
    let xs = x.as_slice::<T>()?;
    Ok(sl.groups(&|a, b| cmp_pod(xs[a], xs[b])))
}

impl Op for Unique {
    fn op_type(&self) -> &str {
        "Unique"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let (y, inv) = match (self.axis, &x.shape) {
            (None, s) => {
                let numel = s
                    .as_deref()
                    .and_then(edgeopt_tensor::shape::concrete)
                    .map(|c| c.iter().product());
                (
                    Some(vec![Dim::Unknown]),
                    Some(vec![numel.map(Dim::Known).unwrap_or(Dim::Unknown)]),
                )
            }
            (Some(a), Some(s)) => {
                let Ok(ax) = normalize_axis(a, s.len()) else {
                    bail!(
                        "Unique: axis {a} is out of range for an input of rank {}",
                        s.len()
                    )
                };
                let mut y = s.clone();
                y[ax] = Dim::Unknown;
                (Some(y), Some(vec![s[ax].clone()]))
            }
            (Some(_), None) => (None, Some(vec![Dim::Unknown])),
        };
        let i64t = |shape| {
            ValueType::Tensor(TensorType {
                dtype: Some(DType::I64),
                shape,
            })
        };
        Ok(vec![
            ValueType::Tensor(TensorType {
                dtype: x.dtype,
                shape: y,
            }),
            i64t(Some(vec![Dim::Unknown])),
            i64t(inv),
            i64t(Some(vec![Dim::Unknown])),
        ])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let (sl, ax) = match self.axis {
            None => (
                Slices {
                    outer: 1,
                    n: x.len(),
                    inner: 1,
                },
                None,
            ),
            Some(a) => {
                let Ok(ax) = normalize_axis(a, x.rank()) else {
                    bail!(
                        "Unique: axis {a} is out of range for input of shape {:?}",
                        x.shape()
                    )
                };
                let s = x.shape();
                let sl = Slices {
                    outer: s[..ax].iter().product(),
                    n: s[ax],
                    inner: s[ax + 1..].iter().product(),
                };
                (sl, Some(ax))
            }
        };
        let mut groups = match x.dtype() {
            DType::String => {
                let xs = x.as_strings()?;
                sl.groups(&|a, b| xs[a].cmp(&xs[b]))
            }
            d => dispatch_pod!(d, T => groups_of::<T>(x, &sl)?),
        };
        if !self.sorted {
            groups.sort_by_key(|g| g[0]);
        }
        let first: Vec<usize> = groups.iter().map(|g| g[0]).collect();
        let mut inverse = vec![0i64; sl.n];
        for (u, g) in groups.iter().enumerate() {
            for &id in g {
                inverse[id] = u as i64;
            }
        }
        let u = groups.len();
        let y = match ax {
            None => take(x, &first, vec![u])?,
            Some(ax) => {
                let mut idx = Vec::with_capacity(sl.outer * u * sl.inner);
                for o in 0..sl.outer {
                    for &s in &first {
                        let base = (o * sl.n + s) * sl.inner;
                        idx.extend(base..base + sl.inner);
                    }
                }
                let mut shape = x.shape().to_vec();
                shape[ax] = u;
                take(x, &idx, shape)?
            }
        };
        let as_i64 = |v: Vec<i64>| -> Result<Value> { Ok(Tensor::vec1(v).into()) };
        Ok(vec![
            y.into(),
            as_i64(first.iter().map(|&f| f as i64).collect())?,
            as_i64(inverse)?,
            as_i64(groups.iter().map(|g| g.len() as i64).collect())?,
        ])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("axis", self.axis)
            .int("sorted", self.sorted as i64)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval;

    fn run(op: &Unique, x: Tensor) -> Vec<Tensor> {
        eval(op, &[Some(x)], 4)
            .unwrap()
            .into_iter()
            .map(|v| v.as_tensor().unwrap().clone())
            .collect()
    }

    #[test]
    fn spec_example_1_unsorted() {
        let out = run(
            &Unique {
                axis: None,
                sorted: false,
            },
            Tensor::vec1(vec![2f32, 1., 1., 3., 4., 3.]),
        );
        assert_eq!(out[0].as_slice::<f32>().unwrap(), &[2., 1., 3., 4.]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 1, 3, 4]);
        assert_eq!(out[2].as_slice::<i64>().unwrap(), &[0, 1, 1, 2, 3, 2]);
        assert_eq!(out[3].as_slice::<i64>().unwrap(), &[1, 2, 2, 1]);
    }

    #[test]
    fn spec_example_2_sorted_flattened() {
        let x = Tensor::from_vec(vec![2, 2], vec![1i32, 3, 2, 3]).unwrap();
        let out = run(
            &Unique {
                axis: None,
                sorted: true,
            },
            x,
        );
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[1, 2, 3]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 2, 1]);
        assert_eq!(out[2].as_slice::<i64>().unwrap(), &[0, 2, 1, 2]);
        assert_eq!(out[3].as_slice::<i64>().unwrap(), &[1, 1, 2]);
    }

    #[test]
    fn spec_example_4_axis_1() {
        let x = Tensor::from_vec(
            vec![2, 4, 2],
            vec![
                1f32, 1., 0., 1., 2., 1., 0., 1., 1., 1., 0., 1., 2., 1., 0., 1.,
            ],
        )
        .unwrap();
        let out = run(
            &Unique {
                axis: Some(1),
                sorted: true,
            },
            x,
        );
        assert_eq!(out[0].shape(), &[2, 3, 2]);
        assert_eq!(
            out[0].as_slice::<f32>().unwrap(),
            &[0., 1., 1., 1., 2., 1., 0., 1., 1., 1., 2., 1.]
        );
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 0, 2]);
        assert_eq!(out[2].as_slice::<i64>().unwrap(), &[1, 0, 2, 0]);
        assert_eq!(out[3].as_slice::<i64>().unwrap(), &[2, 1, 1]);
    }

    #[test]
    fn strings() {
        let x = Tensor::from_strings(vec![3], vec!["b".into(), "a".into(), "b".into()]).unwrap();
        let out = run(
            &Unique {
                axis: None,
                sorted: true,
            },
            x,
        );
        assert_eq!(
            out[0].as_strings().unwrap(),
            &["a".to_string(), "b".to_string()]
        );
        assert_eq!(out[3].as_slice::<i64>().unwrap(), &[1, 2]);
    }
}
