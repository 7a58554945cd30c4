//! MatMulInteger (opset 10): `(A - a_zero_point) @ (B - b_zero_point)` accumulated in i32.
//! Spec: <https://onnx.ai/onnx/operators/onnx__MatMulInteger.html>
//!
//! No attributes. Inputs: `A`, `B` (i8 or u8), optional `a_zero_point` (scalar, per row of A:
//! [M] or [D1, D2, M, 1]) and `b_zero_point` (scalar, per column of B: [N] or [D1, D2, 1, N]).
//! Output: `Y` (i32), numpy matmul broadcasting. Sums wrap like the reference's int32 numpy.

use super::common::values_f64;
use super::matmul_common::{expand_param, infer_matmul_shape, matmul, matmul_shape, Side};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct MatMulInteger;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(MatMulInteger))
}

/// Values of an i8/u8 operand minus its zero point, as i64.
pub fn centered(op: &str, x: &Tensor, zp: Option<&Tensor>, side: Side) -> Result<Vec<i64>> {
    if !matches!(x.dtype(), DType::I8 | DType::U8) {
        bail!("{op}: inputs must be int8 or uint8, got {}", x.dtype());
    }
    let xv = values_f64(x)?;
    let zv = match zp {
        Some(z) => expand_param(op, z, values_f64(z)?, side, x.shape())?,
        None => vec![0.0; xv.len()],
    };
    Ok(xv.iter().zip(&zv).map(|(&v, &z)| (v - z) as i64).collect())
}

/// MACs of a matmul of these input types: batch x M x K x N.
pub fn matmul_macs(a: Option<Vec<usize>>, b: Option<Vec<usize>>) -> u64 {
    match (a, b) {
        (Some(a), Some(b)) => matmul_shape("", &a, &b)
            .map(|s| (s.batch.iter().product::<usize>() * s.m * s.k * s.n) as u64)
            .unwrap_or(0),
        _ => 0,
    }
}

impl Op for MatMulInteger {
    fn op_type(&self) -> &str {
        "MatMulInteger"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let shape = infer_matmul_shape("MatMulInteger", &ctx.tensor(0), &ctx.tensor(1))?;
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(DType::I32),
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let s = matmul_shape("MatMulInteger", a.shape(), b.shape())?;
        let av = centered("MatMulInteger", a, inputs.opt_tensor(2)?, Side::A)?;
        let bv = centered("MatMulInteger", b, inputs.opt_tensor(3)?, Side::B)?;
        let y: Vec<i32> = matmul(&s, &av, &bv).into_iter().map(|v| v as i32).collect();
        Ok(vec![Tensor::from_vec(s.out, y)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        Cost {
            macs: matmul_macs(ctx.input_shape(0), ctx.input_shape(1)),
            ..ctx.movement()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn reference_example() {
        // test_matmulinteger: A [4, 3] - 12, B [3, 2] - 0.
        let a = Tensor::from_vec(vec![4, 3], vec![11u8, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]).unwrap();
        let b = Tensor::from_vec(vec![3, 2], vec![1u8, 4, 2, 5, 3, 6]).unwrap();
        let inputs = [
            Some(a),
            Some(b),
            Some(Tensor::vec1(vec![12u8])),
            Some(Tensor::vec1(vec![0u8])),
        ];
        let y = eval1(&MatMulInteger, &inputs).unwrap();
        assert_eq!(
            y.as_slice::<i32>().unwrap(),
            &[-38, -83, -44, -98, -50, -113, -56, -128]
        );
    }

    #[test]
    fn per_row_zero_point() {
        let a = Tensor::from_vec(vec![2, 1], vec![5i8, 5]).unwrap();
        let b = Tensor::from_vec(vec![1, 1], vec![2i8]).unwrap();
        let y = eval1(
            &MatMulInteger,
            &[Some(a), Some(b), Some(Tensor::vec1(vec![1i8, 2])), None],
        )
        .unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[8, 6]);
    }
}
