//! DepthToSpace: moves blocks of channels into spatial blocks.
//! Spec: <https://onnx.ai/onnx/operators/onnx__DepthToSpace.html>
//!
//! Attributes: `blocksize` (required), `mode` (DCR default: depth-column-row; CRD:
//! column-row-depth; opset 11+). Input: 4-D `[N, C, H, W]` (any type), C divisible by
//! blocksize². Output: `[N, C / bs², H * bs, W * bs]`.
//! Opset differences: 11 adds `mode`; 13 adds bfloat16.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::select::common::take;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct DepthToSpace {
    pub blocksize: usize,
    /// Column-row-depth order (CRD) instead of the default DCR.
    pub crd: bool,
}

/// Parses `blocksize` and `mode` for DepthToSpace and SpaceToDepth.
pub fn block_attrs(ctx: &mut BuildCtx, op: &str) -> Result<(usize, bool)> {
    let bs = ctx.attrs.req_int("blocksize")?;
    if !(1..=1 << 16).contains(&bs) {
        bail!("{op}: blocksize must be positive, got {bs}");
    }
    let crd = match ctx.attrs.string_or("mode", "DCR")?.as_str() {
        "DCR" => false,
        "CRD" => true,
        m => bail!("{op}: mode must be DCR or CRD, got '{m}'"),
    };
    Ok((bs as usize, crd))
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let (blocksize, crd) = block_attrs(ctx, "DepthToSpace")?;
    Ok(Box::new(DepthToSpace { blocksize, crd }))
}

impl Op for DepthToSpace {
    fn op_type(&self) -> &str {
        "DepthToSpace"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let bs = self.blocksize;
        let shape = match &x.shape {
            Some(s) if s.len() != 4 => {
                bail!("DepthToSpace: input must be 4-D, got rank {}", s.len())
            }
            Some(s) => {
                let mul = |d: &Dim| {
                    d.known()
                        .map(|v| Dim::Known(v * bs))
                        .unwrap_or(Dim::Unknown)
                };
                let c = match s[1].known() {
                    Some(c) if c % (bs * bs) != 0 => {
                        bail!("DepthToSpace: {c} channels are not divisible by {bs}²")
                    }
                    Some(c) => Dim::Known(c / (bs * bs)),
                    None => Dim::Unknown,
                };
                Some(vec![s[0].clone(), c, mul(&s[2]), mul(&s[3])])
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
            bail!("DepthToSpace: input must be 4-D, got shape {:?}", x.shape())
        };
        if c % (bs * bs) != 0 {
            bail!(
                "DepthToSpace: {c} channels of input {:?} are not divisible by blocksize² = {}",
                x.shape(),
                bs * bs
            );
        }
        let c2 = c / (bs * bs);
        let out_shape = vec![n, c2, h * bs, w * bs];
        let mut idx = Vec::with_capacity(checked_numel(&out_shape)?);
        for b in 0..n {
            for oc in 0..c2 {
                for y in 0..h * bs {
                    for xo in 0..w * bs {
                        let (hi, by, wi, bx) = (y / bs, y % bs, xo / bs, xo % bs);
                        let ch = if self.crd {
                            oc * bs * bs + by * bs + bx
                        } else {
                            (by * bs + bx) * c2 + oc
                        };
                        idx.push(((b * c + ch) * h + hi) * w + wi);
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
    use edgeopt_tensor::Tensor;

    fn x() -> Tensor {
        Tensor::from_vec(vec![1, 8, 2, 3], (0..48).map(|v| v as f32).collect()).unwrap()
    }

    #[test]
    fn dcr_spec_example() {
        // numpy reference (reshape/transpose of the spec) on arange(48).reshape(1, 8, 2, 3).
        let y = eval1(
            &DepthToSpace {
                blocksize: 2,
                crd: false,
            },
            &[Some(x())],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 2, 4, 6]);
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[..12],
            &[0., 12., 1., 13., 2., 14., 24., 36., 25., 37., 26., 38.]
        );
    }

    #[test]
    fn crd_spec_example() {
        // numpy reference for CRD on the same input.
        let y = eval1(
            &DepthToSpace {
                blocksize: 2,
                crd: true,
            },
            &[Some(x())],
        )
        .unwrap();
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[..12],
            &[0., 6., 1., 7., 2., 8., 12., 18., 13., 19., 14., 20.]
        );
    }

    #[test]
    fn indivisible_channels_error() {
        let x = Tensor::zeros(edgeopt_tensor::DType::F32, vec![1, 3, 1, 1]).unwrap();
        assert!(eval1(
            &DepthToSpace {
                blocksize: 2,
                crd: false
            },
            &[Some(x)]
        )
        .is_err());
    }
}
