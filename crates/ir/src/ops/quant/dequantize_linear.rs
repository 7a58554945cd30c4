//! DequantizeLinear: `y = (x - x_zero_point) * x_scale`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__DequantizeLinear.html>
//!
//! Inputs: `x` (8/16/32-bit ints, 4/2-bit ints, 8-bit floats, F4E2M1), `x_scale` (f32, f16,
//! bf16, or E8M0 from opset 24), optional `x_zero_point` (x's dtype; must be 0 for 8-bit floats
//! and is ignored for F4E2M1). Output: `y`, shaped like `x`, of dtype `output_dtype` (23+) or
//! else x_scale's.
//! Attributes: `axis` (13+, default 1), `block_size` (21+, default 0), `output_dtype` (23+).
//! Like the reference, the arithmetic is f32 (f64 for int32 inputs) and the result is rounded to
//! the output type once.

use super::common::{check_zero_point_shape, is_f8, values_f64, ParamMap};
use super::quantize_linear::parse_dtype_attr;
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::cast::kernel::{cast_tensor, CastOpts};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct DequantizeLinear {
    pub axis: Option<i64>,
    pub block_size: Option<i64>,
    pub output_dtype: Option<DType>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let op = DequantizeLinear {
        axis: ctx.attrs.int("axis")?,
        block_size: ctx.attrs.int("block_size")?,
        output_dtype: parse_dtype_attr(ctx, "output_dtype")?,
    };
    if let Some(d) = op.output_dtype {
        if !matches!(d, DType::F32 | DType::F16 | DType::BF16) {
            bail!("DequantizeLinear: output_dtype must be float, float16 or bfloat16, got {d}");
        }
    }
    Ok(Box::new(op))
}

impl DequantizeLinear {
    fn out_dtype(&self, scale: Option<DType>) -> Result<Option<DType>> {
        match (self.output_dtype, scale) {
            (Some(d), _) => Ok(Some(d)),
            (None, Some(DType::F8E8M0)) => {
                bail!("DequantizeLinear: an E8M0 x_scale needs output_dtype")
            }
            (None, s) => Ok(s),
        }
    }
}

impl Op for DequantizeLinear {
    fn op_type(&self) -> &str {
        "DequantizeLinear"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let dtype = self.out_dtype(ctx.input(1).dtype())?;
        Ok(vec![ValueType::Tensor(TensorType {
            dtype,
            shape: ctx.tensor(0).shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, scale, zp) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.opt_tensor(2)?);
        let out = self.out_dtype(Some(scale.dtype()))?.unwrap_or(DType::F32);
        let xd = x.dtype();
        let (axis, block) = (self.axis.unwrap_or(1), self.block_size.unwrap_or(0));
        let smap = ParamMap::new(
            "DequantizeLinear",
            "x_scale",
            x.shape(),
            scale.shape(),
            axis,
            block,
        )?;
        let zv = match zp {
            Some(z) if is_f8(xd) || xd == DType::F4E2M1 => {
                if is_f8(xd) && z.as_bytes().iter().any(|&b| b != 0) {
                    bail!("DequantizeLinear: the zero point of a {xd} input must be 0");
                }
                vec![0.0]
            }
            Some(z) => {
                if z.dtype() != xd {
                    bail!("DequantizeLinear: x_zero_point is {}, x is {xd}", z.dtype());
                }
                check_zero_point_shape("DequantizeLinear", scale, z)?;
                values_f64(z)?
            }
            None => vec![0.0],
        };
        let (xv, sv) = (values_f64(x)?, values_f64(scale)?);
        let wide = xd == DType::I32;
        let y: Vec<f64> = (0..xv.len())
            .map(|i| {
                let j = smap.at(i);
                let z = if zv.len() == 1 { zv[0] } else { zv[j] };
                if wide {
                    (xv[i] - z) * sv[j]
                } else {
                    ((xv[i] - z) as f32 * sv[j] as f32) as f64
                }
            })
            .collect();
        let y = Tensor::from_vec(x.shape().to_vec(), y)?;
        Ok(vec![cast_tensor(&y, out, CastOpts::default())?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(2)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_int("axis", self.axis)
            .opt_int("block_size", self.block_size)
            .opt_int(
                "output_dtype",
                self.output_dtype.map(|d| d.onnx_code() as i64),
            )
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn op() -> DequantizeLinear {
        DequantizeLinear {
            axis: None,
            block_size: None,
            output_dtype: None,
        }
    }

    #[test]
    fn per_tensor_and_per_axis() {
        // test_dequantizelinear: (x - 128) * 2.
        let x = Tensor::vec1(vec![0u8, 3, 128, 255]);
        let y = eval1(
            &op(),
            &[
                Some(x),
                Some(Tensor::scalar(2f32)),
                Some(Tensor::scalar(128u8)),
            ],
        )
        .unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[-256.0, -250.0, 0.0, 254.0]);
        let x = Tensor::from_vec(vec![1, 2, 2], vec![3i8, 5, 3, 5]).unwrap();
        let s = Tensor::vec1(vec![2f32, 4.0]);
        let z = Tensor::vec1(vec![1i8, 0]);
        let y = eval1(&op(), &[Some(x), Some(s), Some(z)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[4.0, 8.0, 12.0, 20.0]);
    }

    #[test]
    fn float8_with_f16_scale() {
        // test_dequantizelinear_e4m3fn_float16: codes [0, 0x30, 0x38, 0x7E, 0xED] * 2 in f16.
        let x = Tensor::from_bytes(
            DType::F8E4M3FN,
            vec![5],
            vec![0u8, 0x30, 0x38, 0x7E, 0xED].into(),
        )
        .unwrap();
        let y = eval1(
            &op(),
            &[
                Some(x),
                Some(Tensor::scalar(edgeopt_tensor::f16::from_f32(2.0))),
            ],
        )
        .unwrap();
        let got: Vec<f64> = y.to_f64_vec().unwrap();
        assert_eq!(got, vec![0.0, 1.0, 2.0, 896.0, -208.0]);
    }

    #[test]
    fn zero_point_type_must_match() {
        let x = Tensor::vec1(vec![1u8]);
        assert!(eval1(
            &op(),
            &[
                Some(x),
                Some(Tensor::scalar(1f32)),
                Some(Tensor::scalar(1i8))
            ]
        )
        .is_err());
    }
}
