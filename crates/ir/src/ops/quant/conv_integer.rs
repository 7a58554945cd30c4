//! ConvInteger (opset 10): integer convolution `(x - x_zero_point) * (w - w_zero_point)`,
//! accumulated in i32.
//! Spec: <https://onnx.ai/onnx/operators/onnx__ConvInteger.html>
//!
//! Attributes: `auto_pad` (NOTSET | SAME_UPPER | SAME_LOWER | VALID), `dilations`, `group`
//! (default 1), `kernel_shape`, `pads` ([begin..., end...]), `strides`.
//! Inputs: `x` [N, C, D1...] (i8/u8), `w` [M, C/group, k1...] (i8/u8), optional `x_zero_point`
//! (scalar) and `w_zero_point` (scalar or [M], per output channel). Output: `y` (i32).

use super::common::values_i64;
use super::conv_common::{check_shapes, conv, conv_macs, ConvAttrs};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct ConvInteger {
    pub conv: ConvAttrs,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(ConvInteger {
        conv: ConvAttrs::parse(ctx, "ConvInteger")?,
    }))
}

/// Values of `x` minus a zero point that is a scalar or (when `per_channel`) one per index of
/// axis 0 (the output channel of weights).
pub fn centered(
    op: &str,
    name: &str,
    x: &Tensor,
    zp: Option<&Tensor>,
    per_channel: bool,
) -> Result<Vec<i64>> {
    if !matches!(x.dtype(), DType::I8 | DType::U8) {
        bail!("{op}: {name} must be int8 or uint8, got {}", x.dtype());
    }
    let mut v = values_i64(x)?;
    let Some(zp) = zp else { return Ok(v) };
    let z = values_i64(zp)?;
    if z.len() == 1 {
        v.iter_mut().for_each(|e| *e -= z[0]);
    } else if per_channel && zp.rank() == 1 && x.rank() > 0 && z.len() == x.shape()[0] {
        let per = x.len() / z.len().max(1);
        v.iter_mut().enumerate().for_each(|(i, e)| *e -= z[i / per]);
    } else {
        bail!(
            "{op}: zero point of shape {:?} does not fit {name} {:?}",
            zp.shape(),
            x.shape()
        );
    }
    Ok(v)
}

/// Output type of a convolution of x by w: [N, M, spatial...].
pub fn infer_conv(
    op: &str,
    a: &ConvAttrs,
    x: &TensorType,
    w: &TensorType,
    dtype: DType,
) -> Result<ValueType> {
    let (Some(xs), Some(ws)) = (&x.shape, w.concrete_shape()) else {
        return Ok(ValueType::dtype_only(dtype));
    };
    if xs.len() < 3 || ws.len() != xs.len() {
        bail!("{op}: X and W must have the same rank >= 3");
    }
    let mut shape = vec![xs[0].clone(), Dim::Known(ws[0])];
    shape.extend(a.infer_spatial(op, &xs[2..], &ws[2..])?);
    Ok(ValueType::tensor(dtype, shape))
}

impl Op for ConvInteger {
    fn op_type(&self) -> &str {
        "ConvInteger"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![infer_conv(
            "ConvInteger",
            &self.conv,
            &ctx.tensor(0),
            &ctx.tensor(1),
            DType::I32,
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, w) = (inputs.tensor(0)?, inputs.tensor(1)?);
        check_shapes("ConvInteger", x.shape(), w.shape(), self.conv.group())?;
        let xv = centered("ConvInteger", "x", x, inputs.opt_tensor(2)?, false)?;
        let wv = centered("ConvInteger", "w", w, inputs.opt_tensor(3)?, true)?;
        let (y, shape) = conv(
            "ConvInteger",
            &xv,
            x.shape(),
            &wv,
            w.shape(),
            None,
            &self.conv,
        )?;
        let y: Vec<i32> = y.into_iter().map(|v| v as i32).collect();
        Ok(vec![Tensor::from_vec(shape, y)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        Cost {
            macs: conv_macs(ctx.input_shape(1), ctx.output_shape(0)),
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
    use crate::ops::testing::{eval1, infer};

    #[test]
    fn reference_without_padding() {
        // test_convinteger_without_padding: x = 2..=10 as 3x3 minus 1, 2x2 ones kernel.
        let x = Tensor::from_vec(vec![1, 1, 3, 3], (2u8..=10).collect()).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 2, 2], vec![1u8; 4]).unwrap();
        let op = ConvInteger {
            conv: ConvAttrs::default(),
        };
        let inputs = [Some(x), Some(w), Some(Tensor::scalar(1u8))];
        let y = eval1(&op, &inputs).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[12, 16, 24, 28]);
        assert_eq!(
            infer(&op, &inputs, 1).unwrap()[0],
            ValueType::known(DType::I32, &[1, 1, 2, 2])
        );
    }

    #[test]
    fn per_channel_weight_zero_point_and_padding() {
        // test_convinteger_with_padding: pads 1, w_zero_point [0, 1] makes channel 1 all zero.
        let x = Tensor::from_vec(vec![1, 1, 3, 3], (2u8..=10).collect()).unwrap();
        let w = Tensor::from_vec(vec![2, 1, 2, 2], vec![1u8; 8]).unwrap();
        let op = ConvInteger {
            conv: ConvAttrs {
                pads: Some(vec![1, 1, 1, 1]),
                ..Default::default()
            },
        };
        let inputs = [
            Some(x),
            Some(w),
            Some(Tensor::scalar(1u8)),
            Some(Tensor::vec1(vec![0u8, 1])),
        ];
        let y = eval1(&op, &inputs).unwrap();
        assert_eq!(y.shape(), &[1, 2, 4, 4]);
        assert_eq!(&y.as_slice::<i32>().unwrap()[..4], &[1, 3, 5, 3]);
        assert!(y.as_slice::<i32>().unwrap()[16..].iter().all(|&v| v == 0));
    }
}
