//! Add, Sub, Mul, Div: numpy-broadcast arithmetic on two tensors of one numeric dtype,
//! table-driven. Spec: <https://onnx.ai/onnx/operators/onnx__Add.html> (and `onnx__Sub`,
//! `onnx__Mul`, `onnx__Div`).
//!
//! Inputs A, B (same type T); output C = A op B, broadcast multidirectionally.
//! Opset differences: before 7 broadcasting was opt-in through the `broadcast` and `axis`
//! attributes ([`LegacyBroadcast`]); opset 13 adds bf16; opset 14 adds 8/16-bit integers.
//! Integers wrap on overflow, and integer Div truncates toward zero (by zero it gives 0).
//!
//! Speed: the broadcast walker runs the innermost dims as one contiguous loop, so same-shape,
//! scalar and per-channel cases (the bulk of a CNN) are tight loops the compiler vectorizes.

use super::common::{common_dtype, map2, same_dtype, LegacyBroadcast, Scalar};
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::{BuildCtx, Registry};
use crate::{dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
}

use BinaryKind::*;

const TABLE: &[(&str, BinaryKind)] = &[("Add", Add), ("Sub", Sub), ("Mul", Mul), ("Div", Div)];

#[derive(Clone, Debug)]
pub struct Binary {
    pub kind: BinaryKind,
    pub legacy: LegacyBroadcast,
    name: &'static str,
}

impl Binary {
    pub fn new(kind: BinaryKind) -> Self {
        let name = TABLE
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(n, _)| *n)
            .unwrap_or("?");
        Binary {
            kind,
            legacy: LegacyBroadcast::default(),
            name,
        }
    }

    fn build(kind: BinaryKind, ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
        Ok(Box::new(Binary {
            legacy: LegacyBroadcast::parse(ctx)?,
            ..Binary::new(kind)
        }))
    }
}

/// `a op b` for one dtype; monomorphized per kind so each loop body is a single instruction.
pub fn apply<T: Scalar>(kind: BinaryKind, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    match kind {
        Add => map2(a, b, |x: T, y: T| x.add(y)),
        Sub => map2(a, b, |x: T, y: T| x.sub(y)),
        Mul => map2(a, b, |x: T, y: T| x.mul(y)),
        Div => map2(a, b, |x: T, y: T| x.div(y)),
    }
}

impl Op for Binary {
    fn op_type(&self) -> &str {
        self.name
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        common_dtype(self.name, &[ctx.input(0), ctx.input(1)])?;
        let b = self.legacy.align_type(ctx.input(0), ctx.input(1))?;
        Ok(vec![infer_broadcast(&[ctx.input(0).clone(), b], None)?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        same_dtype(self.name, a, b)?;
        let b = self.legacy.align(a, b)?;
        let c = dispatch_num!(a.dtype(), T => apply::<T>(self.kind, a, &b)?);
        Ok(vec![c.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.legacy.export(AttrList::default()).build()
    }
}

pub fn register(r: &mut Registry) {
    r.register("", "Add", |c| Binary::build(Add, c));
    r.register("", "Sub", |c| Binary::build(Sub, c));
    r.register("", "Mul", |c| Binary::build(Mul, c));
    r.register("", "Div", |c| Binary::build(Div, c));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::{f16, DType, Dim};

    fn run(kind: BinaryKind, a: Tensor, b: Tensor) -> Tensor {
        eval1(&Binary::new(kind), &[Some(a), Some(b)]).unwrap()
    }

    #[test]
    fn float_broadcast() {
        let a = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        let y = run(Sub, a.clone(), Tensor::vec1(vec![1f32, 2., 3.]));
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 0., 0., 3., 3., 3.]);
        let y = run(Mul, Tensor::scalar(2f32), a);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[2., 4., 6., 8., 10., 12.]);
    }

    #[test]
    fn int_div_truncates_and_wraps() {
        // test_div_int32_trunc: [-3, 3, -3, 3] / [2, 2, -2, -2] = [-1, 1, 1, -1].
        let y = run(
            Div,
            Tensor::vec1(vec![-3i32, 3, -3, 3]),
            Tensor::vec1(vec![2i32, 2, -2, -2]),
        );
        assert_eq!(y.as_slice::<i32>().unwrap(), &[-1, 1, 1, -1]);
        let y = run(Add, Tensor::vec1(vec![250u8]), Tensor::vec1(vec![10u8]));
        assert_eq!(y.as_slice::<u8>().unwrap(), &[4]);
    }

    #[test]
    fn half_precision() {
        let a = Tensor::vec1(vec![f16::from_f32(1.5), f16::from_f32(-2.0)]);
        let y = run(Add, a.clone(), a);
        assert_eq!(
            y.as_slice::<f16>().unwrap(),
            &[f16::from_f32(3.0), f16::from_f32(-4.0)]
        );
    }

    #[test]
    fn mismatched_inputs_are_errors() {
        let op = Binary::new(Add);
        assert!(eval1(
            &op,
            &[
                Some(Tensor::vec1(vec![1f32])),
                Some(Tensor::vec1(vec![1i32]))
            ]
        )
        .is_err());
        let a = Tensor::vec1(vec![1f32, 2., 3.]);
        assert!(eval1(&op, &[Some(a.clone()), Some(Tensor::vec1(vec![1f32, 2.]))]).is_err());
        assert!(eval1(&op, &[Some(a)]).is_err());
    }

    #[test]
    fn legacy_axis_broadcast() {
        // Opset 6: B of shape [3] aligned at axis 0 of A [3, 2].
        let op = Binary {
            legacy: LegacyBroadcast {
                broadcast: Some(1),
                axis: Some(0),
            },
            ..Binary::new(Add)
        };
        let a = Tensor::from_vec(vec![3, 2], vec![0f32; 6]).unwrap();
        let y = eval1(
            &op,
            &[Some(a.clone()), Some(Tensor::vec1(vec![1f32, 2., 3.]))],
        )
        .unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 1., 2., 2., 3., 3.]);
        let t = infer(&op, &[Some(a), Some(Tensor::vec1(vec![1f32, 2., 3.]))], 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::F32, &[3, 2]));
        assert_eq!(op.attributes().len(), 2);
    }

    #[test]
    fn infers_symbolic_broadcast() {
        let op = Binary::new(Mul);
        let a = ValueType::tensor(DType::F32, vec![Dim::Sym("N".into()), Dim::Known(3)]);
        let b = ValueType::known(DType::F32, &[1, 3]);
        let ctx = InferCtx {
            opset: 21,
            inputs: &[a.clone(), b],
            consts: &[],
            num_outputs: 1,
        };
        assert_eq!(op.infer(&ctx).unwrap()[0], a);
        let c = ValueType::known(DType::I64, &[3]);
        let ctx = InferCtx {
            opset: 21,
            inputs: &[a, c],
            consts: &[],
            num_outputs: 1,
        };
        assert!(op.infer(&ctx).is_err());
    }
}
