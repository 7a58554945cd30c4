//! And, Or, Xor: broadcast logic on bool tensors, table-driven.
//! Spec: <https://onnx.ai/onnx/operators/onnx__And.html> (and `onnx__Or`, `onnx__Xor`).
//!
//! Inputs A, B: bool; output C: bool, broadcast multidirectionally.
//! Opset differences: before 7, `broadcast`/`axis` attributes ([`LegacyBroadcast`]).

use super::common::{map2, LegacyBroadcast};
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::{BuildCtx, Registry};
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::DType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicalKind {
    And,
    Or,
    Xor,
}

use LogicalKind::*;

#[derive(Clone, Debug)]
pub struct Logical {
    pub kind: LogicalKind,
    pub legacy: LegacyBroadcast,
}

impl Logical {
    pub fn new(kind: LogicalKind) -> Self {
        Logical {
            kind,
            legacy: LegacyBroadcast::default(),
        }
    }

    fn build(kind: LogicalKind, ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
        Ok(Box::new(Logical {
            kind,
            legacy: LegacyBroadcast::parse(ctx)?,
        }))
    }
}

impl Op for Logical {
    fn op_type(&self) -> &str {
        match self.kind {
            And => "And",
            Or => "Or",
            Xor => "Xor",
        }
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        for i in 0..2 {
            if let Some(d) = ctx.input(i).dtype().filter(|&d| d != DType::Bool) {
                bail!("{}: input {i} must be bool, got {d}", self.op_type());
            }
        }
        let b = self.legacy.align_type(ctx.input(0), ctx.input(1))?;
        Ok(vec![infer_broadcast(
            &[ctx.input(0).clone(), b],
            Some(DType::Bool),
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        if a.dtype() != DType::Bool || b.dtype() != DType::Bool {
            bail!(
                "{}: inputs must be bool, got {} and {}",
                self.op_type(),
                a.dtype(),
                b.dtype()
            );
        }
        let b = self.legacy.align(a, b)?;
        let c = match self.kind {
            And => map2(a, &b, |x: bool, y: bool| x & y)?,
            Or => map2(a, &b, |x: bool, y: bool| x | y)?,
            Xor => map2(a, &b, |x: bool, y: bool| x ^ y)?,
        };
        Ok(vec![c.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.legacy.export(AttrList::default()).build()
    }
}

pub fn register(r: &mut Registry) {
    r.register("", "And", |c| Logical::build(And, c));
    r.register("", "Or", |c| Logical::build(Or, c));
    r.register("", "Xor", |c| Logical::build(Xor, c));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    #[test]
    fn truth_tables_with_broadcast() {
        let a = || Tensor::from_vec(vec![2, 2], vec![false, false, true, true]).unwrap();
        let b = || Tensor::vec1(vec![false, true]);
        let run = |k| {
            eval1(&Logical::new(k), &[Some(a()), Some(b())])
                .unwrap()
                .to_vec::<bool>()
                .unwrap()
        };
        assert_eq!(run(And), [false, false, false, true]);
        assert_eq!(run(Or), [false, true, true, true]);
        assert_eq!(run(Xor), [false, true, true, false]);
        assert!(eval1(
            &Logical::new(And),
            &[Some(Tensor::vec1(vec![1u8])), Some(b())]
        )
        .is_err());
    }
}
