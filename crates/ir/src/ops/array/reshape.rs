//! Reshape: <https://onnx.ai/onnx/operators/onnx__Reshape.html>
//!
//! Inputs `data` (any type), `shape` (1-D int64). Output `reshaped`: `data`'s elements in a new
//! shape. In `shape`, -1 (at most once) is inferred from the element count, and 0 copies the
//! input dim at that position unless attribute `allowzero` (v14+, default 0) is 1, when 0 is
//! a literal zero-size dim (then -1 and 0 may not be combined).
//! Opset differences: v1 takes `shape` as an attribute; v5 makes it an input; v14 adds
//! `allowzero`; later versions only add dtypes.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{konst_ints, tensor_type, unknown_dims, vec_len};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::{Dim, SymShape};

#[derive(Clone, Debug)]
pub struct Reshape {
    pub allowzero: bool,
    /// The v1 `shape` attribute; `None` when the shape is the second input.
    pub shape: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let allowzero = ctx.attrs.int_or("allowzero", 0)? != 0;
    let shape = ctx.attrs.ints("shape")?;
    // v1's `consumed_inputs` is a legacy optimization hint with no effect on the result.
    ctx.attrs.take("consumed_inputs");
    if shape.is_none() && ctx.num_inputs < 2 {
        bail!("Reshape: the target shape is missing (needs input 'shape' or, before opset 5, attribute 'shape')");
    }
    Ok(Box::new(Reshape { allowzero, shape }))
}

/// Output shape of reshaping `input` (symbolic; `None` = unknown rank) to `shape`.
pub fn reshape_dims(input: Option<&[Dim]>, shape: &[i64], allowzero: bool) -> Result<SymShape> {
    let mut out = Vec::with_capacity(shape.len());
    let mut infer_at = None;
    for (i, &s) in shape.iter().enumerate() {
        out.push(match s {
            0 if !allowzero => match input {
                Some(d) if i < d.len() => d[i].clone(),
                Some(d) => bail!(
                    "Reshape: shape[{i}] = 0 copies a dim, but the input {d:?} has rank {}",
                    d.len()
                ),
                None => Dim::Unknown,
            },
            -1 if infer_at.is_some() => bail!("Reshape: shape {shape:?} has more than one -1"),
            -1 => {
                infer_at = Some(i);
                Dim::Unknown
            }
            s if s < 0 => bail!("Reshape: shape {shape:?} has invalid dim {s}"),
            s => Dim::Known(s as usize),
        });
    }
    if allowzero && infer_at.is_some() && shape.contains(&0) {
        bail!("Reshape: with allowzero=1, shape {shape:?} may not contain both 0 and -1");
    }
    let Some(input) = input else { return Ok(out) };
    let (mut in_known, mut in_syms) = (1u128, Vec::new());
    for d in input {
        match d {
            Dim::Known(k) => in_known = in_known.saturating_mul(*k as u128),
            Dim::Sym(s) => in_syms.push(s),
            Dim::Unknown => return Ok(out),
        }
    }
    let mut out_known = 1u128;
    for (i, d) in out.iter().enumerate() {
        match d {
            _ if Some(i) == infer_at => {}
            Dim::Known(k) => out_known = out_known.saturating_mul(*k as u128),
            Dim::Sym(s) => match in_syms.iter().position(|x| *x == s) {
                Some(p) => {
                    in_syms.remove(p);
                }
                None => return Ok(out),
            },
            Dim::Unknown => return Ok(out),
        }
    }
    let concrete = in_syms.is_empty() && out.iter().all(|d| !matches!(d, Dim::Sym(_)));
    match infer_at {
        Some(k) if in_syms.is_empty() => {
            if out_known == 0 || in_known % out_known != 0 {
                if concrete {
                    bail!("Reshape: cannot infer -1 in {shape:?} for input {input:?}");
                }
            } else {
                out[k] = Dim::Known((in_known / out_known) as usize);
            }
        }
        Some(k) if in_syms.len() == 1 && in_known == out_known => {
            out[k] = Dim::Sym(in_syms[0].clone())
        }
        None if in_syms.is_empty() && concrete && in_known != out_known => {
            bail!("Reshape: cannot reshape {input:?} ({in_known} elements) to {shape:?}")
        }
        _ => {}
    }
    Ok(out)
}

