//! Expand: <https://onnx.ai/onnx/operators/onnx__Expand.html>
//!
//! Inputs `input` (any type) and `shape` (1-D int64); output `output`: `input` broadcast
//! numpy-style (both ways) with `shape`, so the result may be larger than `shape` asks for
//! (a dim of 1 in `shape` keeps the input dim). No attributes.
//! Opset differences: v8 introduced; v13 adds bfloat16; later versions only add dtypes.

use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{dim_of, konst_ints, tensor_type, vec_len, ElemBuf};
use crate::ops::util::for_each_index2;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::{broadcast_shapes, broadcast_strides, broadcast_sym, checked_numel};
use edgeopt_tensor::{Dim, SymShape};

#[derive(Clone, Debug)]
pub struct Expand;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Expand))
}

/// Output dims when the target shape is unknown but its length `n` is: a known input dim other
/// than 1 survives broadcasting unchanged, everything else is unknown.
fn partial(input: &[Dim], n: usize) -> SymShape {
    let r = input.len().max(n);
    (0..r)
        .map(
            |i| match (i + input.len()).checked_sub(r).map(|j| &input[j]) {
                Some(Dim::Known(k)) if *k != 1 => Dim::Known(*k),
                _ => Dim::Unknown,
            },
        )
        .collect()
}

fn target(shape: &[i64]) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| dim_of("Expand", "input 'shape'", d))
        .collect()
}

impl Op for Expand {
    fn op_type(&self) -> &str {
        "Expand"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match (&x.shape, konst_ints(ctx, 1)) {
            (Some(s), Some(t)) => {
                let t: SymShape = target(&t)?.into_iter().map(Dim::Known).collect();
                match broadcast_sym(s, &t) {
                    Ok(out) => Some(out),
                    Err(_) => bail!("Expand: input {s:?} does not broadcast to shape {t:?}"),
                }
            }
            (Some(s), None) => vec_len(ctx, 1).map(|n| partial(s, n)),
            _ => None,
        };
        Ok(vec![tensor_type(x.dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, s) = (inputs.tensor(0)?, inputs.tensor(1)?);
        if s.rank() != 1 {
            bail!(
                "Expand: input 'shape' must be 1-D, got shape {:?}",
                s.shape()
            );
        }
        let t = target(&s.to_i64_vec()?)?;
        let Ok(out) = broadcast_shapes(x.shape(), &t) else {
            bail!(
                "Expand: input {:?} does not broadcast to shape {t:?}",
                x.shape()
            );
        };
        let st = broadcast_strides(x.shape(), &out);
        let mut buf = ElemBuf::new(x.dtype(), checked_numel(&out)?);
        for_each_index2(&out, &st, &st, |i, _| buf.push(x, i));
        Ok(vec![buf.finish(out)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::{DType, Tensor};

    #[test]
    fn broadcasts_both_ways() {
        // test_expand_dim_changed: [3, 1] to [2, 1, 6] gives [2, 3, 6].
        let x = Tensor::from_vec(vec![3, 1], vec![1f32, 2., 3.]).unwrap();
        let y = eval1(
            &Expand,
            &[Some(x.clone()), Some(Tensor::vec1(vec![2i64, 1, 6]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[2, 3, 6]);
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[..8],
            &[1., 1., 1., 1., 1., 1., 2., 2.]
        );
        // test_expand_dim_unchanged: [3, 1] to [3, 4].
        let y = eval1(
            &Expand,
            &[Some(x.clone()), Some(Tensor::vec1(vec![3i64, 4]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[3, 4]);
        let t = infer(&Expand, &[Some(x), Some(Tensor::vec1(vec![1i64, 1, 1]))], 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::F32, &[1, 3, 1]));
    }

    #[test]
    fn incompatible_or_negative_shapes_are_errors() {
        let x = Tensor::vec1(vec![1f32, 2., 3.]);
        assert!(eval1(&Expand, &[Some(x.clone()), Some(Tensor::vec1(vec![2i64]))]).is_err());
        assert!(eval1(&Expand, &[Some(x.clone()), Some(Tensor::vec1(vec![-1i64]))]).is_err());
        assert!(eval1(
            &Expand,
            &[Some(x), Some(Tensor::vec1(vec![1i64 << 40, 1 << 40]))]
        )
        .is_err());
    }

    #[test]
    fn unknown_target_keeps_non_unit_dims() {
        assert_eq!(
            partial(&[Dim::Known(3), Dim::Known(1)], 3),
            vec![Dim::Unknown, Dim::Known(3), Dim::Unknown]
        );
    }
}
