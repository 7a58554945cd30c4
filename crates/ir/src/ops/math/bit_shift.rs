//! BitShift: shifts integers left or right by per-element amounts, broadcast.
//! Spec: <https://onnx.ai/onnx/operators/onnx__BitShift.html>. Since opset 11.
//!
//! Attribute `direction` (string, required): "LEFT" or "RIGHT".
//! Inputs X, Y (same integer type T; the spec lists unsigned types, newer test data also signed);
//! output Z: T. Shift amounts outside `0..bits` give 0 (or -1 for a right shift of a negative
//! signed value), as the ONNX reference does; right shifts of signed values are arithmetic.

use super::common::{common_dtype, map2, same_dtype};
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::BuildCtx;
use crate::{bail, dispatch_int, Result, Value, ValueType};
use edgeopt_tensor::{Elem, Tensor};

#[derive(Clone, Debug)]
pub struct BitShift {
    pub left: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let left = match ctx.attrs.string("direction")?.as_deref() {
        Some("LEFT") => true,
        Some("RIGHT") => false,
        Some(d) => bail!("BitShift: direction must be LEFT or RIGHT, got '{d}'"),
        None => bail!("BitShift: required attribute 'direction' is missing"),
    };
    Ok(Box::new(BitShift { left }))
}

trait Shift: Elem + bytemuck::NoUninit {
    fn shift(self, by: Self, left: bool) -> Self;
}

macro_rules! shift {
    ($neg:expr; $($t:ty),*) => { $(impl Shift for $t {
        fn shift(self, by: Self, left: bool) -> Self {
            let zero: Self = 0;
            if by < zero || by as u64 >= <$t>::BITS as u64 {
                // Every bit shifted out: only a right shift's sign fill is left.
                return if !left && $neg && self < zero { self >> (<$t>::BITS - 1) } else { 0 };
            }
            if left { self.wrapping_shl(by as u32) } else { self >> by as u32 }
        }
    })* };
}
shift!(true; i8, i16, i32, i64);
shift!(false; u8, u16, u32, u64);

fn apply<T: Shift>(left: bool, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    map2(x, y, |a: T, b: T| a.shift(b, left))
}

impl Op for BitShift {
    fn op_type(&self) -> &str {
        "BitShift"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        common_dtype("BitShift", &[ctx.input(0), ctx.input(1)])?;
        Ok(vec![infer_broadcast(
            &ctx.inputs[..ctx.inputs.len().min(2)],
            None,
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, y) = (inputs.tensor(0)?, inputs.tensor(1)?);
        same_dtype("BitShift", x, y)?;
        let z = dispatch_int!(x.dtype(), T => apply::<T>(self.left, x, y)?);
        Ok(vec![z.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .string("direction", if self.left { "LEFT" } else { "RIGHT" })
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn run<T: Elem + bytemuck::NoUninit>(left: bool, x: Vec<T>, y: Vec<T>) -> Vec<T> {
        let op = BitShift { left };
        eval1(&op, &[Some(Tensor::vec1(x)), Some(Tensor::vec1(y))])
            .unwrap()
            .to_vec::<T>()
            .unwrap()
    }

    #[test]
    fn unsigned_shifts() {
        // test_bitshift_left_uint8 / test_bitshift_right_uint8.
        assert_eq!(run(true, vec![16u8, 4, 1], vec![1, 2, 3]), [32, 16, 8]);
        assert_eq!(run(false, vec![16u8, 4, 1], vec![1, 2, 3]), [8, 1, 0]);
    }

    #[test]
    fn signed_and_out_of_range() {
        // test_bitshift_right_int8_shift_ge_width, _left_int8_negative_shift, _left_int8_overflow.
        assert_eq!(run(false, vec![-8i8, 4, -1], vec![8, 9, 127]), [-1, 0, -1]);
        assert_eq!(run(true, vec![-8i8, 4, -1], vec![-1, -8, -16]), [0, 0, 0]);
        assert_eq!(run(true, vec![64i8, -1], vec![1, 7]), [-128, -128]);
        assert_eq!(run(false, vec![-8i32], vec![1]), [-4]);
    }
}
