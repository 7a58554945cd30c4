//! Tile: <https://onnx.ai/onnx/operators/onnx__Tile.html>
//!
//! Inputs `input` (any type) and `repeats` (1-D int64, one non-negative count per dim);
//! output `output`: `input` repeated `repeats[i]` times along each dim i (numpy.tile).
//! Opset differences: v1 took scalar inputs `tiles` and `axis` (repeat along one axis);
//! v6 takes `repeats`; v13 adds bfloat16. The v1 form is used when the model's opset is < 6.

use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{for_each_index, norm_axis, strides, tensor_type, ElemBuf};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Tile {
    /// Opset 1's (input, tiles, axis) signature.
    pub v1: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Tile {
        v1: ctx.opset < 6 && ctx.num_inputs == 3,
    }))
}

fn scalar(t: &Tensor, what: &str) -> Result<i64> {
    match t.to_i64_vec()?.as_slice() {
        [v] => Ok(*v),
        _ => bail!("Tile: '{what}' must be a scalar, got shape {:?}", t.shape()),
    }
}

impl Tile {
    /// Per-dim repeat counts for an input of rank `r`, validated.
    fn repeats(&self, r: usize, a: &Tensor, b: Option<&Tensor>) -> Result<Vec<usize>> {
        let reps = if self.v1 {
            let Some(b) = b else {
                bail!("Tile: opset-1 form needs inputs 'tiles' and 'axis'")
            };
            let mut reps = vec![1; r];
            reps[norm_axis("Tile", scalar(b, "axis")?, r)?] = scalar(a, "tiles")?;
            reps
        } else {
            a.to_i64_vec()?
        };
        if reps.len() != r || reps.iter().any(|&x| x < 0) {
            bail!("Tile: repeats {reps:?} must hold one non-negative count per input dim ({r})");
        }
        Ok(reps.into_iter().map(|x| x as usize).collect())
    }
}

impl Op for Tile {
    fn op_type(&self) -> &str {
        "Tile"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let Some(s) = &x.shape else {
            return Ok(vec![tensor_type(x.dtype, None)]);
        };
        let reps = match (self.v1, ctx.konst(1), ctx.konst(2)) {
            (false, Some(a), _) => Some(self.repeats(s.len(), a, None)?),
            (true, Some(a), Some(b)) => Some(self.repeats(s.len(), a, Some(b))?),
            _ => None,
        };
        let dims = s
            .iter()
            .enumerate()
            .map(|(i, d)| match (d, reps.as_ref().map(|r| r[i])) {
                (Dim::Known(k), Some(r)) => Dim::Known(k * r),
                (_, Some(0)) => Dim::Known(0),
                (d, Some(1)) => d.clone(),
                _ => Dim::Unknown,
            })
            .collect();
        Ok(vec![tensor_type(x.dtype, Some(dims))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let reps = self.repeats(x.rank(), inputs.tensor(1)?, inputs.opt_tensor(2)?)?;
        let shape: Vec<usize> = x
            .shape()
            .iter()
            .zip(&reps)
            .map(|(&d, &r)| d.saturating_mul(r))
            .collect();
        let mut buf = ElemBuf::new(x.dtype(), checked_numel(&shape)?);
        let Some((&last, outer)) = shape.split_last() else {
            return Ok(vec![x.clone().into()]);
        };
        let row = x.shape()[x.rank() - 1];
        let st = strides(x.shape());
        if last > 0 {
            // Each output row is the matching input row repeated `reps[last]` times.
            for_each_index(outer, |idx| {
                let off: usize = idx
                    .iter()
                    .zip(x.shape())
                    .zip(&st)
                    .map(|((&i, &d), &s)| (i % d) * s)
                    .sum();
                for _ in 0..reps[x.rank() - 1] {
                    buf.extend(x, off, row);
                }
            });
        }
        Ok(vec![buf.finish(shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, eval_opset, infer};
    use edgeopt_tensor::DType;

    #[test]
    fn tiles_like_numpy() {
        // np.tile([[0, 1], [2, 3]], (2, 2)) -> [[0,1,0,1],[2,3,2,3],[0,1,0,1],[2,3,2,3]]
        let x = Tensor::from_vec(vec![2, 2], vec![0i32, 1, 2, 3]).unwrap();
        let y = eval1(
            &Tile { v1: false },
            &[Some(x.clone()), Some(Tensor::vec1(vec![2i64, 2]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[4, 4]);
        assert_eq!(
            y.as_slice::<i32>().unwrap(),
            &[0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3]
        );
        let y = eval1(
            &Tile { v1: false },
            &[Some(x.clone()), Some(Tensor::vec1(vec![0i64, 3]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[0, 6]);
        let t = infer(
            &Tile { v1: false },
            &[Some(x), Some(Tensor::vec1(vec![3i64, 1]))],
            1,
        )
        .unwrap();
        assert_eq!(t[0], ValueType::known(DType::I32, &[6, 2]));
    }

    #[test]
    fn opset1_form_repeats_one_axis() {
        let x = Tensor::from_vec(vec![1, 2], vec![5f32, 6.]).unwrap();
        let args = [
            Some(x),
            Some(Tensor::scalar(3i64)),
            Some(Tensor::scalar(0i64)),
        ];
        let y = eval_opset(&Tile { v1: true }, &args, 1, 1).unwrap();
        assert_eq!(y[0].as_tensor().unwrap().shape(), &[3, 2]);
    }

    #[test]
    fn bad_repeats_are_errors() {
        let x = Tensor::vec1(vec![1f32]);
        assert!(eval1(
            &Tile { v1: false },
            &[Some(x.clone()), Some(Tensor::vec1(vec![-1i64]))]
        )
        .is_err());
        assert!(eval1(
            &Tile { v1: false },
            &[Some(x.clone()), Some(Tensor::vec1(vec![1i64, 1]))]
        )
        .is_err());
        assert!(eval1(
            &Tile { v1: false },
            &[Some(x), Some(Tensor::vec1(vec![1i64 << 40]))]
        )
        .is_err());
    }
}