impl Reshape {
    fn target(&self, inputs: &Inputs) -> Result<Vec<i64>> {
        match &self.shape {
            Some(s) => Ok(s.clone()),
            None => {
                let t = inputs.tensor(1)?;
                if t.rank() != 1 {
                    bail!(
                        "Reshape: input 'shape' must be 1-D, got shape {:?}",
                        t.shape()
                    );
                }
                Ok(t.to_i64_vec()?)
            }
        }
    }
}

impl Op for Reshape {
    fn op_type(&self) -> &str {
        "Reshape"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match self.shape.clone().or_else(|| konst_ints(ctx, 1)) {
            Some(s) => Some(reshape_dims(x.shape.as_deref(), &s, self.allowzero)?),
            None => vec_len(ctx, 1).map(unknown_dims),
        };
        Ok(vec![tensor_type(x.dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let target = self.target(inputs)?;
        let dims: Vec<Dim> = x.shape().iter().map(|&d| Dim::Known(d)).collect();
        let out = reshape_dims(Some(&dims), &target, self.allowzero)?;
        let Some(shape) = edgeopt_tensor::shape::concrete(&out) else {
            bail!("Reshape: cannot reshape {:?} to {target:?}", x.shape());
        };
        Ok(vec![x.reshape(shape)?.into()])
    }

    fn cost(&self, _ctx: &CostCtx) -> Cost {
        Cost::default()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let allowzero = if self.allowzero { Some(1) } else { None };
        AttrList::default()
            .opt_int("allowzero", allowzero)
            .opt_ints("shape", self.shape.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::{DType, Tensor};

    fn run(shape: Vec<usize>, target: Vec<i64>, allowzero: bool) -> Result<Vec<usize>> {
        let x = Tensor::zeros(DType::F32, shape)?;
        let op = Reshape {
            allowzero,
            shape: None,
        };
        Ok(eval1(&op, &[Some(x), Some(Tensor::vec1(target))])?
            .shape()
            .to_vec())
    }

    #[test]
    fn zero_and_minus_one() {
        // Cases from the ONNX Reshape backend tests (input [2, 3, 4]).
        assert_eq!(
            run(vec![2, 3, 4], vec![2, 0, 4, 1], false).unwrap(),
            vec![2, 3, 4, 1]
        );
        assert_eq!(
            run(vec![2, 3, 4], vec![2, -1, 2], false).unwrap(),
            vec![2, 6, 2]
        );
        assert_eq!(
            run(vec![2, 3, 4], vec![-1, 2, 3, 4], false).unwrap(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            run(vec![2, 3, 4], vec![2, 0, 1, -1], false).unwrap(),
            vec![2, 3, 1, 4]
        );
        assert_eq!(
            run(vec![0, 3, 4], vec![3, 4, 0], true).unwrap(),
            vec![3, 4, 0]
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(run(vec![2, 3], vec![4, -1], false).is_err());
        assert!(run(vec![2, 3], vec![-1, -1], false).is_err());
        assert!(run(vec![2, 3], vec![7], false).is_err());
        assert!(run(vec![2, 3], vec![2, 0, 0], false).is_err());
        assert!(run(vec![0, 3], vec![0, -1], true).is_err());
    }

    #[test]
    fn symbolic_batch_is_kept() {
        let n = Dim::Sym("N".into());
        let input = [n.clone(), 3.into(), 4.into()];
        assert_eq!(
            reshape_dims(Some(&input), &[0, -1], false).unwrap(),
            vec![n.clone(), Dim::Known(12)]
        );
        assert_eq!(
            reshape_dims(Some(&input), &[-1, 12], false).unwrap(),
            vec![n.clone(), Dim::Known(12)]
        );
        assert_eq!(
            reshape_dims(Some(&input), &[-1, 6], false).unwrap(),
            vec![Dim::Unknown, Dim::Known(6)]
        );
    }

    #[test]
    fn infer_uses_constant_shape() {
        let x = Tensor::zeros(DType::I64, vec![2, 6]).unwrap();
        let t = infer(
            &Reshape {
                allowzero: false,
                shape: None,
            },
            &[Some(x), Some(Tensor::vec1(vec![3i64, -1]))],
            1,
        );
        assert_eq!(t.unwrap()[0], ValueType::known(DType::I64, &[3, 4]));
    }
}
