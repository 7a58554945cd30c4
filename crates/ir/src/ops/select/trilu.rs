//! Trilu: keeps the upper or lower triangle of the last two dims, zeroing the rest.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Trilu.html>
//!
//! Attribute: `upper` (default 1). Inputs: `input` (rank >= 2, any type), optional `k` (int64
//! scalar, default 0: the diagonal offset). Output: same type and shape.
//! Upper keeps elements with `j - i >= k`, lower those with `j - i <= k`.
//! Zero is 0 / false / the empty string. Since opset 14 (no other versions).

use super::common::{take_from, zero_of};
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Trilu {
    pub upper: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Trilu {
        upper: ctx.attrs.int_or("upper", 1)? != 0,
    }))
}

impl Op for Trilu {
    fn op_type(&self) -> &str {
        "Trilu"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let k = match inputs.opt_tensor(1)? {
            None => 0,
            Some(t) => match t.to_i64_vec() {
                Ok(v) if v.len() == 1 => v[0],
                _ => bail!(
                    "Trilu: k must be one integer, got {} of shape {:?}",
                    t.dtype(),
                    t.shape()
                ),
            },
        };
        let r = x.rank();
        if r < 2 {
            bail!(
                "Trilu: input must have rank >= 2, got shape {:?}",
                x.shape()
            );
        }
        let (rows, cols) = (x.shape()[r - 2], x.shape()[r - 1]);
        let zero = zero_of(x.dtype())?;
        let picks: Vec<(usize, usize)> = (0..x.len())
            .map(|flat| {
                let (i, j) = (
                    ((flat / cols.max(1)) % rows.max(1)) as i64,
                    (flat % cols.max(1)) as i64,
                );
                let keep = if self.upper { j - i >= k } else { j - i <= k };
                if keep {
                    (0, flat)
                } else {
                    (1, 0)
                }
            })
            .collect();
        Ok(vec![
            take_from(&[x, &zero], &picks, x.shape().to_vec())?.into()
        ])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().int("upper", self.upper as i64).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    fn x() -> Tensor {
        Tensor::from_vec(vec![3, 4], (1..=12).collect::<Vec<i64>>()).unwrap()
    }

    #[test]
    fn upper_and_lower() {
        // numpy.triu(x, 1) and numpy.tril(x, -1) on arange(1, 13).reshape(3, 4).
        let y = eval1(
            &Trilu { upper: true },
            &[Some(x()), Some(Tensor::scalar(1i64))],
        )
        .unwrap();
        assert_eq!(
            y.as_slice::<i64>().unwrap(),
            &[0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12]
        );
        let y = eval1(
            &Trilu { upper: false },
            &[Some(x()), Some(Tensor::scalar(-1i64))],
        )
        .unwrap();
        assert_eq!(
            y.as_slice::<i64>().unwrap(),
            &[0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0]
        );
        let y = eval1(&Trilu { upper: false }, &[Some(x()), None]).unwrap();
        assert_eq!(
            y.as_slice::<i64>().unwrap(),
            &[1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0]
        );
    }

    #[test]
    fn rank_one_is_refused() {
        assert!(eval1(&Trilu { upper: true }, &[Some(Tensor::vec1(vec![1f32]))]).is_err());
    }
}
