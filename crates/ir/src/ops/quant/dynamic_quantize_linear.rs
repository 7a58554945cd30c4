//! DynamicQuantizeLinear (opset 11): quantizes f32 `x` to u8 with a scale and zero point
//! computed from the data range (which always includes 0).
//! Spec: <https://onnx.ai/onnx/operators/onnx__DynamicQuantizeLinear.html>
//!
//! No attributes. Input: `x` (f32). Outputs: `y` (u8, x's shape), `y_scale` (f32 scalar),
//! `y_zero_point` (u8 scalar):
//! `scale = (max(0, max x) - min(0, min x)) / 255`, `zp = round(clamp(-min / scale, 0, 255))`,
//! `y = clamp(round(x / scale) + zp, 0, 255)`, rounding half to even, all in f32.

use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct DynamicQuantizeLinear;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(DynamicQuantizeLinear))
}

/// The scale, zero point and quantized values of `x`, as the ONNX reference computes them.
pub fn dynamic_quantize(x: &[f32]) -> (f32, u8, Vec<u8>) {
    let max = x.iter().copied().fold(0f32, f32::max);
    let min = x.iter().copied().fold(0f32, f32::min);
    let scale = if max == min { 1.0 } else { max - min } / 255.0;
    let zp = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even();
    let y = x
        .iter()
        .map(|&v| ((v / scale).round_ties_even() + zp).clamp(0.0, 255.0) as u8)
        .collect();
    (scale, zp as u8, y)
}

impl Op for DynamicQuantizeLinear {
    fn op_type(&self) -> &str {
        "DynamicQuantizeLinear"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        if let Some(d) = x.dtype.filter(|&d| d != DType::F32) {
            bail!("DynamicQuantizeLinear: x must be float32, got {d}");
        }
        Ok(vec![
            ValueType::Tensor(TensorType {
                dtype: Some(DType::U8),
                shape: x.shape,
            }),
            ValueType::known(DType::F32, &[]),
            ValueType::known(DType::U8, &[]),
        ])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let (scale, zp, y) = dynamic_quantize(x.as_slice::<f32>()?);
        Ok(vec![
            Tensor::from_vec(x.shape().to_vec(), y)?.into(),
            Tensor::scalar(scale).into(),
            Tensor::scalar(zp).into(),
        ])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        // A min/max pass, then divide, round, add and clamp.
        ctx.elementwise(6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_example() {
        // test_dynamicquantizelinear: x = [0, 2, -3, -2.5, 1.34, 0.5]
        // -> y_scale 0.019607844, zp 153, y = [153, 255, 0, 26, 221, 179].
        let (s, zp, y) = dynamic_quantize(&[0.0, 2.0, -3.0, -2.5, 1.34, 0.5]);
        assert_eq!(s, 0.019607844);
        assert_eq!(zp, 153);
        assert_eq!(y, vec![153, 255, 0, 26, 221, 179]);
    }

    #[test]
    fn all_zero_input_uses_unit_range() {
        let (s, zp, y) = dynamic_quantize(&[0.0, 0.0]);
        assert_eq!((s, zp, y), (1.0 / 255.0, 0, vec![0, 0]));
    }
}
