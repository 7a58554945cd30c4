//! BitCast (opset 26): reinterprets the bits of each element as dtype `to`, which must have the
//! same bit width (bool counts as 8 bits; 4- and 2-bit types keep their codes).
//! Spec: <https://onnx.ai/onnx/operators/onnx__BitCast.html>
//!
//! Attribute: `to` (required). Input: `input` (any type but string). Output: same shape.

use super::cast::parse_to;
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct BitCast {
    pub to: DType,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let to = parse_to(ctx, "BitCast")?;
    if to == DType::String {
        bail!("BitCast: 'to' cannot be STRING");
    }
    Ok(Box::new(BitCast { to }))
}

impl BitCast {
    fn check(&self, from: DType) -> Result<()> {
        if from == DType::String {
            bail!("BitCast: input cannot be a string tensor");
        }
        if from.packed_bits() != self.to.packed_bits() {
            bail!(
                "BitCast: {from} ({} bits) and {} ({} bits) differ in width",
                from.packed_bits(),
                self.to,
                self.to.packed_bits()
            );
        }
        Ok(())
    }
}

impl Op for BitCast {
    fn op_type(&self) -> &str {
        "BitCast"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        if let Some(d) = x.dtype {
            self.check(d)?;
        }
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(self.to),
            shape: x.shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        self.check(x.dtype())?;
        let bytes = x.bytes().cloned().unwrap_or_default();
        if self.to == DType::Bool {
            if let Some(b) = bytes.iter().find(|&&b| b > 1) {
                bail!("BitCast: byte {b:#04x} is not a valid bool");
            }
        }
        Ok(vec![Tensor::from_bytes(
            self.to,
            x.shape().to_vec(),
            bytes,
        )?
        .into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("to", self.to.onnx_code() as i64)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn reinterprets_bits() {
        // test_bitcast_float32_to_int32: 1.0f32 -> 0x3F800000
        let op = BitCast { to: DType::I32 };
        let y = eval1(&op, &[Some(Tensor::vec1(vec![1.0f32, -2.0]))]).unwrap();
        assert_eq!(
            y.as_slice::<i32>().unwrap(),
            &[0x3F80_0000, 0xC000_0000u32 as i32]
        );
        let y = eval1(
            &BitCast { to: DType::U8 },
            &[Some(Tensor::vec1(vec![true, false]))],
        )
        .unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[1, 0]);
    }

    #[test]
    fn refuses_width_mismatch_and_bad_bools() {
        assert!(eval1(
            &BitCast { to: DType::I64 },
            &[Some(Tensor::vec1(vec![1.0f32]))]
        )
        .is_err());
        assert!(eval1(
            &BitCast { to: DType::Bool },
            &[Some(Tensor::vec1(vec![2u8]))]
        )
        .is_err());
    }
}
