//! ConvTranspose: N-d grouped transposed convolution (the gradient of Conv w.r.t. its input).
//! Spec: <https://onnx.ai/onnx/operators/onnx__ConvTranspose.html>
//!
//! Attributes: `auto_pad` (NOTSET), `dilations`, `group` (1), `kernel_shape` (from W),
//! `output_padding` (0s), `output_shape` (overrides pads; may also list N and C), `pads`,
//! `strides`.
//! Inputs: `X` `[N, C, D1...]`, `W` `[C, M/group, k1...]`, optional `B` `[M]`.
//! Output: `Y` `[N, M, O1...]` with
//! `O = stride * (D - 1) + output_padding + (k - 1) * dilation + 1 - pad_begin - pad_end`.
//! With `output_shape` (or SAME auto_pad, where the output is `D * stride`) the total padding
//! is derived: SAME_UPPER puts the odd unit at the end, otherwise at the beginning; a negative
//! total leaves the extra output cells at the end (bias only).
//! Opsets: 1, 11 (auto_pad/output_shape clarifications), 22 (bf16).

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::linalg::common::{
    count_product, f32_to_float, float_to_f32, gemm_acc, transpose, Scalar,
};
use crate::ops::nn::common::{AutoPad, Axis, WindowAttrs, MAX_ATTR};
use crate::ops::nn::im2col::col2im;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct ConvTranspose {
    pub window: WindowAttrs,
    pub group: Option<i64>,
    pub output_padding: Option<Vec<i64>>,
    pub output_shape: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let window = WindowAttrs::parse("ConvTranspose", ctx.attrs, true)?;
    let group = ctx.attrs.int("group")?;
    if group.is_some_and(|g| g < 1) {
        bail!("ConvTranspose: group must be >= 1, got {group:?}");
    }
    let output_padding = ctx.attrs.ints("output_padding")?;
    let output_shape = ctx.attrs.ints("output_shape")?;
    Ok(Box::new(ConvTranspose {
        window,
        group,
        output_padding,
        output_shape,
    }))
}

/// Checked shapes of one transposed convolution. `axes` describe the equivalent forward
/// convolution from the output (its `input`) to X (its `output`).
pub struct ConvTShape {
    pub n: usize,
    pub c: usize,
    pub m: usize,
    pub group: usize,
    pub axes: Vec<Axis>,
    pub out_shape: Vec<usize>,
}

impl ConvTranspose {
    fn group(&self) -> usize {
        self.group.unwrap_or(1) as usize
    }

    /// Output size and begin pad of every spatial axis for X spatial dims `xs` and kernel `k`.
    fn spatial(&self, xs: &[usize], k: &[usize]) -> Result<Vec<Axis>> {
        let nd = xs.len();
        let op = "ConvTranspose";
        let win = self.window.resolve(op, nd, Some(k), false)?;
        let opad: Vec<i64> = self.output_padding.clone().unwrap_or_else(|| vec![0; nd]);
        if opad.len() != nd || opad.iter().any(|&p| !(0..=MAX_ATTR).contains(&p)) {
            bail!("{op}: output_padding {opad:?} must hold {nd} non-negative values");
        }
        let oshape: Option<Vec<i64>> = match &self.output_shape {
            Some(s) if s.iter().any(|&d| !(1..=1 << 40).contains(&d)) => {
                bail!("{op}: output_shape {s:?} must hold positive sizes")
            }
            Some(s) if s.len() == nd => Some(s.clone()),
            Some(s) if s.len() == nd + 2 => Some(s[2..].to_vec()),
            Some(s) => bail!("{op}: output_shape {s:?} must have {nd} spatial values"),
            None => None,
        };
        let mut axes = Vec::with_capacity(nd);
        for i in 0..nd {
            let (s, d, kk) = (
                win.strides[i] as i64,
                win.dilations[i] as i64,
                win.kernel[i] as i64,
            );
            let full = s * (xs[i] as i64 - 1) + opad[i] + (kk - 1) * d + 1;
            let (out, pb) = match (&oshape, win.auto_pad) {
                (Some(o), ap) => split(full, o[i], ap),
                (None, ap) if ap.is_same() => split(full, xs[i] as i64 * s, ap),
                (None, AutoPad::Valid) => (full, 0),
                (None, _) => (
                    full - (win.pads[i] + win.pads[nd + i]) as i64,
                    win.pads[i] as i64,
                ),
            };
            if out <= 0 || out > 1 << 40 {
                bail!("{op}: spatial axis {i} would have output size {out} (input {xs:?}, kernel {k:?})");
            }
            let pe = (full - out - pb).max(0);
            axes.push(Axis {
                input: out as usize,
                output: xs[i],
                kernel: k[i],
                stride: s as usize,
                dilation: d as usize,
                pad_begin: pb as usize,
                pad_end: pe as usize,
            });
        }
        Ok(axes)
    }

