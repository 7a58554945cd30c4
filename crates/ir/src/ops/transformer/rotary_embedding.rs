//! RotaryEmbedding (opset 23): rotates pairs of features by position-dependent angles.
//! Spec: <https://onnx.ai/onnx/operators/onnx__RotaryEmbedding.html>
//!
//! Inputs: X, 4-D `(b, heads, s, head)` or 3-D `(b, s, heads * head)`; `cos_cache` and
//! `sin_cache`, `(max_pos, rot / 2)` indexed by the optional int64 `position_ids` `(b, s)`, or
//! `(b, s, rot / 2)` (also `(s, rot / 2)`) used directly without them.
//! Attributes: `interleaved` (pairs are `(x[2i], x[2i+1])` instead of `(x[i], x[i + rot/2])`),
//! `rotary_embedding_dim` (`rot`, default the head size: only the first `rot` features are
//! rotated), `num_heads` (required for 3-D X).
//! Output: Y, same shape as X: `(x1 cos - x2 sin, x1 sin + x2 cos)` for each pair.

use super::common::rounder;
use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct RotaryEmbedding {
    pub interleaved: bool,
    /// 0 means the whole head.
    pub rotary_embedding_dim: usize,
    /// 0 means unset (4-D input).
    pub num_heads: usize,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let nonneg = |v: i64, name: &str| -> Result<usize> {
        usize::try_from(v).map_err(|_| {
            crate::IrError::Op(format!("RotaryEmbedding: {name} must be >= 0, got {v}"))
        })
    };
    Ok(Box::new(RotaryEmbedding {
        interleaved: ctx.attrs.int_or("interleaved", 0)? != 0,
        rotary_embedding_dim: nonneg(
            ctx.attrs.int_or("rotary_embedding_dim", 0)?,
            "rotary_embedding_dim",
        )?,
        num_heads: nonneg(ctx.attrs.int_or("num_heads", 0)?, "num_heads")?,
    }))
}

/// Cos/sin values for every (batch, position) row: `rows[(b * s + i) * half + k]`.
fn gather_cache(
    c: &Tensor,
    pos: Option<&[i64]>,
    b: usize,
    s: usize,
    half: usize,
    name: &str,
) -> Result<Vec<f64>> {
    let v = c.to_f64_vec()?;
    let shape = c.shape();
    if shape.last() != Some(&half) {
        bail!("RotaryEmbedding: {name} {shape:?} must end in rotary_embedding_dim / 2 = {half}");
    }
    let mut out = Vec::with_capacity(b * s * half);
    for bi in 0..b {
        for i in 0..s {
            let row = match (pos, shape) {
                (Some(p), [max, _]) => {
                    let id = p[bi * s + i];
                    if id < 0 || id as usize >= *max {
                        bail!("RotaryEmbedding: position id {id} is outside {name} {shape:?}");
                    }
                    id as usize
                }
                (Some(_), _) => {
                    bail!("RotaryEmbedding: with position_ids, {name} must be 2-D, got {shape:?}")
                }
                (None, [cs, _]) if *cs == s => i,
                (None, [cb, cs, _]) if *cs == s && (*cb == b || *cb == 1) => {
                    (if *cb == 1 { 0 } else { bi }) * s + i
                }
                (None, _) => bail!(
                    "RotaryEmbedding: {name} {shape:?} does not match batch {b}, sequence {s}"
                ),
            };
            out.extend_from_slice(&v[row * half..(row + 1) * half]);
        }
    }
    Ok(out)
}

