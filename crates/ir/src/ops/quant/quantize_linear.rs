//! QuantizeLinear: `y = saturate(round(x / y_scale) + y_zero_point)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html>
//!
//! Inputs: `x` (f32, f16, bf16, i32), `y_scale`, optional `y_zero_point` (its dtype is the output
//! dtype). Output: `y`, shaped like `x`.
//! Attributes: `axis` (13+, default 1), `saturate` (19+, default 1, 8-bit float outputs only),
//! `block_size` (21+, default 0: per-tensor or per-axis), `output_dtype` (21+, used when there
//! is no zero point; default u8), `precision` (23+, the float type of the division; default the
//! numpy promotion of x and y_scale).
//! Rounding is half to even; integer outputs clamp to their range; 8-bit float outputs ignore
//! the zero point (it must be 0) and use Cast's saturation; F4E2M1 adds the zero point and
//! always saturates. Opsets 10..25 only add attributes and output types.

use super::common::{
    arith, check_zero_point_shape, int_range, is_f8, is_quant_type, promote, round_to, values_f64,
    ParamMap,
};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::cast::convert::{encode, RoundMode};
use crate::ops::cast::kernel::{cast_tensor, CastOpts};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct QuantizeLinear {
    pub axis: Option<i64>,
    pub saturate: Option<i64>,
    pub block_size: Option<i64>,
    pub output_dtype: Option<DType>,
    pub precision: Option<DType>,
}