    pub fn shape(&self, x: &[usize], w: &[usize]) -> Result<ConvTShape> {
        let g = self.group();
        if x.len() < 3 || w.len() != x.len() {
            bail!("ConvTranspose: X must be [N, C, D1, ...] and W [C, M/group, k1, ...] of the same rank, got X {x:?} and W {w:?}");
        }
        let (n, c) = (x[0], x[1]);
        if w[0] != c || c % g != 0 {
            bail!("ConvTranspose: X {x:?} and W {w:?} do not fit group={g} (need W[0] = C, divisible by group)");
        }
        let Some(m) = w[1].checked_mul(g) else {
            bail!("ConvTranspose: W {w:?} with group={g} has too many output channels");
        };
        let axes = self.spatial(&x[2..], &w[2..])?;
        let mut out_shape = vec![n, m];
        out_shape.extend(axes.iter().map(|a| a.input));
        checked_numel(&out_shape)?;
        Ok(ConvTShape {
            n,
            c,
            m,
            group: g,
            axes,
            out_shape,
        })
    }
}

/// Output size and begin pad when the output size `out` is imposed on a natural size `full`.
fn split(full: i64, out: i64, ap: AutoPad) -> (i64, i64) {
    let total = (full - out).max(0);
    let pb = if ap == AutoPad::SameUpper {
        total / 2
    } else {
        total - total / 2
    };
    (out, pb)
}

fn conv_t<T: Scalar + std::ops::Add<Output = T>>(
    s: &ConvTShape,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
) -> Result<Vec<T>> {
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    let k: usize = s.axes.iter().map(|a| a.kernel).product();
    let pin: usize = s.axes.iter().map(|a| a.output).product();
    let pout: usize = s.axes.iter().map(|a| a.input).product();
    let rows = mg * k;
    let wt: Vec<Vec<T>> = (0..s.group)
        .map(|g| transpose(&w[g * cg * rows..][..cg * rows], cg, rows))
        .collect();
    let mut cols = vec![T::default(); checked_numel(&[rows, pin])?];
    let mut y = vec![T::default(); checked_numel(&s.out_shape)?];
    for img in 0..s.n {
        for g in 0..s.group {
            let xg = &x[(img * s.c + g * cg) * pin..][..cg * pin];
            cols.fill(T::default());
            gemm_acc(rows, pin, cg, &wt[g], cg, xg, pin, &mut cols, pin);
            let yg = &mut y[(img * s.m + g * mg) * pout..][..mg * pout];
            col2im(&cols, mg, &s.axes, yg, |a, b| a + b);
        }
    }
    if let Some(b) = b {
        for (i, row) in y.chunks_mut(pout.max(1)).enumerate() {
            let bv = b[i % s.m];
            row.iter_mut().for_each(|v| *v = *v + bv);
        }
    }
    Ok(y)
}

