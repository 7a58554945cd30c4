//! MeanVarianceNormalization: `(X - mean) / (std + 1e-9)` with mean and (population) standard
//! deviation taken over `axes`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__MeanVarianceNormalization.html>
//!
//! Attributes: `axes` (default `[0, 2, 3]`; negative values count from the end).
//! Input/output: `X` -> `Y`, float types.
//! Opsets: 9, 13 (negative axes, bf16).

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::float_input;
use crate::registry::BuildCtx;
use crate::{Attribute, Result, Value, ValueType};
use edgeopt_tensor::shape::normalize_axis;
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct MeanVarianceNormalization {
    pub axes: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(MeanVarianceNormalization {
        axes: ctx.attrs.ints("axes")?,
    }))
}

/// For each element of `shape`, the index of its group when `reduced` axes are collapsed.
pub fn group_ids(shape: &[usize], reduced: &[bool]) -> (Vec<usize>, usize) {
    let kept: Vec<usize> = shape
        .iter()
        .zip(reduced)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let groups = kept.iter().product();
    let n: usize = shape.iter().product();
    let mut ids = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        ids.push(
            idx.iter()
                .zip(&kept)
                .fold(0, |acc, (&i, &k)| acc * k + if k == 1 { 0 } else { i }),
        );
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    (ids, groups)
}

impl Op for MeanVarianceNormalization {
    fn op_type(&self) -> &str {
        "MeanVarianceNormalization"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        float_input("MeanVarianceNormalization", x, 0)?;
        let shape = x.shape();
        let mut reduced = vec![false; shape.len()];
        for &a in self.axes.as_deref().unwrap_or(&[0, 2, 3]) {
            reduced[normalize_axis(a, shape.len())?] = true;
        }
        let (ids, groups) = group_ids(shape, &reduced);
        let xv = x.to_f64_vec()?;
        let (mut sum, mut count) = (vec![0.0; groups], vec![0usize; groups]);
        for (v, &g) in xv.iter().zip(&ids) {
            sum[g] += v;
            count[g] += 1;
        }
        let mean: Vec<f64> = sum
            .iter()
            .zip(&count)
            .map(|(s, &c)| s / c.max(1) as f64)
            .collect();
        let mut sq = vec![0.0; groups];
        for (v, &g) in xv.iter().zip(&ids) {
            sq[g] += (v - mean[g]) * (v - mean[g]);
        }
        let std: Vec<f64> = sq
            .iter()
            .zip(&count)
            .map(|(s, &c)| (s / c.max(1) as f64).sqrt())
            .collect();
        let y: Vec<f64> = xv
            .iter()
            .zip(&ids)
            .map(|(v, &g)| (v - mean[g]) / (std[g] + 1e-9))
            .collect();
        Ok(vec![
            Tensor::from_f64s(x.dtype(), shape.to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_ints("axes", self.axes.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn normalizes_over_axes() {
        // Axis 1 of [[1, 3], [2, 2]]: row 0 -> [-1, 1], row 1 has std 0 -> [0, 0].
        let x = Tensor::from_vec(vec![2, 2], vec![1f32, 3., 2., 2.]).unwrap();
        let op = MeanVarianceNormalization {
            axes: Some(vec![-1]),
        };
        let y = eval1(&op, &[Some(x.clone())]).unwrap();
        assert_close(y.as_slice::<f32>().unwrap(), &[-1., 1., 0., 0.], 1e-6, 1e-6);
        let (ids, n) = group_ids(&[2, 3, 2], &[true, false, true]);
        assert_eq!((n, &ids[..6]), (3, &[0, 0, 1, 1, 2, 2][..]));
        assert!(eval1(&MeanVarianceNormalization { axes: None }, &[Some(x)]).is_err());
    }
}
