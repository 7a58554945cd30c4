//! SpaceToDepth: moves spatial blocks into channels (the inverse of DepthToSpace).
//! Spec: <https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html>
//!
//! Attributes: `blocksize` (required), `mode` (DCR default, CRD; opset 28+).
//! Input: 4-D `[N, C, H, W]` (any type), H and W divisible by blocksize.
//! Output: `[N, C * bs², H / bs, W / bs]`.
//! Opset differences: 13 adds bfloat16; 28 adds `mode`.

use super::depth_to_space::block_attrs;
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::select::common::take;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct SpaceToDepth {
    pub blocksize: usize,
    /// Column-row-depth channel order (CRD) instead of the default DCR.
    pub crd: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let (blocksize, crd) = block_attrs(ctx, "SpaceToDepth")?;
    Ok(Box::new(SpaceToDepth { blocksize, crd }))
}

impl Op for SpaceToDepth {
    fn op_type(&self) -> &str {
        "SpaceToDepth"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let bs = self.blocksize;
        let shape = match &x.shape {
            Some(s) if s.len() != 4 => {
                bail!("SpaceToDepth: input must be 4-D, got rank {}", s.len())
            }
            Some(s) => {
                let div = |d: &Dim| match d.known() {
                    Some(v) if v % bs != 0 => {
                        bail!("SpaceToDepth: dim {v} is not divisible by blocksize {bs}")
                    }
                    Some(v) => Ok(Dim::Known(v / bs)),
                    None => Ok(Dim::Unknown),
                };
                let c = s[1]
                    .known()
                    .map(|c| Dim::Known(c * bs * bs))
                    .unwrap_or(Dim::Unknown);
                Some(vec![s[0].clone(), c, div(&s[2])?, div(&s[3])?])
            }
            None => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let bs = self.blocksize;
        let &[n, c, h, w] = x.shape() else {
            bail!("SpaceToDepth: input must be 4-D, got shape {:?}", x.shape())
        };
        if h % bs != 0 || w % bs != 0 {
            bail!(
                "SpaceToDepth: spatial dims of input {:?} are not divisible by blocksize {bs}",
                x.shape()
            );
        }
        let (h2, w2) = (h / bs, w / bs);
        let out_shape = vec![n, c * bs * bs, h2, w2];
        let mut idx = Vec::with_capacity(checked_numel(&out_shape)?);
        for b in 0..n {
            for oc in 0..c * bs * bs {
                // DCR channels are (by, bx, c); CRD channels are (c, by, bx).
                let (ci, by, bx) = if self.crd {
                    (oc / (bs * bs), (oc / bs) % bs, oc % bs)
                } else {
                    (oc % c, oc / c / bs, (oc / c) % bs)
                };
                for yi in 0..h2 {
                    for xi in 0..w2 {
                        idx.push(((b * c + ci) * h + yi * bs + by) * w + xi * bs + bx);
                    }
                }
            }
        }
        Ok(vec![take(x, &idx, out_shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let a = AttrList::default().int("blocksize", self.blocksize as i64);
        if self.crd {
            a.string("mode", "CRD").build()
        } else {
            a.build()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use crate::ops::vision::depth_to_space::DepthToSpace;
    use edgeopt_tensor::Tensor;

    #[test]
    fn inverts_depth_to_space_in_both_modes() {
        let x = Tensor::from_vec(vec![1, 2, 4, 6], (0..48).map(|v| v as f32).collect()).unwrap();
        for crd in [false, true] {
            let y = eval1(&SpaceToDepth { blocksize: 2, crd }, &[Some(x.clone())]).unwrap();
            assert_eq!(y.shape(), &[1, 8, 2, 3]);
            let back = eval1(&DepthToSpace { blocksize: 2, crd }, &[Some(y)]).unwrap();
            assert_eq!(
                back.as_slice::<f32>().unwrap(),
                x.as_slice::<f32>().unwrap()
            );
        }
    }

    #[test]
    fn dcr_first_channel() {
        // numpy: reshape(1,2,2,2,3,2).transpose(0,3,5,1,2,4): channel 0 is x[0, 0, ::2, ::2].
        let x = Tensor::from_vec(vec![1, 2, 4, 6], (0..48).map(|v| v as f32).collect()).unwrap();
        let y = eval1(
            &SpaceToDepth {
                blocksize: 2,
                crd: false,
            },
            &[Some(x)],
        )
        .unwrap();
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[..6],
            &[0., 2., 4., 12., 14., 16.]
        );
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[6..12],
            &[24., 26., 28., 36., 38., 40.]
        );
    }

    #[test]
    fn indivisible_dims_error() {
        let x = Tensor::zeros(edgeopt_tensor::DType::F32, vec![1, 1, 3, 2]).unwrap();
        assert!(eval1(
            &SpaceToDepth {
                blocksize: 2,
                crd: false
            },
            &[Some(x)]
        )
        .is_err());
    }
}