impl Op for ConvTranspose {
    fn op_type(&self) -> &str {
        "ConvTranspose"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, w) = (ctx.tensor(0), ctx.tensor(1));
        let dtype = x.dtype.or(w.dtype);
        let (Some(xs), Some(ws)) = (&x.shape, &w.shape) else {
            let shape = x.shape.as_ref().map(|s| vec![Dim::Unknown; s.len()]);
            return Ok(vec![ValueType::Tensor(TensorType { dtype, shape })]);
        };
        if xs.len() < 3 || ws.len() != xs.len() {
            bail!(
                "ConvTranspose: X and W must have the same rank >= 3, got {} and {}",
                xs.len(),
                ws.len()
            );
        }
        let m = match (&ws[1], self.group()) {
            (Dim::Known(v), g) => v.checked_mul(g).map_or(Dim::Unknown, Dim::Known),
            (d, 1) => d.clone(),
            _ => Dim::Unknown,
        };
        let mut shape = vec![xs[0].clone(), m];
        match (
            edgeopt_tensor::shape::concrete(&xs[2..]),
            edgeopt_tensor::shape::concrete(&ws[2..]),
        ) {
            (Some(sp), Some(k)) => {
                shape.extend(self.spatial(&sp, &k)?.iter().map(|a| Dim::Known(a.input)))
            }
            _ => shape.extend(vec![Dim::Unknown; xs.len() - 2]),
        }
        Ok(vec![ValueType::Tensor(TensorType {
            dtype,
            shape: Some(shape),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, w, b) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.opt_tensor(2)?);
        let s = self.shape(x.shape(), w.shape())?;
        if w.dtype() != x.dtype() || b.is_some_and(|b| b.dtype() != x.dtype()) {
            bail!(
                "ConvTranspose: X, W and B must share a dtype, got {}, {} and {:?}",
                x.dtype(),
                w.dtype(),
                b.map(|b| b.dtype())
            );
        }
        if b.is_some_and(|b| b.len() != s.m) {
            bail!(
                "ConvTranspose: B must have M = {} elements, got {:?}",
                s.m,
                b.map(|b| b.shape())
            );
        }
        let y = match x.dtype() {
            DType::F32 => {
                let bv = b.map(|b| b.as_slice::<f32>()).transpose()?;
                Tensor::from_vec(
                    s.out_shape.clone(),
                    conv_t(&s, x.as_slice::<f32>()?, w.as_slice::<f32>()?, bv)?,
                )?
            }
            DType::F64 => {
                let bv = b.map(|b| b.as_slice::<f64>()).transpose()?;
                Tensor::from_vec(
                    s.out_shape.clone(),
                    conv_t(&s, x.as_slice::<f64>()?, w.as_slice::<f64>()?, bv)?,
                )?
            }
            DType::F16 | DType::BF16 => {
                let bv = b.map(float_to_f32).transpose()?;
                let y = conv_t(&s, &float_to_f32(x)?, &float_to_f32(w)?, bv.as_deref())?;
                f32_to_float(x.dtype(), s.out_shape.clone(), y)?
            }
            d => bail!("ConvTranspose: dtype {d} is not supported (expected a float type)"),
        };
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // Every input element meets every (M / group) * prod(kernel) weight of its group.
        let macs = match (ctx.input_shape(0), ctx.input_shape(1)) {
            (Some(x), Some(w)) => self
                .shape(&x, &w)
                .map(|s| {
                    let mut f = x.clone();
                    f.push(s.m / s.group);
                    f.extend(s.axes.iter().map(|a| a.kernel));
                    count_product(&f)
                })
                .unwrap_or(0),
            _ => 0,
        };
        Cost {
            macs,
            flops: ctx.output_elems(0),
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.window
            .export(AttrList::default())
            .opt_int("group", self.group)
            .opt_ints("output_padding", self.output_padding.as_deref())
            .opt_ints("output_shape", self.output_shape.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    fn op(f: impl FnOnce(&mut ConvTranspose)) -> ConvTranspose {
        let mut o = ConvTranspose {
            window: WindowAttrs::default(),
            group: None,
            output_padding: None,
            output_shape: None,
        };
        f(&mut o);
        o
    }

    fn x33() -> Tensor {
        t(&[1, 1, 3, 3], (0..9).map(|v| v as f32).collect())
    }

    #[test]
    fn spec_default_and_1d() {
        // ONNX spec example test_convtranspose (both output channels are equal).
        let y = eval1(
            &op(|_| {}),
            &[Some(x33()), Some(t(&[1, 2, 3, 3], vec![1.; 18]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 2, 5, 5]);
        let want = [
            0., 1., 3., 3., 2., 3., 8., 15., 12., 7., 9., 21., 36., 27., 15.,
        ];
        assert_eq!(&y.as_slice::<f32>().unwrap()[..15], &want);
        // test_convtranspose_1d.
        let y = eval1(
            &op(|_| {}),
            &[
                Some(t(&[1, 1, 3], vec![0., 1., 2.])),
                Some(t(&[1, 2, 3], vec![1.; 6])),
            ],
        )
        .unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[0., 1., 3., 3., 2., 0., 1., 3., 3., 2.]
        );
    }

    #[test]
    fn spec_pads_output_shape_and_same() {
        let w = t(&[1, 2, 3, 3], vec![1.; 18]);
        // test_convtranspose_pads: strides [3, 2], pads [1, 2, 1, 2] -> 7x3.
        let o = op(|o| {
            o.window.strides = Some(vec![3, 2]);
            o.window.pads = Some(vec![1, 2, 1, 2]);
        });
        let y = eval1(&o, &[Some(x33()), Some(w.clone())]).unwrap();
        assert_eq!(y.shape(), &[1, 2, 7, 3]);
        let want = [
            1., 1., 3., 1., 1., 3., 7., 4., 9., 7., 4., 9., 7., 4., 9., 13., 7., 15., 13., 7., 15.,
        ];
        assert_eq!(&y.as_slice::<f32>().unwrap()[..21], &want);
        // test_convtranspose_output_shape: the extra row and column (10x8 vs 9x7) are at the end.
        let o = op(|o| {
            o.window.strides = Some(vec![3, 2]);
            o.output_shape = Some(vec![10, 8]);
        });
        let y = eval1(&o, &[Some(x33()), Some(w.clone())]).unwrap();
        assert_eq!(y.shape(), &[1, 2, 10, 8]);
        let v = y.as_slice::<f32>().unwrap();
        assert_eq!(&v[..8], &[0., 0., 1., 1., 3., 2., 2., 0.]);
        assert_eq!(&v[72..80], &[0.; 8]);
        // test_convtranspose_autopad_same: output 6x6, the odd pad unit at the end.
        let o = op(|o| {
            o.window.strides = Some(vec![2, 2]);
            o.window.auto_pad = Some("SAME_UPPER".into());
        });
        let y = eval1(&o, &[Some(x33()), Some(w)]).unwrap();
        assert_eq!(y.shape(), &[1, 2, 6, 6]);
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[12..18],
            &[3., 3., 8., 5., 12., 7.]
        );
    }

    #[test]
    fn spec_dilations_and_groups() {
        // test_convtranspose_dilations.
        let x = t(&[1, 1, 3, 3], vec![3., 8., 1., 9., 5., 7., 3., 2., 6.]);
        let w = t(&[1, 1, 2, 2], vec![7., 2., 1., 9.]);
        let o = op(|o| o.window.dilations = Some(vec![2, 2]));
        let y = eval1(&o, &[Some(x), Some(w)]).unwrap();
        let want = [
            21., 56., 13., 16., 2., 63., 35., 67., 10., 14., 24., 22., 76., 76., 21., 9., 5., 88.,
            45., 63., 3., 2., 33., 18., 54.,
        ];
        assert_eq!(y.as_slice::<f32>().unwrap(), &want);
        // test_convtranspose_group_2: the second group sees channel 1 (values 9..17).
        let x = t(&[1, 2, 3, 3], (0..18).map(|v| v as f32).collect());
        let o = op(|o| o.group = Some(2));
        let inputs = [
            Some(x),
            Some(t(&[2, 1, 3, 3], vec![1.; 18])),
            Some(t(&[2], vec![0., 1.])),
        ];
        let y = eval1(&o, &inputs).unwrap();
        assert_eq!(y.shape(), &[1, 2, 5, 5]);
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[25..30],
            &[10., 20., 31., 22., 12.]
        );
        assert_eq!(
            infer(&o, &inputs, 1).unwrap()[0],
            ValueType::known(DType::F32, &[1, 2, 5, 5])
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        let o = op(|o| o.output_padding = Some(vec![1]));
        assert!(eval1(&o, &[Some(x33()), Some(t(&[1, 1, 3, 3], vec![1.; 9]))]).is_err());
        assert!(eval1(
            &op(|_| {}),
            &[Some(x33()), Some(t(&[2, 1, 3, 3], vec![1.; 18]))]
        )
        .is_err());
        let o = op(|o| o.window.pads = Some(vec![3, 3, 3, 3]));
        assert!(eval1(&o, &[Some(x33()), Some(t(&[1, 1, 3, 3], vec![1.; 9]))]).is_err());
    }
}
