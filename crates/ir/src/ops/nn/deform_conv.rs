//! DeformConv: convolution whose kernel taps are shifted by learned, per-position offsets and
//! optionally weighted by a mask (deformable convolution v1/v2).
//! Spec: <https://onnx.ai/onnx/operators/onnx__DeformConv.html>
//!
//! Attributes: `dilations`, `group` (1), `kernel_shape` (from W), `offset_group` (1), `pads`,
//! `strides`.
//! Inputs: `X` `[N, C, D1...]`, `W` `[M, C/group, k1...]`, `offset`
//! `[N, offset_group * prod(k) * nd, O1...]` (per tap, one shift per spatial axis), optional
//! `B` `[M]`, optional `mask` `[N, offset_group * prod(k), O1...]`.
//! Output: `Y` `[N, M, O1...]`. Shifted taps are sampled (multi)linearly; samples outside the
//! input read zeros. Computed in f64: sampled columns, then one matrix product per group.
//! Opsets: 19, 22 (bf16).

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::linalg::common::{count_product, gemm_acc};
use crate::ops::nn::common::{float_input, Axis, WindowAttrs};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct DeformConv {
    pub window: WindowAttrs,
    pub group: Option<i64>,
    pub offset_group: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let window = WindowAttrs::parse("DeformConv", ctx.attrs, true)?;
    let (group, offset_group) = (ctx.attrs.int("group")?, ctx.attrs.int("offset_group")?);
    if group.is_some_and(|g| g < 1) || offset_group.is_some_and(|g| g < 1) {
        bail!(
            "DeformConv: group and offset_group must be >= 1, got {group:?} and {offset_group:?}"
        );
    }
    Ok(Box::new(DeformConv {
        window,
        group,
        offset_group,
    }))
}

/// Sample of `plane` (dims `dims`) at real position `pos`, multilinear, zero outside.
fn sample(plane: &[f64], dims: &[usize], pos: &[f64]) -> f64 {
    let nd = dims.len();
    let mut acc = 0.0;
    for corner in 0..1usize << nd {
        let (mut w, mut flat) = (1.0, 0usize);
        for a in 0..nd {
            let f = pos[a].floor();
            let hi = corner >> a & 1 == 1;
            let i = f + hi as u8 as f64;
            if i < 0.0 || i >= dims[a] as f64 {
                w = 0.0;
                break;
            }
            w *= if hi { pos[a] - f } else { 1.0 - (pos[a] - f) };
            flat = flat * dims[a] + i as usize;
        }
        if w != 0.0 {
            acc += w * plane[flat];
        }
    }
    acc
}

impl DeformConv {
    fn axes(&self, x: &[usize], w: &[usize]) -> Result<Vec<Axis>> {
        let op = "DeformConv";
        let g = self.group.unwrap_or(1) as usize;
        if x.len() < 3 || w.len() != x.len() {
            bail!("{op}: X must be [N, C, D1, ...] and W [M, C/group, k1, ...] of the same rank, got {x:?} and {w:?}");
        }
        let og = self.offset_group.unwrap_or(1) as usize;
        if w[1].checked_mul(g) != Some(x[1]) || !w[0].is_multiple_of(g) || !x[1].is_multiple_of(og)
        {
            bail!(
                "{op}: X {x:?} and W {w:?} do not fit group={g}, offset_group={:?}",
                self.offset_group
            );
        }
        let win = self.window.resolve(op, x.len() - 2, Some(&w[2..]), false)?;
        win.axes(op, &x[2..])
    }
}

