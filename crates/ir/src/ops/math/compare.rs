//! Equal, Less, Greater, LessOrEqual, GreaterOrEqual: broadcast comparisons giving bool,
//! table-driven. Spec: <https://onnx.ai/onnx/operators/onnx__Equal.html> (and `onnx__Less`,
//! `onnx__Greater`, `onnx__LessOrEqual`, `onnx__GreaterOrEqual`).
//!
//! Inputs A, B (same type T); output C: bool, broadcast multidirectionally.
//! Opset differences: before 7, `broadcast`/`axis` attributes ([`LegacyBroadcast`]); Equal
//! accepts bool and integers from 7, floats from 11, strings from 19; the ordered comparisons
//! accept every numeric type (LessOrEqual/GreaterOrEqual exist from 12). Comparisons with NaN
//! are false, except that NaN is never Equal to anything.

use super::common::{common_dtype, map2, same_dtype, zip2, LegacyBroadcast};
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::{BuildCtx, Registry};
use crate::{dispatch_pod, Result, Value, ValueType};
use edgeopt_tensor::{DType, Elem, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareKind {
    Equal,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
}

use CompareKind::*;

const TABLE: &[(&str, CompareKind)] = &[
    ("Equal", Equal),
    ("Less", Less),
    ("Greater", Greater),
    ("LessOrEqual", LessOrEqual),
    ("GreaterOrEqual", GreaterOrEqual),
];

#[derive(Clone, Debug)]
pub struct Compare {
    pub kind: CompareKind,
    pub legacy: LegacyBroadcast,
    name: &'static str,
}

impl Compare {
    pub fn new(kind: CompareKind) -> Self {
        let name = TABLE
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(n, _)| *n)
            .unwrap_or("?");
        Compare {
            kind,
            legacy: LegacyBroadcast::default(),
            name,
        }
    }

    fn build(kind: CompareKind, ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
        Ok(Box::new(Compare {
            legacy: LegacyBroadcast::parse(ctx)?,
            ..Compare::new(kind)
        }))
    }
}

fn test<T: PartialOrd + ?Sized>(kind: CompareKind, x: &T, y: &T) -> bool {
    match kind {
        Equal => x == y,
        Less => x < y,
        Greater => x > y,
        LessOrEqual => x <= y,
        GreaterOrEqual => x >= y,
    }
}

fn compare<T: Elem + PartialOrd>(kind: CompareKind, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    match kind {
        Equal => map2(a, b, |x: T, y: T| x == y),
        Less => map2(a, b, |x: T, y: T| x < y),
        Greater => map2(a, b, |x: T, y: T| x > y),
        LessOrEqual => map2(a, b, |x: T, y: T| x <= y),
        GreaterOrEqual => map2(a, b, |x: T, y: T| x >= y),
    }
}

impl Op for Compare {
    fn op_type(&self) -> &str {
        self.name
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        common_dtype(self.name, &[ctx.input(0), ctx.input(1)])?;
        let b = self.legacy.align_type(ctx.input(0), ctx.input(1))?;
        Ok(vec![infer_broadcast(
            &[ctx.input(0).clone(), b],
            Some(DType::Bool),
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        same_dtype(self.name, a, b)?;
        let b = self.legacy.align(a, b)?;
        let c = if a.dtype() == DType::String {
            let (shape, v) = zip2(
                a.as_strings()?,
                a.shape(),
                b.as_strings()?,
                b.shape(),
                |x, y| test(self.kind, x, y),
            )?;
            Tensor::from_vec(shape, v)?
        } else {
            dispatch_pod!(a.dtype(), T => compare::<T>(self.kind, a, &b)?)
        };
        Ok(vec![c.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.legacy.export(AttrList::default()).build()
    }
}

pub fn register(r: &mut Registry) {
    r.register("", "Equal", |c| Compare::build(Equal, c));
    r.register("", "Less", |c| Compare::build(Less, c));
    r.register("", "Greater", |c| Compare::build(Greater, c));
    r.register("", "LessOrEqual", |c| Compare::build(LessOrEqual, c));
    r.register("", "GreaterOrEqual", |c| Compare::build(GreaterOrEqual, c));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};

    fn run(kind: CompareKind, a: Tensor, b: Tensor) -> Vec<bool> {
        eval1(&Compare::new(kind), &[Some(a), Some(b)])
            .unwrap()
            .to_vec::<bool>()
            .unwrap()
    }

    #[test]
    fn numeric_comparisons() {
        let a = || Tensor::vec1(vec![1f32, 2., f32::NAN]);
        let b = || Tensor::scalar(2f32);
        assert_eq!(run(Equal, a(), b()), [false, true, false]);
        assert_eq!(run(Less, a(), b()), [true, false, false]);
        assert_eq!(run(Greater, a(), b()), [false, false, false]);
        assert_eq!(run(LessOrEqual, a(), b()), [true, true, false]);
        assert_eq!(run(GreaterOrEqual, a(), b()), [false, true, false]);
        assert_eq!(
            run(
                Less,
                Tensor::vec1(vec![u64::MAX, 0]),
                Tensor::vec1(vec![1u64, 1])
            ),
            [false, true]
        );
        assert_eq!(
            run(Equal, Tensor::vec1(vec![true, false]), Tensor::scalar(true)),
            [true, false]
        );
    }

    #[test]
    fn string_equal_broadcasts() {
        // test_equal_string_broadcast: ["string1", "string2"] == "string1".
        let a = Tensor::from_strings(vec![2], vec!["string1".into(), "string2".into()]).unwrap();
        let b = Tensor::from_strings(vec![1], vec!["string1".into()]).unwrap();
        assert_eq!(run(Equal, a, b), [true, false]);
    }

    #[test]
    fn output_is_bool() {
        let t = infer(
            &Compare::new(Less),
            &[Some(Tensor::vec1(vec![1i8, 2])), Some(Tensor::scalar(1i8))],
            1,
        );
        assert_eq!(t.unwrap()[0], ValueType::known(DType::Bool, &[2]));
    }
}
