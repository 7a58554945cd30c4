//! Split: <https://onnx.ai/onnx/operators/onnx__Split.html>
//!
//! Input `input` (any type) and optional `split` (1-D int64 chunk sizes, v13+); outputs
//! `outputs` (variadic): consecutive chunks along attribute `axis` (default 0).
//! Without `split` the dim is cut into as many equal chunks as there are outputs (or
//! attribute `num_outputs`, v18+); when it does not divide, chunks have size ceil(dim / n)
//! and the last one is smaller.
//! Opset differences: v1 takes `split` as attribute or second input; v2/v11 as attribute
//! (v11 adds negative axes); v13 as input; v18 adds `num_outputs`.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{konst_ints, norm_axis, tensor_type, ElemBuf};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct Split {
    pub axis: i64,
    /// The pre-v13 `split` attribute.
    pub split: Option<Vec<i64>>,
    pub num_outputs: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let axis = ctx.attrs.int_or("axis", 0)?;
    let split = ctx.attrs.ints("split")?;
    let num_outputs = ctx.attrs.int("num_outputs")?;
    if let Some(n) = num_outputs {
        if n < 1 || n as usize != ctx.num_outputs {
            bail!(
                "Split: num_outputs = {n} but the node has {} outputs",
                ctx.num_outputs
            );
        }
    }
    Ok(Box::new(Split {
        axis,
        split,
        num_outputs,
    }))
}

/// Chunk sizes for a dim of size `dim` cut into `n` pieces (the last may be smaller).
pub fn equal_chunks(dim: usize, n: usize) -> Vec<usize> {
    let n = n.max(1);
    let chunk = dim.div_ceil(n);
    (0..n)
        .map(|i| chunk.min(dim.saturating_sub(i * chunk)))
        .collect()
}

impl Split {
    /// Checks explicit chunk sizes against the dim (when known) and output count.
    fn check(&self, split: &[i64], dim: Option<usize>, outputs: usize) -> Result<Vec<usize>> {
        if split.len() != outputs || split.iter().any(|&s| s < 0) {
            bail!("Split: split {split:?} must have one non-negative size per output ({outputs})");
        }
        let sizes: Vec<usize> = split.iter().map(|&s| s as usize).collect();
        if let Some(d) = dim {
            if sizes.iter().sum::<usize>() != d {
                bail!("Split: split {split:?} does not add up to the dim being split ({d})");
            }
        }
        Ok(sizes)
    }
}

impl Op for Split {
    fn op_type(&self) -> &str {
        "Split"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let n = ctx.num_outputs;
        let Some(shape) = &x.shape else {
            return Ok(vec![tensor_type(x.dtype, None); n]);
        };
        let k = norm_axis("Split", self.axis, shape.len())?;
        let dim = shape[k].known();
        let sizes = match (self.split.clone().or_else(|| konst_ints(ctx, 1)), dim) {
            (Some(s), _) => Some(self.check(&s, dim, n)?),
            (None, Some(d)) if ctx.input(1) == &ValueType::Unknown => Some(equal_chunks(d, n)),
            _ => None,
        };
        Ok((0..n)
            .map(|i| {
                let mut s = shape.clone();
                s[k] = sizes
                    .as_ref()
                    .map(|z| Dim::Known(z[i]))
                    .unwrap_or(Dim::Unknown);
                tensor_type(x.dtype, Some(s))
            })
            .collect())
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let k = norm_axis("Split", self.axis, x.rank())?;
        let dim = x.shape()[k];
        let n = ctx.num_outputs;
        let sizes = match (&self.split, inputs.opt_tensor(1)?) {
            (Some(s), _) => self.check(s, Some(dim), n)?,
            (None, Some(t)) => self.check(&t.to_i64_vec()?, Some(dim), n)?,
            (None, None) => equal_chunks(dim, n),
        };
        let outer: usize = x.shape()[..k].iter().product();
        let inner: usize = x.shape()[k + 1..].iter().product();
        let mut outs = Vec::with_capacity(n);
        let mut start = 0;
        for &size in &sizes {
            let mut shape = x.shape().to_vec();
            shape[k] = size;
            let mut buf = ElemBuf::new(x.dtype(), checked_numel(&shape)?);
            for o in 0..outer {
                buf.extend(x, (o * dim + start) * inner, size * inner);
            }
            outs.push(buf.finish(shape)?.into());
            start += size;
        }
        Ok(outs)
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("axis", self.axis)
            .opt_ints("split", self.split.as_deref())
            .opt_int("num_outputs", self.num_outputs)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval;
    use edgeopt_tensor::Tensor;

    fn run(op: &Split, x: Tensor, split: Option<Vec<i64>>, n: usize) -> Result<Vec<Vec<f32>>> {
        let outs = eval(op, &[Some(x), split.map(Tensor::vec1)], n)?;
        Ok(outs
            .iter()
            .map(|v| v.as_tensor().unwrap().to_vec::<f32>().unwrap())
            .collect())
    }

    fn op(axis: i64) -> Split {
        Split {
            axis,
            split: None,
            num_outputs: None,
        }
    }

    #[test]
    fn equal_variable_and_uneven_splits() {
        // From the ONNX Split backend tests.
        let x = Tensor::vec1(vec![1f32, 2., 3., 4., 5., 6.]);
        assert_eq!(
            run(&op(0), x.clone(), None, 3).unwrap(),
            vec![vec![1., 2.], vec![3., 4.], vec![5., 6.]]
        );
        assert_eq!(
            run(&op(0), x.clone(), Some(vec![2, 4]), 2).unwrap(),
            vec![vec![1., 2.], vec![3., 4., 5., 6.]]
        );
        let x7 = Tensor::vec1(vec![1f32, 2., 3., 4., 5., 6., 7.]);
        let uneven = Split {
            axis: 0,
            split: None,
            num_outputs: Some(4),
        };
        let got = run(&uneven, x7, None, 4).unwrap();
        assert_eq!(
            got,
            vec![vec![1., 2.], vec![3., 4.], vec![5., 6.], vec![7.]]
        );
        assert_eq!(
            run(&op(0), x, Some(vec![0, 6, 0]), 3).unwrap()[0],
            Vec::<f32>::new()
        );
    }

    #[test]
    fn splits_inner_axes() {
        let x = Tensor::from_vec(vec![2, 4], (1..=8).map(|v| v as f32).collect()).unwrap();
        let got = run(&op(-1), x, None, 2).unwrap();
        assert_eq!(got, vec![vec![1., 2., 5., 6.], vec![3., 4., 7., 8.]]);
        assert_eq!(equal_chunks(5, 4), vec![2, 2, 1, 0]);
    }

    #[test]
    fn bad_split_sizes_are_errors() {
        let x = Tensor::vec1(vec![1f32, 2., 3.]);
        assert!(run(&op(0), x.clone(), Some(vec![1, 1]), 2).is_err());
        assert!(run(&op(0), x.clone(), Some(vec![4, -1]), 2).is_err());
        assert!(run(&op(0), x, Some(vec![3]), 2).is_err());
    }
}
