//! QLinearMatMul: quantized matmul, `y = saturate(round(((a - a_zp) @ (b - b_zp)) *
//! a_scale * b_scale / y_scale) + y_zp)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__QLinearMatMul.html>
//!
//! No attributes. Inputs: `a`, `a_scale`, `a_zero_point`, `b`, `b_scale`, `b_zero_point`,
//! `y_scale`, `y_zero_point`. Scales and zero points are scalars or per row of `a` / per column
//! of `b` (and of `y`). Output: `y` of y_zero_point's dtype (else a's).
//! Opset 10: i8/u8 with f32 scales; 21 adds f16/bf16 scales and 8-bit float operands. Like the
//! reference, the combined scale is computed in the scales' precision and applied in f64.

use super::common::{arith, int_range, is_f8, promote, values_f64};
use super::matmul_common::{expand_param, infer_matmul_shape, matmul, matmul_shape, Side};
use super::matmul_integer::matmul_macs;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::cast::convert::{encode, RoundMode};
use crate::ops::cast::kernel::{cast_tensor, CastOpts};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct QLinearMatMul;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(QLinearMatMul))
}

const OP: &str = "QLinearMatMul";

/// Operand values minus the zero point (8-bit floats have none).
fn centered(x: &Tensor, zp: Option<&Tensor>, side: Side) -> Result<Vec<f64>> {
    let d = x.dtype();
    if !matches!(d, DType::I8 | DType::U8) && !is_f8(d) {
        bail!("{OP}: inputs must be int8, uint8 or 8-bit float, got {d}");
    }
    let xv = values_f64(x)?;
    match zp {
        Some(z) if !is_f8(d) => {
            let zv = expand_param(OP, z, values_f64(z)?, side, x.shape())?;
            Ok(xv.iter().zip(&zv).map(|(v, z)| v - z).collect())
        }
        _ => Ok(xv),
    }
}

impl Op for QLinearMatMul {
    fn op_type(&self) -> &str {
        OP
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let shape = infer_matmul_shape(OP, &ctx.tensor(0), &ctx.tensor(3))?;
        let dtype = ctx.input(7).dtype().or(ctx.input(0).dtype());
        Ok(vec![ValueType::Tensor(TensorType { dtype, shape })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, a_s, a_zp) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.opt_tensor(2)?);
        let (b, b_s, b_zp) = (inputs.tensor(3)?, inputs.tensor(4)?, inputs.opt_tensor(5)?);
        let (y_s, y_zp) = (inputs.tensor(6)?, inputs.opt_tensor(7)?);
        let s = matmul_shape(OP, a.shape(), b.shape())?;
        let c = matmul(
            &s,
            &centered(a, a_zp, Side::A)?,
            &centered(b, b_zp, Side::B)?,
        );
        let out = &s.out;
        let asv = expand_param(OP, a_s, values_f64(a_s)?, Side::A, out)?;
        let bsv = expand_param(OP, b_s, values_f64(b_s)?, Side::B, out)?;
        let ysv = expand_param(OP, y_s, values_f64(y_s)?, Side::B, out)?;
        let prec = promote(promote(a_s.dtype(), b_s.dtype()), y_s.dtype());
        let (out_dt, zv) = match y_zp {
            Some(z) => (
                z.dtype(),
                expand_param(OP, z, values_f64(z)?, Side::B, out)?,
            ),
            None => (a.dtype(), vec![0.0; c.len()]),
        };
        let d: Vec<f64> = (0..c.len())
            .map(|i| {
                let m = arith(
                    prec,
                    arith(prec, asv[i], bsv[i], |x, y| x * y),
                    ysv[i],
                    |x, y| x / y,
                );
                c[i] * m + if is_f8(out_dt) { 0.0 } else { zv[i] }
            })
            .collect();
        let y = if let Some((lo, hi)) = int_range(out_dt) {
            let v: Vec<f64> = d
                .iter()
                .map(|v| v.round_ties_even().clamp(lo as f64, hi as f64))
                .collect();
            cast_tensor(
                &Tensor::from_vec(out.clone(), v)?,
                out_dt,
                CastOpts::default(),
            )?
        } else if is_f8(out_dt) {
            let codes = d
                .iter()
                .map(|&v| encode(out_dt, v, true, RoundMode::Up))
                .collect::<Vec<u8>>();
            Tensor::from_bytes(out_dt, out.clone(), codes.into())?
        } else {
            bail!("{OP}: output type {out_dt} is not supported");
        };
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        Cost {
            macs: matmul_macs(ctx.input_shape(0), ctx.input_shape(3)),
            ..ctx.movement()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn spec_example_uint8() {
        // From the ONNX QLinearMatMul example (uint8, f32 scales).
        let a = Tensor::from_vec(vec![2, 4], vec![208u8, 236, 0, 238, 3, 214, 255, 29]).unwrap();
        let b = Tensor::from_vec(
            vec![4, 3],
            vec![152u8, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247],
        )
        .unwrap();
        let inputs = [
            Some(a),
            Some(Tensor::vec1(vec![0.0066f32])),
            Some(Tensor::vec1(vec![113u8])),
            Some(b),
            Some(Tensor::vec1(vec![0.00705f32])),
            Some(Tensor::vec1(vec![114u8])),
            Some(Tensor::vec1(vec![0.0107f32])),
            Some(Tensor::vec1(vec![118u8])),
        ];
        let y = eval1(&QLinearMatMul, &inputs).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[168, 115, 255, 1, 66, 151]);
    }
}