impl RotaryEmbedding {
    fn run(
        &self,
        x_t: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        pos: Option<&Tensor>,
    ) -> Result<Tensor> {
        let r = rounder("RotaryEmbedding", x_t.dtype())?;
        // Strides of (b, s, h, d) within X, whichever layout it has.
        let (b, s, h, d, st) = match *x_t.shape() {
            [b, h, s, d] => (b, s, h, d, [h * s * d, d, s * d]),
            [b, s, hidden] => {
                let h = self.num_heads;
                if h == 0 || hidden % h != 0 {
                    bail!(
                        "RotaryEmbedding: 3-D X {:?} needs num_heads dividing {hidden}, got {h}",
                        x_t.shape()
                    );
                }
                (b, s, h, hidden / h, [s * hidden, hidden, hidden / h])
            }
            _ => bail!(
                "RotaryEmbedding: X must be 3-D or 4-D, got {:?}",
                x_t.shape()
            ),
        };
        let rot = if self.rotary_embedding_dim == 0 {
            d
        } else {
            self.rotary_embedding_dim
        };
        if rot > d || rot % 2 != 0 {
            bail!("RotaryEmbedding: rotary_embedding_dim {rot} must be even and at most the head size {d}");
        }
        let half = rot / 2;
        let pos = match pos {
            Some(p) if p.shape() != [b, s] => {
                bail!(
                    "RotaryEmbedding: position_ids {:?} must be [batch, seq] = [{b}, {s}]",
                    p.shape()
                )
            }
            Some(p) => Some(p.to_i64_vec()?),
            None => None,
        };
        let cos = gather_cache(cos, pos.as_deref(), b, s, half, "cos_cache")?;
        let sin = gather_cache(sin, pos.as_deref(), b, s, half, "sin_cache")?;
        let x = x_t.to_f64_vec()?;
        let mut y = x.clone();
        for bi in 0..b {
            for i in 0..s {
                let cs = (bi * s + i) * half;
                for hh in 0..h {
                    let base = bi * st[0] + i * st[1] + hh * st[2];
                    for k in 0..half {
                        let (i1, i2) = if self.interleaved {
                            (2 * k, 2 * k + 1)
                        } else {
                            (k, k + half)
                        };
                        let (x1, x2) = (x[base + i1], x[base + i2]);
                        let (c, sn) = (cos[cs + k], sin[cs + k]);
                        y[base + i1] = r(r(c * x1) - r(sn * x2));
                        y[base + i2] = r(r(sn * x1) + r(c * x2));
                    }
                }
            }
        }
        Ok(Tensor::from_f64s(x_t.dtype(), x_t.shape().to_vec(), &y)?)
    }
}

impl Op for RotaryEmbedding {
    fn op_type(&self) -> &str {
        "RotaryEmbedding"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        if let Some(r) = ctx.tensor(0).rank() {
            if r != 3 && r != 4 {
                bail!("RotaryEmbedding: X must be 3-D or 4-D, got rank {r}");
            }
        }
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let y = self.run(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.tensor(2)?,
            inputs.opt_tensor(3)?,
        )?;
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // Four multiplies and two adds per rotated pair; bounded by one pair per two elements.
        ctx.elementwise(3)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let nz = |v: usize| if v != 0 { Some(v as i64) } else { None };
        AttrList::default()
            .opt_int("interleaved", if self.interleaved { Some(1) } else { None })
            .opt_int("rotary_embedding_dim", nz(self.rotary_embedding_dim))
            .opt_int("num_heads", nz(self.num_heads))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn op(interleaved: bool, rot: usize, heads: usize) -> RotaryEmbedding {
        RotaryEmbedding {
            interleaved,
            rotary_embedding_dim: rot,
            num_heads: heads,
        }
    }

    fn x(shape: &[usize]) -> Tensor {
        let n = shape.iter().product::<usize>();
        Tensor::from_vec(shape.to_vec(), (1..=n).map(|v| v as f32).collect()).unwrap()
    }

    /// A quarter turn (cos 0, sin 1) maps each pair (a, b) to (-b, a): hand-checked.
    #[test]
    fn quarter_turn_half_split_and_interleaved() {
        let cos = Tensor::from_vec(vec![2, 1], vec![1f32, 0.0]).unwrap();
        let sin = Tensor::from_vec(vec![2, 1], vec![0f32, 1.0]).unwrap();
        let pos = Tensor::from_vec(vec![1, 1], vec![1i64]).unwrap();
        let y = eval1(
            &op(false, 0, 0),
            &[
                Some(x(&[1, 1, 1, 2])),
                Some(cos.clone()),
                Some(sin.clone()),
                Some(pos.clone()),
            ],
        );
        assert_eq!(y.unwrap().to_vec::<f32>().unwrap(), vec![-2.0, 1.0]);
        // Partial rotation of a 4-wide head: features 2..4 pass through.
        let y = eval1(
            &op(true, 2, 2),
            &[Some(x(&[1, 1, 8])), Some(cos), Some(sin), Some(pos)],
        )
        .unwrap();
        assert_eq!(
            y.to_vec::<f32>().unwrap(),
            vec![-2.0, 1.0, 3.0, 4.0, -6.0, 5.0, 7.0, 8.0]
        );
    }

    #[test]
    fn bad_positions_and_dims_are_errors() {
        let cos = Tensor::from_vec(vec![2, 1], vec![1f32, 0.0]).unwrap();
        let pos = Tensor::from_vec(vec![1, 1], vec![5i64]).unwrap();
        let ins = [
            Some(x(&[1, 1, 1, 2])),
            Some(cos.clone()),
            Some(cos.clone()),
            Some(pos),
        ];
        assert!(eval1(&op(false, 0, 0), &ins).is_err());
        assert!(eval1(
            &op(false, 3, 0),
            &[Some(x(&[1, 1, 1, 4])), Some(cos.clone()), Some(cos)]
        )
        .is_err());
    }
}