fn dtype_attr(ctx: &mut BuildCtx, name: &str) -> Result<Option<DType>> {
    match ctx.attrs.int(name)? {
        None | Some(0) => Ok(None),
        Some(c) => match i32::try_from(c).ok().and_then(DType::from_onnx_code) {
            Some(d) => Ok(Some(d)),
            None => bail!("attribute '{name}' = {c} is not a supported data type"),
        },
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let op = QuantizeLinear {
        axis: ctx.attrs.int("axis")?,
        saturate: ctx.attrs.int("saturate")?,
        block_size: ctx.attrs.int("block_size")?,
        output_dtype: dtype_attr(ctx, "output_dtype")?,
        precision: dtype_attr(ctx, "precision")?,
    };
    if let Some(d) = op.output_dtype {
        if !is_quant_type(d) {
            bail!("QuantizeLinear: output_dtype {d} is not a quantized type");
        }
    }
    if let Some(p) = op.precision {
        if !matches!(p, DType::F32 | DType::F16 | DType::BF16 | DType::F64) {
            bail!("QuantizeLinear: precision {p} is not a float type");
        }
    }
    Ok(Box::new(op))
}

/// Attributes that are dtypes, shared with DequantizeLinear.
pub fn parse_dtype_attr(ctx: &mut BuildCtx, name: &str) -> Result<Option<DType>> {
    dtype_attr(ctx, name)
}

impl QuantizeLinear {
    fn out_dtype(&self, zp: Option<DType>) -> Result<DType> {
        match (zp, self.output_dtype) {
            (Some(z), Some(o)) if z != o => {
                bail!("QuantizeLinear: output_dtype {o} differs from y_zero_point's {z}")
            }
            (Some(z), _) => Ok(z),
            (None, Some(o)) => Ok(o),
            (None, None) => Ok(DType::U8),
        }
    }
}

impl Op for QuantizeLinear {
    fn op_type(&self) -> &str {
        "QuantizeLinear"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let dt = self.out_dtype(ctx.input(2).dtype())?;
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(dt),
            shape: ctx.tensor(0).shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, scale, zp) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.opt_tensor(2)?);
        let out = self.out_dtype(zp.map(|z| z.dtype()))?;
        if !is_quant_type(out) {
            bail!("QuantizeLinear: {out} is not a quantized type");
        }
        let (axis, block) = (self.axis.unwrap_or(1), self.block_size.unwrap_or(0));
        let smap = ParamMap::new(
            "QuantizeLinear",
            "y_scale",
            x.shape(),
            scale.shape(),
            axis,
            block,
        )?;
        if let Some(z) = zp {
            check_zero_point_shape("QuantizeLinear", scale, z)?;
        }
        let prec = self
            .precision
            .unwrap_or_else(|| promote(x.dtype(), scale.dtype()));
        let (xv, sv) = (values_f64(x)?, values_f64(scale)?);
        let zv = match zp {
            Some(z) => values_f64(z)?,
            None => vec![0.0],
        };
        let zat = |i: usize| if zv.len() == 1 { zv[0] } else { zv[smap.at(i)] };
        let q = |i: usize| {
            arith(
                prec,
                round_to(prec, xv[i]),
                round_to(prec, sv[smap.at(i)]),
                |a, b| a / b,
            )
        };
        let shape = x.shape().to_vec();
        let y = if let Some((lo, hi)) = int_range(out) {
            let v: Vec<i64> = (0..xv.len())
                .map(|i| {
                    // NaN has no integer; it quantizes to the zero point.
                    let r = q(i)
                        .round_ties_even()
                        .clamp(i32::MIN as f64, i32::MAX as f64);
                    let r = if r.is_nan() { 0 } else { r as i64 };
                    (r + zat(i) as i64).clamp(lo, hi)
                })
                .collect();
            cast_tensor(&Tensor::from_vec(shape, v)?, out, CastOpts::default())?
        } else {
            let saturate = self.saturate.unwrap_or(1) != 0;
            let codes: Vec<u8> = (0..xv.len())
                .map(|i| {
                    let v = if is_f8(out) {
                        q(i)
                    } else {
                        arith(prec, q(i), zat(i), |a, b| a + b)
                    };
                    encode(out, v, saturate, RoundMode::Up)
                })
                .collect();
            Tensor::from_bytes(out, shape, codes.into())?
        };
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(3)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("axis", self.axis)
            .opt_int("saturate", self.saturate)
            .opt_int("block_size", self.block_size)
            .opt_int(
                "output_dtype",
                self.output_dtype.map(|d| d.onnx_code() as i64),
            )
            .opt_int("precision", self.precision.map(|d| d.onnx_code() as i64))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};

    fn op() -> QuantizeLinear {
        QuantizeLinear {
            axis: None,
            saturate: None,
            block_size: None,
            output_dtype: None,
            precision: None,
        }
    }

    #[test]
    fn per_tensor_uint8() {
        // test_quantizelinear: x / 2 + 128, rounded half to even, clamped.
        let x = Tensor::vec1(vec![0f32, 2.0, 3.0, 1000.0, -254.0, -1000.0]);
        let y = eval1(
            &op(),
            &[
                Some(x),
                Some(Tensor::scalar(2f32)),
                Some(Tensor::scalar(128u8)),
            ],
        )
        .unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[128, 129, 130, 255, 1, 0]);
    }

    #[test]
    fn blocked_symmetric_int16() {
        // test_quantizelinear_blocked_symmetric (first row): scales [1.5, 2.5] in blocks of 2.
        let x = Tensor::from_vec(vec![1, 4], vec![6f32, -8.0, -10.0, 5.0]).unwrap();
        let s = Tensor::from_vec(vec![1, 2], vec![1.5f32, 2.5]).unwrap();
        let q = QuantizeLinear {
            block_size: Some(2),
            output_dtype: Some(DType::I16),
            ..op()
        };
        let y = eval1(&q, &[Some(x.clone()), Some(s.clone()), None]).unwrap();
        assert_eq!(y.as_slice::<i16>().unwrap(), &[4, -5, -4, 2]);
        assert_eq!(
            infer(&q, &[Some(x), Some(s), None], 1).unwrap()[0],
            ValueType::known(DType::I16, &[1, 4])
        );
    }

    #[test]
    fn int4_per_axis_and_float8() {
        // test_quantizelinear_int4, row 0: x [0, 2.5, 4.8, 8.6] / 2 + 1 -> [1, 2, 3, 5].
        let x = Tensor::from_vec(vec![1, 4], vec![0f32, 2.5, 4.8, 8.6]).unwrap();
        let zp = Tensor::from_bytes(DType::I4, vec![1], vec![1u8].into()).unwrap();
        let q = QuantizeLinear {
            axis: Some(0),
            ..op()
        };
        let y = eval1(&q, &[Some(x), Some(Tensor::vec1(vec![2f32])), Some(zp)]).unwrap();
        assert_eq!((y.dtype(), y.as_bytes()), (DType::I4, &[1u8, 2, 3, 5][..]));
        // test_quantizelinear_e4m3fn: 100000 / 2 saturates to 448 (0x7E).
        let zp = Tensor::from_bytes(DType::F8E4M3FN, vec![1], vec![0u8].into()).unwrap();
        let x = Tensor::vec1(vec![0f32, 1.0, 100000.0]);
        let y = eval1(&op(), &[Some(x), Some(Tensor::scalar(2f32)), Some(zp)]).unwrap();
        assert_eq!(y.as_bytes(), &[0x00, 0x30, 0x7E]);
    }

    #[test]
    fn refuses_bad_shapes() {
        let x = Tensor::from_vec(vec![2, 3], vec![0f32; 6]).unwrap();
        let s = Tensor::vec1(vec![1f32, 2.0]);
        assert!(eval1(&op(), &[Some(x), Some(s), None]).is_err());
    }
}
