//! TensorScatter: <https://onnx.ai/onnx/operators/onnx__TensorScatter.html>
//!
//! A functional in-place KV-cache update (opset 24). Inputs `past_cache` (any type,
//! `[batch, D1, ..., max_seq (at axis), ..., Dn]`), `update` (same shape except `seq <= max_seq`
//! at `axis`) and optional `write_indices` (int64 `[batch]`, default zeros). Output
//! `present_cache`: `past_cache` with `update[.., s, ..]` written at sequence position
//! `write_indices[b] + s` of each batch row `b`. Attributes `axis` (default -2; not the batch
//! axis 0) and `mode` ("linear": positions must fit; "circular": taken modulo max_seq).

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::norm_axis;
use crate::ops::array::scatter_common::{scatter, Reduction};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::DType;

#[derive(Clone, Debug)]
pub struct TensorScatter {
    pub axis: i64,
    pub circular: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let axis = ctx.attrs.int_or("axis", -2)?;
    let circular = match ctx.attrs.string_or("mode", "linear")?.as_str() {
        "linear" => false,
        "circular" => true,
        m => bail!("TensorScatter: unknown mode '{m}' (expected linear or circular)"),
    };
    Ok(Box::new(TensorScatter { axis, circular }))
}

impl Op for TensorScatter {
    fn op_type(&self) -> &str {
        "TensorScatter"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (past, upd) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let (ps, us) = (past.shape(), upd.shape());
        let k = norm_axis("TensorScatter", self.axis, ps.len())?;
        if k == 0 {
            bail!("TensorScatter: axis {} is the batch axis", self.axis);
        }
        let fits = us.len() == ps.len()
            && us
                .iter()
                .zip(ps)
                .enumerate()
                .all(|(j, (u, p))| if j == k { u <= p } else { u == p });
        if !fits {
            bail!("TensorScatter: update {us:?} does not fit past_cache {ps:?} along axis {k}");
        }
        let batch = ps[0];
        let writes = match inputs.opt_tensor(2)? {
            Some(w) if w.dtype() != DType::I64 || w.shape() != [batch] => {
                bail!(
                    "TensorScatter: write_indices must be int64 of shape [{batch}], got {}{:?}",
                    w.dtype(),
                    w.shape()
                )
            }
            Some(w) => w.to_vec::<i64>()?,
            None => vec![0; batch],
        };
        let (max_seq, seq) = (ps[k], us[k]);
        let inner: usize = ps[k + 1..].iter().product();
        let per_batch: usize = ps[1..k].iter().product();
        let prefixes: usize = ps[..k].iter().product();
        let mut pairs = Vec::with_capacity(prefixes * seq);
        for p in 0..prefixes {
            let w = writes[p / per_batch.max(1)];
            for s in 0..seq {
                let pos = w.checked_add(s as i64).unwrap_or(i64::MAX);
                let pos = if self.circular && max_seq > 0 {
                    pos.rem_euclid(max_seq as i64)
                } else {
                    pos
                };
                if pos < 0 || pos >= max_seq as i64 {
                    bail!("TensorScatter: write index {w} + {s} is outside the cache length {max_seq}");
                }
                pairs.push(((p * max_seq + pos as usize) * inner, (p * seq + s) * inner));
            }
        }
        Ok(vec![scatter(
            "TensorScatter",
            past,
            upd,
            &pairs,
            inner,
            Reduction::None,
        )?
        .into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("axis", self.axis)
            .string("mode", if self.circular { "circular" } else { "linear" })
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    fn run(circular: bool, writes: Option<Vec<i64>>) -> Result<Vec<f32>> {
        // past [2, 4, 1], update [2, 2, 1] along axis -2; values checked by hand against the
        // pseudocode of the ONNX spec.
        let past = Tensor::from_vec(vec![2, 4, 1], vec![0f32; 8]).unwrap();
        let upd = Tensor::from_vec(vec![2, 2, 1], vec![1f32, 2., 3., 4.]).unwrap();
        let op = TensorScatter { axis: -2, circular };
        Ok(eval1(&op, &[Some(past), Some(upd), writes.map(Tensor::vec1)])?.to_vec::<f32>()?)
    }

    #[test]
    fn linear_and_circular_writes() {
        assert_eq!(
            run(false, None).unwrap(),
            vec![1., 2., 0., 0., 3., 4., 0., 0.]
        );
        assert_eq!(
            run(false, Some(vec![1, 2])).unwrap(),
            vec![0., 1., 2., 0., 0., 0., 3., 4.]
        );
        assert_eq!(
            run(true, Some(vec![3, 2])).unwrap(),
            vec![2., 0., 0., 1., 0., 0., 3., 4.]
        );
    }

    #[test]
    fn overflowing_linear_writes_are_errors() {
        assert!(run(false, Some(vec![3, 0])).is_err());
        assert!(run(false, Some(vec![-1, 0])).is_err());
        assert!(run(false, Some(vec![0])).is_err());
    }
}
