//! AffineGrid: the sampling grid of an affine transform, for use with GridSample.
//! Spec: <https://onnx.ai/onnx/operators/onnx__AffineGrid.html>
//!
//! Attribute: `align_corners` (default 0). Inputs: `theta` `[N, 2, 3]` (2-D) or `[N, 3, 4]`
//! (3-D), float; `size` (int64 `[N, C, H, W]` or `[N, C, D, H, W]`).
//! Output: `[N, H, W, 2]` or `[N, D, H, W, 3]`, dtype of theta: `theta @ (x, y[, z], 1)` for the
//! normalized base grid, x running along W. Base coordinates are `-1 + 2k / (n - 1)` with
//! align_corners, else `-1 + (2k + 1) / n`. Since opset 20.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct AffineGrid {
    pub align_corners: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(AffineGrid {
        align_corners: ctx.attrs.int_or("align_corners", 0)? != 0,
    }))
}

fn sizes(t: &Tensor) -> Result<Vec<usize>> {
    let v = t.to_i64_vec()?;
    if !(v.len() == 4 || v.len() == 5) || v.iter().any(|&d| d < 0) {
        bail!("AffineGrid: size must be [N, C, H, W] or [N, C, D, H, W], got {v:?}");
    }
    Ok(v.into_iter().map(|d| d as usize).collect())
}

impl AffineGrid {
    fn base(&self, k: usize, n: usize) -> f64 {
        if self.align_corners {
            if n <= 1 {
                -1.0
            } else {
                -1.0 + 2.0 * k as f64 / (n - 1) as f64
            }
        } else {
            -1.0 + (2 * k + 1) as f64 / n as f64
        }
    }
}

impl Op for AffineGrid {
    fn op_type(&self) -> &str {
        "AffineGrid"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let theta = ctx.tensor(0);
        let shape = match ctx.konst(1) {
            Some(t) => {
                let s = sizes(t)?;
                let mut out: Vec<Dim> = std::iter::once(s[0])
                    .chain(s[2..].iter().copied())
                    .map(Dim::Known)
                    .collect();
                out.push(Dim::Known(s.len() - 2));
                Some(out)
            }
            None => match ctx
                .tensor(1)
                .shape
                .and_then(|s| s.first().and_then(|d| d.known()))
            {
                Some(len @ (4 | 5)) => Some(vec![Dim::Unknown; len]),
                _ => None,
            },
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: theta.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let theta = inputs.tensor(0)?;
        let s = sizes(inputs.tensor(1)?)?;
        let nd = s.len() - 2;
        if theta.shape() != [s[0], nd, nd + 1] {
            bail!(
                "AffineGrid: theta has shape {:?}, expected [{}, {nd}, {}] for size {s:?}",
                theta.shape(),
                s[0],
                nd + 1
            );
        }
        let th = theta.to_f64_vec()?;
        let sp = &s[2..];
        let m = checked_numel(sp)?;
        let mut out_shape = vec![s[0]];
        out_shape.extend_from_slice(sp);
        out_shape.push(nd);
        let mut y = Vec::with_capacity(checked_numel(&out_shape)?);
        for b in 0..s[0] {
            let t = &th[b * nd * (nd + 1)..(b + 1) * nd * (nd + 1)];
            for p in 0..m {
                // Homogeneous base point, innermost axis first: (x, y[, z], 1).
                let mut v = vec![1.0; nd + 1];
                let mut rest = p;
                for i in (0..nd).rev() {
                    v[nd - 1 - i] = self.base(rest % sp[i], sp[i]);
                    rest /= sp[i];
                }
                for row in 0..nd {
                    y.push((0..=nd).map(|j| t[row * (nd + 1) + j] * v[j]).sum::<f64>());
                }
            }
        }
        Ok(vec![Tensor::from_f64s(theta.dtype(), out_shape, &y)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(4)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("align_corners", self.align_corners as i64)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn identity_theta_gives_base_grid() {
        let theta = Tensor::from_vec(vec![1, 2, 3], vec![1f32, 0., 0., 0., 1., 0.]).unwrap();
        let size = Tensor::vec1(vec![1i64, 1, 2, 3]);
        let y = eval1(
            &AffineGrid {
                align_corners: false,
            },
            &[Some(theta.clone()), Some(size.clone())],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 2, 3, 2]);
        let t = 2.0 / 3.0;
        let want = [-t, -0.5, 0., -0.5, t, -0.5, -t, 0.5, 0., 0.5, t, 0.5];
        assert_close(y.as_slice::<f32>().unwrap(), &want, 1e-6, 0.0);
        let y = eval1(
            &AffineGrid {
                align_corners: true,
            },
            &[Some(theta), Some(size)],
        )
        .unwrap();
        assert_close(
            &y.as_slice::<f32>().unwrap()[..6],
            &[-1., -1., 0., -1., 1., -1.],
            1e-6,
            0.0,
        );
    }

    #[test]
    fn three_d_translation() {
        // theta = [I | (0.5, 0, 0)]: x shifted by 0.5.
        let theta = Tensor::from_vec(
            vec![1, 3, 4],
            vec![1f32, 0., 0., 0.5, 0., 1., 0., 0., 0., 0., 1., 0.],
        )
        .unwrap();
        let y = eval1(
            &AffineGrid {
                align_corners: true,
            },
            &[Some(theta), Some(Tensor::vec1(vec![1i64, 1, 2, 2, 2]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 2, 2, 2, 3]);
        assert_close(
            &y.as_slice::<f32>().unwrap()[..6],
            &[-0.5, -1., -1., 1.5, -1., -1.],
            1e-6,
            0.0,
        );
    }

    #[test]
    fn wrong_theta_shape_errors() {
        let theta = Tensor::zeros(edgeopt_tensor::DType::F32, vec![1, 3, 4]).unwrap();
        assert!(eval1(
            &AffineGrid {
                align_corners: false
            },
            &[Some(theta), Some(Tensor::vec1(vec![1i64, 1, 2, 2]))]
        )
        .is_err());
    }
}
