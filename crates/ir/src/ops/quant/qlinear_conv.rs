//! QLinearConv (opset 10): quantized convolution,
//! `y = saturate(round((conv(x - x_zp, w - w_zp) + B) * x_scale * w_scale / y_scale) + y_zp)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__QLinearConv.html>
//!
//! Attributes: as Conv (`auto_pad`, `dilations`, `group`, `kernel_shape`, `pads`, `strides`).
//! Inputs: `x`, `x_scale`, `x_zero_point` (scalars), `w`, `w_scale`, `w_zero_point` (scalars or
//! [M], per output channel), `y_scale`, `y_zero_point` (scalars), optional `B` (i32 [M]).
//! Output: `y` of y_zero_point's dtype (i8/u8). The accumulator is i32; the requantization
//! scale is computed in f32 and applied in f64, like the reference.

use super::common::{arith, int_range, values_f64, values_i64};
use super::conv_common::{check_shapes, conv, conv_macs, ConvAttrs};
use super::conv_integer::{centered, infer_conv};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::cast::kernel::{cast_tensor, CastOpts};
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct QLinearConv {
    pub conv: ConvAttrs,
}

const OP: &str = "QLinearConv";

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(QLinearConv {
        conv: ConvAttrs::parse(ctx, OP)?,
    }))
}

/// A scalar parameter, or one per output channel when `per_channel` allows it.
fn param(name: &str, t: &Tensor, m: usize, per_channel: bool) -> Result<Vec<f64>> {
    let v = values_f64(t)?;
    if v.len() == 1 || (per_channel && t.rank() == 1 && v.len() == m) {
        Ok(v)
    } else {
        bail!(
            "{OP}: {name} of shape {:?} must be a scalar{}",
            t.shape(),
            if per_channel { " or [M]" } else { "" }
        )
    }
}

impl Op for QLinearConv {
    fn op_type(&self) -> &str {
        OP
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let dtype = ctx
            .input(7)
            .dtype()
            .or(ctx.input(0).dtype())
            .unwrap_or(DType::U8);
        Ok(vec![infer_conv(
            OP,
            &self.conv,
            &ctx.tensor(0),
            &ctx.tensor(3),
            dtype,
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, xs, xz) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.opt_tensor(2)?);
        let (w, ws, wz) = (inputs.tensor(3)?, inputs.tensor(4)?, inputs.opt_tensor(5)?);
        let (ys, yz, bias) = (
            inputs.tensor(6)?,
            inputs.opt_tensor(7)?,
            inputs.opt_tensor(8)?,
        );
        check_shapes(OP, x.shape(), w.shape(), self.conv.group())?;
        let m = w.shape()[0];
        let xv = centered(OP, "x", x, xz, false)?;
        let wv = centered(OP, "w", w, wz, true)?;
        let bias = match bias {
            Some(b) if b.dtype() == DType::I32 && b.len() == m => Some(values_i64(b)?),
            Some(b) => bail!(
                "{OP}: B must be int32 of shape [{m}], got {} {:?}",
                b.dtype(),
                b.shape()
            ),
            None => None,
        };
        let (acc, shape) = conv(
            OP,
            &xv,
            x.shape(),
            &wv,
            w.shape(),
            bias.as_deref(),
            &self.conv,
        )?;
        let (xsv, wsv, ysv) = (
            param("x_scale", xs, m, false)?,
            param("w_scale", ws, m, true)?,
            param("y_scale", ys, m, false)?,
        );
        let out_dt = yz.map(|z| z.dtype()).unwrap_or(x.dtype());
        let Some((lo, hi)) = int_range(out_dt).filter(|_| matches!(out_dt, DType::I8 | DType::U8))
        else {
            bail!("{OP}: output must be int8 or uint8, got {out_dt}");
        };
        let zp = match yz {
            Some(z) => param("y_zero_point", z, m, false)?[0],
            None => 0.0,
        };
        let per_oc = acc.len() / (shape[0] * m).max(1);
        let y: Vec<f64> = acc
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let oc = (i / per_oc) % m;
                let w_s = if wsv.len() == 1 { wsv[0] } else { wsv[oc] };
                let mult = arith(
                    DType::F32,
                    arith(DType::F32, xsv[0], w_s, |p, q| p * q),
                    ysv[0],
                    |p, q| p / q,
                );
                ((a as i32) as f64 * mult + zp)
                    .clamp(lo as f64, hi as f64)
                    .round_ties_even()
            })
            .collect();
        Ok(vec![cast_tensor(
            &Tensor::from_vec(shape, y)?,
            out_dt,
            CastOpts::default(),
        )?
        .into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        Cost {
            macs: conv_macs(ctx.input_shape(3), ctx.output_shape(0)),
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.conv.export(AttrList::default()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn requantizes_per_output_channel() {
        // 1x1 conv, two output channels with w_scale [1, 0.5]; x_scale 1, y_scale 0.5, y_zp 10:
        // y = round(x * w * x_s * w_s / y_s) + 10.
        let x = Tensor::from_vec(vec![1, 1, 1, 2], vec![3u8, 5]).unwrap();
        let w = Tensor::from_vec(vec![2, 1, 1, 1], vec![1u8, 1]).unwrap();
        let op = QLinearConv {
            conv: ConvAttrs::default(),
        };
        let inputs = [
            Some(x),
            Some(Tensor::scalar(1f32)),
            Some(Tensor::scalar(0u8)),
            Some(w),
            Some(Tensor::vec1(vec![1f32, 0.5])),
            Some(Tensor::vec1(vec![0u8, 0])),
            Some(Tensor::scalar(0.5f32)),
            Some(Tensor::scalar(10u8)),
            Some(Tensor::vec1(vec![0i32, 1])),
        ];
        let y = eval1(&op, &inputs).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[16, 20, 14, 16]);
    }
}