impl Op for DeformConv {
    fn op_type(&self) -> &str {
        "DeformConv"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, w, off) = (ctx.tensor(0), ctx.tensor(1), ctx.tensor(2));
        // The output grid is the offset tensor's; fall back to the conv geometry.
        let shape = match (&x.shape, &w.shape, &off.shape) {
            (Some(xs), Some(ws), Some(os)) if os.len() == xs.len() => {
                let mut s = vec![xs[0].clone(), ws[0].clone()];
                s.extend(os[2..].iter().cloned());
                Some(s)
            }
            (Some(xs), Some(ws), _) => match (
                edgeopt_tensor::shape::concrete(xs),
                edgeopt_tensor::shape::concrete(ws),
            ) {
                (Some(xc), Some(wc)) => {
                    let mut s = vec![Dim::Known(xc[0]), Dim::Known(wc[0])];
                    s.extend(self.axes(&xc, &wc)?.iter().map(|a| Dim::Known(a.output)));
                    Some(s)
                }
                _ => Some(vec![Dim::Unknown; xs.len()]),
            },
            _ => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "DeformConv";
        let (x, w, off) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        float_input(op, x, 3)?;
        let axes = self.axes(x.shape(), w.shape())?;
        let nd = axes.len();
        let (n, c, m) = (x.shape()[0], x.shape()[1], w.shape()[0]);
        let (g, og) = (
            self.group.unwrap_or(1) as usize,
            self.offset_group.unwrap_or(1) as usize,
        );
        let k: usize = axes.iter().map(|a| a.kernel).product();
        let out: Vec<usize> = axes.iter().map(|a| a.output).collect();
        let p: usize = out.iter().product();
        let want_off: Vec<usize> = [n, og * k * nd]
            .into_iter()
            .chain(out.iter().copied())
            .collect();
        if off.shape() != want_off {
            bail!("{op}: offset must be {want_off:?}, got {:?}", off.shape());
        }
        let mask = inputs.opt_tensor(4)?;
        let want_mask: Vec<usize> = [n, og * k].into_iter().chain(out.iter().copied()).collect();
        if mask.is_some_and(|t| t.shape() != want_mask) {
            bail!(
                "{op}: mask must be {want_mask:?}, got {:?}",
                mask.map(|t| t.shape())
            );
        }
        let bias = inputs.opt_tensor(3)?.map(|b| b.to_f64_vec()).transpose()?;
        if bias.as_ref().is_some_and(|b| b.len() != m) {
            bail!("{op}: B must have M = {m} values");
        }
        let (xv, wv, ov) = (x.to_f64_vec()?, w.to_f64_vec()?, off.to_f64_vec()?);
        let mv = mask.map(|t| t.to_f64_vec()).transpose()?;
        let dims: Vec<usize> = axes.iter().map(|a| a.input).collect();
        let plane: usize = dims.iter().product();
        let (cg, mg, c_per_og) = (c / g, m / g, c / og);
        let mut y = vec![0.0; checked_numel(&[n, m, p])?];
        let mut cols = vec![0.0; checked_numel(&[c * k, p])?];
        let (mut kp, mut op_, mut pos) = (vec![0; nd], vec![0; nd], vec![0.0; nd]);
        for img in 0..n {
            for ch in 0..c {
                let o = ch / c_per_og;
                let xp = &xv[(img * c + ch) * plane..][..plane];
                for t in 0..k {
                    unravel(
                        t,
                        &axes.iter().map(|a| a.kernel).collect::<Vec<_>>(),
                        &mut kp,
                    );
                    let row = &mut cols[(ch * k + t) * p..][..p];
                    for (q, slot) in row.iter_mut().enumerate() {
                        unravel(q, &out, &mut op_);
                        for a in 0..nd {
                            let ax = &axes[a];
                            let shift = ov[((img * og + o) * k * nd + t * nd + a) * p + q];
                            let base = (op_[a] * ax.stride + kp[a] * ax.dilation) as f64
                                - ax.pad_begin as f64;
                            pos[a] = base + shift;
                        }
                        let mk = mv
                            .as_ref()
                            .map_or(1.0, |mv| mv[((img * og + o) * k + t) * p + q]);
                        *slot = sample(xp, &dims, &pos) * mk;
                    }
                }
            }
            for gi in 0..g {
                let yg = &mut y[(img * m + gi * mg) * p..][..mg * p];
                gemm_acc(
                    mg,
                    p,
                    cg * k,
                    &wv[gi * mg * cg * k..],
                    cg * k,
                    &cols[gi * cg * k * p..],
                    p,
                    yg,
                    p,
                );
            }
        }
        if let Some(b) = bias {
            for (i, row) in y.chunks_mut(p.max(1)).enumerate() {
                row.iter_mut().for_each(|v| *v += b[i % m]);
            }
        }
        let mut shape = vec![n, m];
        shape.extend(out);
        Ok(vec![Tensor::from_f64s(x.dtype(), shape, &y)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let macs = match (ctx.input_shape(1), ctx.output_shape(0)) {
            (Some(w), Some(y)) => count_product(&[y.as_slice(), &w[1..]].concat()),
            _ => 0,
        };
        Cost {
            macs,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.window
            .export(AttrList::default())
            .opt_int("group", self.group)
            .opt_int("offset_group", self.offset_group)
            .build()
    }
}

fn unravel(mut i: usize, dims: &[usize], out: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        out[d] = i % dims[d];
        i /= dims[d];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    fn op() -> DeformConv {
        DeformConv {
            window: WindowAttrs::default(),
            group: None,
            offset_group: None,
        }
    }

    #[test]
    fn zero_offsets_is_a_plain_convolution() {
        // 3x3 input, 2x2 ones kernel: sums of 2x2 blocks, like Conv.
        let x = Tensor::from_vec(vec![1, 1, 3, 3], (0..9).map(|v| v as f32).collect()).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32; 4]).unwrap();
        let off = Tensor::from_vec(vec![1, 8, 2, 2], vec![0f32; 32]).unwrap();
        let y = eval1(&op(), &[Some(x.clone()), Some(w.clone()), Some(off)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[8., 12., 20., 24.]);
    }

    #[test]
    fn fractional_offsets_interpolate_and_mask_scales() {
        // Kernel 1x1; every tap shifted by (0.5, 0.5): averages of 2x2 blocks (zeros outside).
        let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![0f32, 1., 2., 3.]).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 1, 1], vec![2f32]).unwrap();
        let off = Tensor::from_vec(vec![1, 2, 2, 2], vec![0.5f32; 8]).unwrap();
        let mask = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 1., 1., 0.5]).unwrap();
        let b = Tensor::vec1(vec![1f32]);
        let y = eval1(&op(), &[Some(x), Some(w), Some(off), Some(b), Some(mask)]).unwrap();
        // Samples: 1.5, (1+3)/4 = 1, (2+3)/4 = 1.25, 3/4 -> * 2 * mask + 1.
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[4., 3., 3.5, 1.75],
            1e-6,
            1e-6,
        );
    }
}
