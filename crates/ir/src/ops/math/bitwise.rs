//! BitwiseAnd, BitwiseOr, BitwiseXor: broadcast bit operations on integers, table-driven.
//! Spec: <https://onnx.ai/onnx/operators/onnx__BitwiseAnd.html> (and `onnx__BitwiseOr`,
//! `onnx__BitwiseXor`). Since opset 18.
//!
//! Inputs A, B (same integer type T); output C: T, broadcast multidirectionally.

use super::common::{common_dtype, map2, same_dtype};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::Registry;
use crate::{dispatch_int, Result, Value, ValueType};
use edgeopt_tensor::{Elem, Tensor};
use std::ops::{BitAnd, BitOr, BitXor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitwiseKind {
    And,
    Or,
    Xor,
}

use BitwiseKind::*;

#[derive(Clone, Debug)]
pub struct Bitwise {
    pub kind: BitwiseKind,
}

fn apply<T>(kind: BitwiseKind, a: &Tensor, b: &Tensor) -> Result<Tensor>
where
    T: Elem + bytemuck::NoUninit + BitAnd<Output = T> + BitOr<Output = T> + BitXor<Output = T>,
{
    match kind {
        And => map2(a, b, |x: T, y: T| x & y),
        Or => map2(a, b, |x: T, y: T| x | y),
        Xor => map2(a, b, |x: T, y: T| x ^ y),
    }
}

impl Op for Bitwise {
    fn op_type(&self) -> &str {
        match self.kind {
            And => "BitwiseAnd",
            Or => "BitwiseOr",
            Xor => "BitwiseXor",
        }
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        common_dtype(self.op_type(), &[ctx.input(0), ctx.input(1)])?;
        Ok(vec![infer_broadcast(
            &ctx.inputs[..ctx.inputs.len().min(2)],
            None,
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        same_dtype(self.op_type(), a, b)?;
        let c = dispatch_int!(a.dtype(), T => apply::<T>(self.kind, a, b)?);
        Ok(vec![c.into()])
    }
}

pub fn register(r: &mut Registry) {
    r.register("", "BitwiseAnd", |_| Ok(Box::new(Bitwise { kind: And })));
    r.register("", "BitwiseOr", |_| Ok(Box::new(Bitwise { kind: Or })));
    r.register("", "BitwiseXor", |_| Ok(Box::new(Bitwise { kind: Xor })));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn bit_ops_broadcast() {
        let a = || Tensor::from_vec(vec![2, 2], vec![0b1100u8, 0b1010, 0xff, 0]).unwrap();
        let b = || Tensor::vec1(vec![0b1010u8, 0b0110]);
        let run = |k| {
            eval1(&Bitwise { kind: k }, &[Some(a()), Some(b())])
                .unwrap()
                .to_vec::<u8>()
                .unwrap()
        };
        assert_eq!(run(And), [0b1000, 0b0010, 0b1010, 0]);
        assert_eq!(run(Or), [0b1110, 0b1110, 0xff, 0b0110]);
        assert_eq!(run(Xor), [0b0110, 0b1100, 0b11110101, 0b0110]);
        let y = eval1(
            &Bitwise { kind: And },
            &[
                Some(Tensor::vec1(vec![-1i64])),
                Some(Tensor::vec1(vec![6i64])),
            ],
        );
        assert_eq!(y.unwrap().to_vec::<i64>().unwrap(), [6]);
        assert!(eval1(
            &Bitwise { kind: And },
            &[
                Some(Tensor::vec1(vec![1f32])),
                Some(Tensor::vec1(vec![1f32]))
            ]
        )
        .is_err());
    }
}
