//! Max, Min, Sum, Mean: element-wise reductions over a variadic list of broadcast inputs,
//! table-driven. Spec: <https://onnx.ai/onnx/operators/onnx__Max.html> (and `onnx__Min`,
//! `onnx__Sum`, `onnx__Mean`).
//!
//! Inputs data_0..data_N-1 (N >= 1, same type T); output: T, broadcast over all inputs.
//! Opset differences: before 6 a `consumed_inputs` attribute (ignored); 6 requires equal shapes
//! and 8 broadcasts (we always broadcast, a superset); Max/Min accept every numeric type from
//! 12, Sum/Mean floats only; 13 adds bf16. Max/Min propagate NaN, as numpy does.

use super::common::{common_dtype, map2, Scalar};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::{BuildCtx, Registry};
use crate::{bail, dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariadicKind {
    Max,
    Min,
    Sum,
    Mean,
}

use VariadicKind::*;

#[derive(Clone, Debug)]
pub struct Variadic {
    pub kind: VariadicKind,
}

impl Variadic {
    fn build(kind: VariadicKind, ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
        if ctx.opset < 6 {
            let _ = ctx.attrs.ints("consumed_inputs")?;
        }
        Ok(Box::new(Variadic { kind }))
    }
}

fn fold<T: Scalar>(kind: VariadicKind, xs: &[&Tensor]) -> Result<Tensor> {
    let mut acc = xs[0].clone();
    for x in &xs[1..] {
        acc = match kind {
            Max => map2(&acc, x, |a: T, b: T| a.max_nan(b))?,
            Min => map2(&acc, x, |a: T, b: T| a.min_nan(b))?,
            Sum | Mean => map2(&acc, x, |a: T, b: T| a.add(b))?,
        };
    }
    if kind == Mean && xs.len() > 1 {
        let n = T::from_f64(xs.len() as f64);
        acc = map2(&acc, &Tensor::scalar(n), |a: T, b: T| a.div(b))?;
    }
    Ok(acc)
}

impl Op for Variadic {
    fn op_type(&self) -> &str {
        match self.kind {
            Max => "Max",
            Min => "Min",
            Sum => "Sum",
            Mean => "Mean",
        }
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let all: Vec<&ValueType> = ctx.inputs.iter().collect();
        common_dtype(self.op_type(), &all)?;
        Ok(vec![infer_broadcast(ctx.inputs, None)?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let xs: Vec<&Tensor> = (0..inputs.len())
            .map(|i| inputs.tensor(i))
            .collect::<Result<_>>()?;
        let Some(first) = xs.first() else {
            bail!("{}: needs at least one input", self.op_type())
        };
        if let Some(x) = xs.iter().find(|x| x.dtype() != first.dtype()) {
            bail!(
                "{}: inputs must share one dtype, got {} and {}",
                self.op_type(),
                first.dtype(),
                x.dtype()
            );
        }
        let y = dispatch_num!(first.dtype(), T => fold::<T>(self.kind, &xs)?);
        Ok(vec![y.into()])
    }
}

pub fn register(r: &mut Registry) {
    r.register("", "Max", |c| Variadic::build(Max, c));
    r.register("", "Min", |c| Variadic::build(Min, c));
    r.register("", "Sum", |c| Variadic::build(Sum, c));
    r.register("", "Mean", |c| Variadic::build(Mean, c));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn run(kind: VariadicKind, xs: Vec<Tensor>) -> Vec<f32> {
        let xs: Vec<Option<Tensor>> = xs.into_iter().map(Some).collect();
        eval1(&Variadic { kind }, &xs)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn spec_examples() {
        // test_max_example / test_min_example / test_sum_example / test_mean_example.
        let d = || {
            vec![
                Tensor::vec1(vec![3f32, 2., 1.]),
                Tensor::vec1(vec![1f32, 4., 4.]),
                Tensor::vec1(vec![2f32, 5., 0.]),
            ]
        };
        assert_eq!(run(Max, d()), [3., 5., 4.]);
        assert_eq!(run(Min, d()), [1., 2., 0.]);
        assert_eq!(run(Sum, d()), [6., 11., 5.]);
        assert_eq!(run(Mean, d()), [2., 11. / 3., 5. / 3.]);
        assert_eq!(run(Mean, vec![Tensor::vec1(vec![3f32])]), [3.]);
    }

    #[test]
    fn broadcast_ints_and_nan() {
        let y = eval1(
            &Variadic { kind: Max },
            &[
                Some(Tensor::vec1(vec![1u64, 9])),
                Some(Tensor::scalar(5u64)),
            ],
        );
        assert_eq!(y.unwrap().to_vec::<u64>().unwrap(), [5, 9]);
        assert!(run(
            Min,
            vec![Tensor::vec1(vec![f32::NAN]), Tensor::vec1(vec![1f32])]
        )[0]
        .is_nan());
        assert!(eval1(&Variadic { kind: Sum }, &[]).is_err());
    }
}
