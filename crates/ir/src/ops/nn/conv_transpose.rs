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

    /// Direct scatter: every input element adds `x * w` at `i * stride + k * dilation - pad`.
    fn naive(s: &ConvTShape, x: &[f64], w: &[f64]) -> Vec<f64> {
        let nd = s.axes.len();
        let (cg, mg) = (s.c / s.group, s.m / s.group);
        let in_n: Vec<usize> = s.axes.iter().map(|a| a.output).collect();
        let k_n: Vec<usize> = s.axes.iter().map(|a| a.kernel).collect();
        let (pin, kk) = (
            in_n.iter().product::<usize>(),
            k_n.iter().product::<usize>(),
        );
        let pout: usize = s.axes.iter().map(|a| a.input).product();
        let idx = |mut i: usize, dims: &[usize]| {
            let mut v = vec![0; dims.len()];
            for d in (0..dims.len()).rev() {
                v[d] = i % dims[d];
                i /= dims[d];
            }
            v
        };
        let mut y = vec![0.0; s.n * s.m * pout];
        for n in 0..s.n {
            for c in 0..s.c {
                let g = c / cg;
                for i in 0..pin {
                    let ip = idx(i, &in_n);
                    for m in 0..mg {
                        for t in 0..kk {
                            let kp = idx(t, &k_n);
                            let (mut flat, mut inside) = (0usize, true);
                            for a in 0..nd {
                                let ax = &s.axes[a];
                                let o = (ip[a] * ax.stride + kp[a] * ax.dilation) as i64
                                    - ax.pad_begin as i64;
                                inside &= o >= 0 && o < ax.input as i64;
                                flat = flat * ax.input + o.max(0) as usize;
                            }
                            if inside {
                                y[(n * s.m + g * mg + m) * pout + flat] +=
                                    x[(n * s.c + c) * pin + i] * w[(c * mg + m) * kk + t];
                            }
                        }
                    }
                }
            }
        }
        y
    }

    #[test]
    fn matches_direct_scatter_on_random_small_geometries() {
        let mut seed = 777u64;
        let mut rnd = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut checked = 0;
        for _ in 0..300 {
            let nd = 1 + rnd(2) as usize;
            let group = 1 + rnd(2) as usize;
            let (cg, mg) = (1 + rnd(2) as usize, 1 + rnd(2) as usize);
            let (mut xs, mut ws) = (vec![1 + rnd(2) as usize, cg * group], vec![cg * group, mg]);
            let mut o = op(|_| {});
            let (mut strides, mut dilations, mut pads, mut opad) =
                (vec![], vec![], vec![0i64; 2 * nd], vec![]);
            for i in 0..nd {
                xs.push(1 + rnd(4) as usize);
                ws.push(1 + rnd(3) as usize);
                strides.push(1 + rnd(3) as i64);
                dilations.push(1 + rnd(2) as i64);
                pads[i] = rnd(3) as i64;
                pads[nd + i] = rnd(3) as i64;
                opad.push(rnd(strides[i] as u64) as i64);
            }
            match rnd(4) {
                0 => {
                    o.window.auto_pad =
                        Some(["SAME_UPPER", "SAME_LOWER", "VALID"][rnd(3) as usize].into())
                }
                1 => {
                    o.output_shape = Some(
                        xs[2..]
                            .iter()
                            .map(|&d| (d * 2 + rnd(3) as usize) as i64)
                            .collect(),
                    )
                }
                _ => o.window.pads = Some(pads),
            }
            o.window.strides = Some(strides);
            o.window.dilations = Some(dilations);
            o.output_padding = Some(opad);
            o.group = Some(group as i64);
            let Ok(s) = o.shape(&xs, &ws) else { continue };
            let xv: Vec<f64> = (0..xs.iter().product())
                .map(|_| rnd(9) as f64 - 4.0)
                .collect();
            let wv: Vec<f64> = (0..ws.iter().product())
                .map(|_| rnd(5) as f64 - 2.0)
                .collect();
            let want = naive(&s, &xv, &wv);
            let inputs = [
                Some(Tensor::from_vec(xs.clone(), xv).unwrap()),
                Some(Tensor::from_vec(ws.clone(), wv).unwrap()),
            ];
            let y = eval1(&o, &inputs).unwrap();
            assert_eq!(y.shape(), &s.out_shape[..]);
            assert_eq!(
                y.as_slice::<f64>().unwrap(),
                &want[..],
                "x {xs:?} w {ws:?} {o:?}"
            );
            checked += 1;
        }
        assert!(checked > 150, "only {checked} geometries were valid");
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
