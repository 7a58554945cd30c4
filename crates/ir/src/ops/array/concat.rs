//! Concat: <https://onnx.ai/onnx/operators/onnx__Concat.html>
//!
//! Inputs `inputs` (variadic, same dtype and rank, equal dims except along `axis`); output
//! `concat_result`. Attribute `axis`: required since v4 (v1 defaults to 1); negative values
//! (v11+) count from the back. Later versions only add dtypes.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{norm_axis, tensor_type, ElemBuf};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, SymShape, Tensor};

#[derive(Clone, Debug)]
pub struct Concat {
    pub axis: i64,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let axis = match ctx.attrs.int("axis")? {
        Some(a) => a,
        None if ctx.opset < 4 => 1,
        None => bail!("Concat: required attribute 'axis' is missing"),
    };
    if ctx.num_inputs == 0 {
        bail!("Concat: needs at least one input");
    }
    Ok(Box::new(Concat { axis }))
}

/// Merges two dims that must be equal, keeping the more precise one.
fn unify(a: &Dim, b: &Dim, k: usize) -> Result<Dim> {
    Ok(match (a, b) {
        (Dim::Known(x), Dim::Known(y)) if x != y => {
            bail!("Concat: inputs differ in dim {k} ({x} vs {y})")
        }
        (Dim::Known(_), _) => a.clone(),
        (_, Dim::Known(_)) => b.clone(),
        (Dim::Sym(_), _) => a.clone(),
        _ => b.clone(),
    })
}

impl Op for Concat {
    fn op_type(&self) -> &str {
        "Concat"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let dtype = ctx.inputs.iter().find_map(|t| t.dtype());
        let mut out: Option<SymShape> = None;
        let mut axis_known = Some(0usize);
        let mut ranked = Vec::new();
        for t in ctx.inputs {
            match t.shape() {
                Some(s) => ranked.push(s),
                None => axis_known = None,
            }
        }
        for s in ranked {
            let k = norm_axis("Concat", self.axis, s.len())?;
            let acc = out.get_or_insert_with(|| s.clone());
            if acc.len() != s.len() {
                bail!(
                    "Concat: inputs have different ranks ({} vs {})",
                    acc.len(),
                    s.len()
                );
            }
            for (j, d) in s.iter().enumerate() {
                if j != k {
                    acc[j] = unify(&acc[j], d, j)?;
                }
            }
            axis_known = axis_known.zip(s[k].known()).map(|(a, b)| a + b);
        }
        if let Some(acc) = &mut out {
            let k = norm_axis("Concat", self.axis, acc.len())?;
            acc[k] = axis_known.map(Dim::Known).unwrap_or(Dim::Unknown);
        }
        Ok(vec![tensor_type(dtype, out)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let xs: Vec<&Tensor> = (0..inputs.len())
            .map(|i| inputs.tensor(i))
            .collect::<Result<_>>()?;
        let Some(first) = xs.first() else {
            bail!("Concat: needs at least one input")
        };
        let k = norm_axis("Concat", self.axis, first.rank())?;
        let mut shape = first.shape().to_vec();
        shape[k] = 0;
        for x in &xs {
            let same = x.rank() == first.rank()
                && x.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(j, (a, b))| j == k || a == b);
            if !same || x.dtype() != first.dtype() {
                bail!(
                    "Concat: input {}{:?} does not match {}{:?} along axis {k}",
                    x.dtype(),
                    x.shape(),
                    first.dtype(),
                    first.shape()
                );
            }
            shape[k] += x.shape()[k];
        }
        let outer: usize = shape[..k].iter().product();
        let mut buf = ElemBuf::new(first.dtype(), checked_numel(&shape)?);
        for o in 0..outer {
            for x in &xs {
                let block: usize = x.shape()[k..].iter().product();
                buf.extend(x, o * block, block);
            }
        }
        Ok(vec![buf.finish(shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().int("axis", self.axis).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::DType;

    #[test]
    fn concatenates_along_inner_and_outer_axes() {
        let a = Tensor::from_vec(vec![2, 2], vec![1i64, 2, 3, 4]).unwrap();
        let b = Tensor::from_vec(vec![2, 1], vec![5i64, 6]).unwrap();
        let y = eval1(&Concat { axis: -1 }, &[Some(a.clone()), Some(b)]).unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i64>().unwrap()),
            (&[2, 3][..], &[1, 2, 5, 3, 4, 6][..])
        );
        let y = eval1(&Concat { axis: 0 }, &[Some(a.clone()), Some(a)]).unwrap();
        assert_eq!(y.shape(), &[4, 2]);
        assert_eq!(&y.as_slice::<i64>().unwrap()[4..], &[1, 2, 3, 4]);
    }

    #[test]
    fn strings_and_empty_inputs() {
        let a = Tensor::from_strings(vec![1], vec!["x".into()]).unwrap();
        let e = Tensor::from_strings(vec![0], vec![]).unwrap();
        let y = eval1(&Concat { axis: 0 }, &[Some(e), Some(a.clone()), Some(a)]).unwrap();
        assert_eq!(y.as_strings().unwrap(), &["x".to_string(), "x".to_string()]);
    }

    #[test]
    fn mismatches_are_errors() {
        let a = Tensor::zeros(DType::F32, vec![2, 2]).unwrap();
        let b = Tensor::zeros(DType::F32, vec![3, 1]).unwrap();
        assert!(eval1(&Concat { axis: 1 }, &[Some(a.clone()), Some(b)]).is_err());
        assert!(eval1(&Concat { axis: 2 }, &[Some(a.clone())]).is_err());
        let c = Tensor::zeros(DType::I32, vec![2, 2]).unwrap();
        assert!(eval1(&Concat { axis: 0 }, &[Some(a), Some(c)]).is_err());
    }

    #[test]
    fn infers_shape_arithmetic_vectors() {
        let a = Tensor::vec1(vec![1i64, 2]);
        let b = Tensor::vec1(vec![3i64]);
        let t = infer(&Concat { axis: 0 }, &[Some(a), Some(b)], 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::I64, &[3]));
    }
}
