//! Transpose: <https://onnx.ai/onnx/operators/onnx__Transpose.html>
//!
//! Input `data` (any type); output `transposed`, whose dim `i` is input dim `perm[i]`.
//! Attribute `perm` (ints): a permutation of `0..rank`; default reverses the dims.
//! Opset differences: none beyond added dtypes (v1, v13, v21, v23).

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{strides, tensor_type, ElemBuf};
use crate::ops::util::for_each_index2;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;

#[derive(Clone, Debug)]
pub struct Transpose {
    pub perm: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Transpose {
        perm: ctx.attrs.ints("perm")?,
    }))
}

impl Transpose {
    /// The permutation for rank `r`, validated.
    pub fn perm_for(&self, r: usize) -> Result<Vec<usize>> {
        let Some(p) = &self.perm else {
            return Ok((0..r).rev().collect());
        };
        let mut seen = vec![false; r];
        if p.len() != r {
            bail!(
                "Transpose: perm {p:?} has {} entries but the input has rank {r}",
                p.len()
            );
        }
        for &a in p {
            if a < 0 || a as usize >= r || seen[a as usize] {
                bail!("Transpose: perm {p:?} is not a permutation of 0..{r}");
            }
            seen[a as usize] = true;
        }
        Ok(p.iter().map(|&a| a as usize).collect())
    }
}

impl Op for Transpose {
    fn op_type(&self) -> &str {
        "Transpose"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match &x.shape {
            Some(s) => Some(
                self.perm_for(s.len())?
                    .iter()
                    .map(|&p| s[p].clone())
                    .collect(),
            ),
            None => self
                .perm
                .as_ref()
                .map(|p| crate::ops::array::common::unknown_dims(p.len())),
        };
        Ok(vec![tensor_type(x.dtype, shape)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let perm = self.perm_for(x.rank())?;
        let in_strides = strides(x.shape());
        let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
        let src_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
        let mut buf = ElemBuf::new(x.dtype(), checked_numel(&shape)?);
        for_each_index2(&shape, &src_strides, &src_strides, |i, _| buf.push(x, i));
        Ok(vec![buf.finish(shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_ints("perm", self.perm.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    #[test]
    fn permutes_like_numpy() {
        // np.arange(24).reshape(2, 3, 4).transpose(1, 2, 0)[1, 2] == [6, 18].
        let x = Tensor::from_vec(vec![2, 3, 4], (0..24i32).collect()).unwrap();
        let y = eval1(
            &Transpose {
                perm: Some(vec![1, 2, 0]),
            },
            &[Some(x.clone())],
        )
        .unwrap();
        assert_eq!(y.shape(), &[3, 4, 2]);
        let v = y.as_slice::<i32>().unwrap();
        assert_eq!(&v[12..14], &[6, 18]);
        let y = eval1(&Transpose { perm: None }, &[Some(x)]).unwrap();
        assert_eq!(y.shape(), &[4, 3, 2]);
        assert_eq!(&y.as_slice::<i32>().unwrap()[..3], &[0, 12, 4]);
    }

    #[test]
    fn bad_perms_are_errors() {
        let x = Tensor::from_vec(vec![2, 3], (0..6i32).collect()).unwrap();
        for p in [vec![0], vec![0, 0], vec![0, 2], vec![-1, 0]] {
            assert!(eval1(&Transpose { perm: Some(p) }, &[Some(x.clone())]).is_err());
        }
    }
}
