//! Conv: N-d grouped convolution (cross-correlation), `Y = X * W + B`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Conv.html>
//!
//! Attributes: `auto_pad` (NOTSET), `dilations` (1s), `group` (1), `kernel_shape` (from W),
//! `pads` (0s, `[begin..., end...]`), `strides` (1s).
//! Inputs: `X` `[N, C, D1...]`, `W` `[M, C/group, k1...]`, optional `B` `[M]`.
//! Output: `Y` `[N, M, O1...]`.
//! Opsets: 1, 11 (auto_pad/pads clarifications, no semantic change here), 22 (bf16).
//!
//! Evaluation: per image and group, im2col then one cache-blocked matrix product (f32 and f64
//! natively, f16/bf16 through f32). 1x1 unpadded stride-1 convolutions skip the im2col copy.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::linalg::common::{count_product, f32_to_float, float_to_f32, gemm_acc, Scalar};
use crate::ops::nn::common::{Axis, WindowAttrs};
use crate::ops::nn::im2col::im2col;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Conv {
    pub window: WindowAttrs,
    pub group: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let window = WindowAttrs::parse("Conv", ctx.attrs, true)?;
    let group = ctx.attrs.int("group")?;
    if group.is_some_and(|g| g < 1) {
        bail!("Conv: group must be >= 1, got {group:?}");
    }
    Ok(Box::new(Conv { window, group }))
}

/// Checked shapes of one convolution.
pub struct ConvShape {
    pub n: usize,
    pub c: usize,
    pub m: usize,
    pub group: usize,
    pub axes: Vec<Axis>,
    pub out_shape: Vec<usize>,
}

impl ConvShape {
    /// Multiply-accumulates: `N * M * prod(out) * (C / group) * prod(kernel)`.
    pub fn macs(&self) -> u64 {
        let mut f = vec![self.n, self.m, self.c / self.group];
        f.extend(self.axes.iter().flat_map(|a| [a.output, a.kernel]));
        count_product(&f)
    }
}

impl Conv {
    fn group(&self) -> usize {
        self.group.unwrap_or(1) as usize
    }

    pub fn shape(&self, x: &[usize], w: &[usize]) -> Result<ConvShape> {
        let g = self.group();
        if x.len() < 3 || w.len() != x.len() {
            bail!("Conv: X must be [N, C, D1, ...] and W [M, C/group, k1, ...] of the same rank, got X {x:?} and W {w:?}");
        }
        let (n, c, m) = (x[0], x[1], w[0]);
        if w[1].checked_mul(g) != Some(c) || m % g != 0 {
            bail!("Conv: X {x:?} and W {w:?} do not fit group={g} (need C = W[1] * group and M divisible by group)");
        }
        let win = self
            .window
            .resolve("Conv", x.len() - 2, Some(&w[2..]), false)?;
        let axes = win.axes("Conv", &x[2..])?;
        let mut out_shape = vec![n, m];
        out_shape.extend(axes.iter().map(|a| a.output));
        checked_numel(&out_shape)?;
        Ok(ConvShape {
            n,
            c,
            m,
            group: g,
            axes,
            out_shape,
        })
    }
}

/// Whether the convolution reads its input unchanged as the im2col matrix.
fn is_pointwise(axes: &[Axis]) -> bool {
    axes.iter()
        .all(|a| a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.output == a.input)
}

/// Grouped convolution over contiguous buffers: the kernel behind Conv's eval.
pub fn conv<T: Scalar + std::ops::Add<Output = T>>(
    s: &ConvShape,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
) -> Result<Vec<T>> {
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    let plane: usize = s.axes.iter().map(|a| a.input).product();
    let p: usize = s.axes.iter().map(|a| a.output).product();
    let k = cg * s.axes.iter().map(|a| a.kernel).product::<usize>();
    let mut y = vec![T::default(); checked_numel(&s.out_shape)?];
    let pointwise = is_pointwise(&s.axes);
    let mut cols = if pointwise {
        Vec::new()
    } else {
        vec![T::default(); checked_numel(&[k, p])?]
    };
    for img in 0..s.n {
        for g in 0..s.group {
            let xg = &x[(img * s.c + g * cg) * plane..][..cg * plane];
            let src = if pointwise {
                xg
            } else {
                im2col(xg, cg, &s.axes, &mut cols);
                &cols[..]
            };
            let yg = &mut y[(img * s.m + g * mg) * p..][..mg * p];
            gemm_acc(mg, p, k, &w[g * mg * k..], k, src, p, yg, p);
        }
    }
    if let Some(b) = b {
        for (i, row) in y.chunks_mut(p.max(1)).enumerate() {
            let bv = b[i % s.m];
            row.iter_mut().for_each(|v| *v = *v + bv);
        }
    }
    Ok(y)
}

