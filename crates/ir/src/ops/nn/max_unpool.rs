//! MaxUnpool: scatters pooled values back to the positions MaxPool's indices name.
//! Spec: <https://onnx.ai/onnx/operators/onnx__MaxUnpool.html>
//!
//! Attributes: `kernel_shape` (required), `pads` (0s), `strides` (1s).
//! Inputs: `X` `[N, C, D1...]` (float), `I` (int64, same shape: flat indices), optional
//! `output_shape` (int64, opset 11+). Output: zeros except at the indexed positions.
//! The default output spatial size is `(D - 1) * stride - pad_begin - pad_end + kernel`.
//! As in the ONNX reference (and its backend tests), indices address that default shape; a
//! larger `output_shape` places it in the leading corner of a zero tensor.
//! Opsets: 9, 11 (output_shape input), 22 (bf16).

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::WindowAttrs;
use crate::ops::util::const_i64s;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::{checked_numel, strides};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct MaxUnpool {
    pub window: WindowAttrs,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let window = WindowAttrs::parse("MaxUnpool", ctx.attrs, false)?;
    if window.kernel_shape.is_none() {
        bail!("MaxUnpool: attribute 'kernel_shape' is required");
    }
    Ok(Box::new(MaxUnpool { window }))
}

impl MaxUnpool {
    /// Default output size of each spatial axis.
    fn spatial(&self, xs: &[usize]) -> Result<Vec<usize>> {
        let nd = xs.len();
        let w = self.window.resolve("MaxUnpool", nd, None, false)?;
        (0..nd)
            .map(|i| {
                let full = xs[i].saturating_sub(1) * w.strides[i] + w.kernel[i];
                match full.checked_sub(w.pads[i] + w.pads[nd + i]) {
                    Some(v) if v > 0 => Ok(v),
                    _ => bail!(
                        "MaxUnpool: pads {:?} leave no output along spatial axis {i}",
                        w.pads
                    ),
                }
            })
            .collect()
    }
}

fn requested(op: &str, t: &Tensor, rank: usize) -> Result<Vec<usize>> {
    let v = t.to_i64_vec()?;
    if v.len() != rank || v.iter().any(|&d| d < 0) {
        bail!("{op}: output_shape {v:?} must hold {rank} non-negative dims");
    }
    Ok(v.into_iter().map(|d| d as usize).collect())
}

impl Op for MaxUnpool {
    fn op_type(&self) -> &str {
        "MaxUnpool"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let has_shape = ctx.inputs.len() > 2 && !matches!(ctx.input(2), ValueType::Unknown);
        let shape = match (&x.shape, const_i64s(ctx.konst(2))) {
            (_, Some(s)) => Some(s.iter().map(|&d| Dim::Known(d.max(0) as usize)).collect()),
            (Some(s), None) if has_shape => Some(vec![Dim::Unknown; s.len()]),
            (Some(s), None) if s.len() >= 3 => {
                let mut out = s[..2].to_vec();
                match edgeopt_tensor::shape::concrete(&s[2..]) {
                    Some(sp) => out.extend(self.spatial(&sp)?.into_iter().map(Dim::Known)),
                    None => out.extend(vec![Dim::Unknown; s.len() - 2]),
                }
                Some(out)
            }
            (Some(s), None) => bail!("MaxUnpool: X must have rank >= 3, got {}", s.len()),
            (None, None) => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, idx) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let xs = x.shape();
        if xs.len() < 3 || idx.shape() != xs || !x.dtype().is_float() {
            bail!("MaxUnpool: X must be a float [N, C, D1, ...] tensor and I the same shape, got {} {xs:?} and {:?}", x.dtype(), idx.shape());
        }
        let mut base = xs[..2].to_vec();
        base.extend(self.spatial(&xs[2..])?);
        let n = checked_numel(&base)?;
        let mut y = vec![0.0f64; n];
        for (&i, v) in idx.to_i64_vec()?.iter().zip(x.to_f64_vec()?) {
            if i < 0 || i as usize >= n {
                bail!("MaxUnpool: index {i} is outside the output of shape {base:?}");
            }
            y[i as usize] = v;
        }
        let Some(req) = inputs.opt_tensor(2)? else {
            return Ok(vec![Tensor::from_f64s(x.dtype(), base, &y)?.into()]);
        };
        let out = requested("MaxUnpool", req, xs.len())?;
        if out.iter().zip(&base).any(|(o, b)| o < b) {
            bail!("MaxUnpool: output_shape {out:?} is smaller than the unpooled shape {base:?}");
        }
        // Copy the default-shaped result into the leading corner, row by row.
        let total = checked_numel(&out)?;
        let mut full = vec![0.0f64; total];
        let (sb, so) = (strides(&base), strides(&out));
        let last = *base.last().unwrap_or(&1);
        for row in 0..n / last.max(1) {
            let (mut r, mut src, mut dst) = (row * last, 0, 0);
            for d in 0..base.len() {
                let i = r / sb[d];
                r %= sb[d];
                src += i * sb[d];
                dst += i * so[d];
            }
            full[dst..dst + last].copy_from_slice(&y[src..src + last]);
        }
        Ok(vec![Tensor::from_f64s(x.dtype(), out, &full)?.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.window.export(AttrList::default()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn op() -> MaxUnpool {
        MaxUnpool {
            window: WindowAttrs {
                kernel_shape: Some(vec![2, 2]),
                strides: Some(vec![2, 2]),
                ..Default::default()
            },
        }
    }

    #[test]
    fn spec_with_and_without_output_shape() {
        // test_maxunpool_export_without_output_shape / _with_output_shape.
        let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![5f32, 6., 7., 8.]).unwrap();
        let i = Tensor::from_vec(vec![1, 1, 2, 2], vec![5i64, 7, 13, 15]).unwrap();
        let y = eval1(&op(), &[Some(x.clone()), Some(i.clone())]).unwrap();
        assert_eq!(y.shape(), &[1, 1, 4, 4]);
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[0., 0., 0., 0., 0., 5., 0., 6., 0., 0., 0., 0., 0., 7., 0., 8.]
        );
        let shape = Tensor::vec1(vec![1i64, 1, 5, 5]);
        let y = eval1(&op(), &[Some(x.clone()), Some(i), Some(shape)]).unwrap();
        let v = y.as_slice::<f32>().unwrap();
        assert_eq!(
            (v[6], v[8], v[16], v[18], v.iter().sum::<f32>()),
            (5., 6., 7., 8., 26.)
        );
        let bad = Tensor::from_vec(vec![1, 1, 2, 2], vec![5i64, 7, 13, 16]).unwrap();
        assert!(eval1(&op(), &[Some(x), Some(bad)]).is_err());
    }
}