impl Op for Conv {
    fn op_type(&self) -> &str {
        "Conv"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, w) = (ctx.tensor(0), ctx.tensor(1));
        let dtype = x.dtype.or(w.dtype);
        let Some(xs) = &x.shape else {
            return Ok(vec![ValueType::Tensor(TensorType { dtype, shape: None })]);
        };
        let ws = w
            .shape
            .clone()
            .unwrap_or_else(|| vec![Dim::Unknown; xs.len()]);
        if xs.len() < 3 || ws.len() != xs.len() {
            bail!(
                "Conv: X must be [N, C, D1, ...] and W of the same rank, got ranks {} and {}",
                xs.len(),
                ws.len()
            );
        }
        // The kernel comes from the weights' static shape, else from kernel_shape.
        let kernel = edgeopt_tensor::shape::concrete(&ws[2..]).or_else(|| {
            let k = self.window.kernel_shape.as_ref()?;
            k.iter().map(|&d| usize::try_from(d).ok()).collect()
        });
        let mut shape = vec![xs[0].clone(), ws[0].clone()];
        match kernel {
            Some(k) => {
                let win = self.window.resolve("Conv", xs.len() - 2, Some(&k), false)?;
                shape.extend(win.infer_spatial("Conv", &xs[2..])?);
            }
            None => shape.extend(vec![Dim::Unknown; xs.len() - 2]),
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
                "Conv: X, W and B must share a dtype, got {}, {} and {:?}",
                x.dtype(),
                w.dtype(),
                b.map(|b| b.dtype())
            );
        }
        if let Some(b) = b {
            if b.len() != s.m {
                bail!(
                    "Conv: B must have M = {} elements, got shape {:?}",
                    s.m,
                    b.shape()
                );
            }
        }
        let y = match x.dtype() {
            DType::F32 => {
                let y = conv(
                    &s,
                    x.as_slice::<f32>()?,
                    w.as_slice::<f32>()?,
                    b.map(|b| b.as_slice::<f32>()).transpose()?,
                )?;
                Tensor::from_vec(s.out_shape.clone(), y)?
            }
            DType::F64 => {
                let y = conv(
                    &s,
                    x.as_slice::<f64>()?,
                    w.as_slice::<f64>()?,
                    b.map(|b| b.as_slice::<f64>()).transpose()?,
                )?;
                Tensor::from_vec(s.out_shape.clone(), y)?
            }
            DType::F16 | DType::BF16 => {
                let bv = b.map(float_to_f32).transpose()?;
                let y = conv(&s, &float_to_f32(x)?, &float_to_f32(w)?, bv.as_deref())?;
                f32_to_float(x.dtype(), s.out_shape.clone(), y)?
            }
            d => bail!("Conv: dtype {d} is not supported (expected a float type)"),
        };
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let macs = match (ctx.input_shape(0), ctx.input_shape(1)) {
            (Some(x), Some(w)) => self.shape(&x, &w).map(|s| s.macs()).unwrap_or(0),
            _ => 0,
        };
        // Bias adds: one per output element when B is given.
        let flops = if ctx.inputs.len() > 2 && ctx.inputs[2].dtype.is_some() {
            ctx.output_elems(0)
        } else {
            0
        };
        Cost {
            macs,
            flops,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.window
            .export(AttrList::default())
            .opt_int("group", self.group)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn conv_op(pads: Option<Vec<i64>>, strides: Option<Vec<i64>>) -> Conv {
        Conv {
            window: WindowAttrs {
                pads,
                strides,
                ..Default::default()
            },
            group: None,
        }
    }

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn spec_examples() {
        // From the ONNX Conv spec examples (test_basic_conv_*, test_conv_with_strides_*).
        let x = t(&[1, 1, 5, 5], (0..25).map(|v| v as f32).collect());
        let w = t(&[1, 1, 3, 3], vec![1.0; 9]);
        let y = eval1(
            &conv_op(Some(vec![1; 4]), None),
            &[Some(x.clone()), Some(w.clone())],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 1, 5, 5]);
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[..5],
            &[12., 21., 27., 33., 24.]
        );
        let y = eval1(&conv_op(None, None), &[Some(x.clone()), Some(w.clone())]).unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[54., 63., 72., 99., 108., 117., 144., 153., 162.]
        );
        let y = eval1(
            &conv_op(Some(vec![1; 4]), Some(vec![2, 2])),
            &[Some(x), Some(w.clone())],
        )
        .unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[12., 27., 24., 63., 108., 81., 72., 117., 84.]
        );
        // Asymmetric padding on a 7x5 input, strides 2.
        let x = t(&[1, 1, 7, 5], (0..35).map(|v| v as f32).collect());
        let y = eval1(
            &conv_op(Some(vec![1, 0, 1, 0]), Some(vec![2, 2])),
            &[Some(x), Some(w)],
        )
        .unwrap();
        assert_eq!(y.shape(), &[1, 1, 4, 2]);
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[21., 33., 99., 117., 189., 207., 171., 183.]
        );
    }

    #[test]
    fn macs_and_bad_shapes() {
        let op = Conv {
            window: WindowAttrs::default(),
            group: Some(2),
        };
        let s = op.shape(&[1, 4, 8, 8], &[6, 2, 3, 3]).unwrap();
        assert_eq!(s.macs(), 6 * 36 * 2 * 9);
        assert!(op.shape(&[1, 3, 8, 8], &[6, 2, 3, 3]).is_err());
        assert!(op.shape(&[1, 4, 8, 8], &[6, 2, 0, 3]).is_err());
        assert!(op
            .shape(&[1, 4, 8, 8], &[6, usize::MAX / 2 + 1, 3, 3])
            .is_err());
        assert!(op.shape(&[1, 4, 2, 2], &[6, 2, 3, 3]).is_err());
        assert!(op.shape(&[1, 4, 8], &[6, 2, 3, 3]).is_err());
        let x = t(&[1, 1, 3, 3], vec![0.; 9]);
        let w = t(&[1, 1, 2, 2], vec![0.; 4]);
        assert!(eval1(
            &conv_op(None, None),
            &[Some(x), Some(w), Some(t(&[2], vec![0.; 2]))]
        )
        .is_err());
    }

    #[test]
    fn infers_spatial_dims_from_kernel_shape_without_weight_shape() {
        let op = Conv {
            window: WindowAttrs {
                kernel_shape: Some(vec![3, 3]),
                strides: Some(vec![2, 2]),
                ..Default::default()
            },
            group: None,
        };
        let x = ValueType::tensor(
            DType::F32,
            vec![
                Dim::Sym("N".into()),
                Dim::Known(3),
                Dim::Known(9),
                Dim::Unknown,
            ],
        );
        let inputs = [x, ValueType::Unknown];
        let ctx = InferCtx {
            opset: 13,
            inputs: &inputs,
            consts: &[],
            num_outputs: 1,
        };
        let want = vec![
            Dim::Sym("N".into()),
            Dim::Unknown,
            Dim::Known(4),
            Dim::Unknown,
        ];
        assert_eq!(
            op.infer(&ctx).unwrap()[0],
            ValueType::tensor(DType::F32, want)
        );
    }

    #[test]
    fn cost_reports_macs_and_params() {
        let tt = |s: &[usize]| TensorType::known(DType::F32, s);
        let (inputs, outputs) = (
            [tt(&[2, 4, 8, 8]), tt(&[6, 2, 3, 3]), tt(&[6])],
            [tt(&[2, 6, 6, 6])],
        );
        let ctx = CostCtx {
            inputs: &inputs,
            outputs: &outputs,
            is_param: &[false, true, true],
        };
        let c = Conv {
            window: WindowAttrs::default(),
            group: Some(2),
        }
        .cost(&ctx);
        // N * M * OH * OW * (C / group) * KH * KW
        assert_eq!(c.macs, 2 * 6 * 36 * 2 * 9);
        assert_eq!(c.params, 6 * 2 * 9 + 6);
    }
}
