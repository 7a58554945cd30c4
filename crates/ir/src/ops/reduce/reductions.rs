//! The ten ReduceXxx ops, table-driven: they differ only in the per-group function.
//! Spec: <https://onnx.ai/onnx/operators/onnx__ReduceSum.html> (and ReduceMean, ReduceMax,
//! ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare).
//!
//! Attributes: `keepdims` (default 1), `noop_with_empty_axes` (default 0, since axes became an
//! input), `axes` (ints, before it became an input).
//! Inputs: `data`, optional `axes` (1-D int64; ReduceSum since opset 13, the others since 18).
//! Output: `reduced`, same dtype as `data`.
//! Opset differences: 11 allows negative axes; 13/18 move axes to an input and add
//! `noop_with_empty_axes`; 20 adds bool to ReduceMax/ReduceMin; 28 drops integer types from
//! ReduceLogSum/ReduceLogSumExp (still accepted here, computed through f64 and truncated).
//! Empty reductions give the identity of the function: 0 for sums, 1 for products, -inf (or the
//! type's minimum) for Max and the log ops, +inf (or the maximum) for Min, NaN for Mean.

use super::common::{axes_from_input, infer_shape, resolve_axes, Plan};
use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::{BuildCtx, Registry};
use crate::{bail, dispatch_float, dispatch_int, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Numeric, Tensor};
use num_traits::{AsPrimitive, Bounded};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

use ReduceKind::*;

/// (op type, kind, opset from which `axes` is an input).
const TABLE: &[(&str, ReduceKind, i64)] = &[
    ("ReduceSum", Sum, 13),
    ("ReduceMean", Mean, 18),
    ("ReduceMax", Max, 18),
    ("ReduceMin", Min, 18),
    ("ReduceProd", Prod, 18),
    ("ReduceL1", L1, 18),
    ("ReduceL2", L2, 18),
    ("ReduceLogSum", LogSum, 18),
    ("ReduceLogSumExp", LogSumExp, 18),
    ("ReduceSumSquare", SumSquare, 18),
];

#[derive(Clone, Debug)]
pub struct Reduce {
    pub kind: ReduceKind,
    name: &'static str,
    pub keepdims: bool,
    pub noop_with_empty_axes: bool,
    /// The `axes` attribute (opsets before axes became an input).
    pub axes: Option<Vec<i64>>,
    /// Whether `axes` comes from input 1 (at the opset the op was built for).
    axes_is_input: bool,
}

pub fn build(ctx: &mut BuildCtx, kind: ReduceKind) -> Result<Box<dyn Op>> {
    let (name, _, since) = TABLE
        .iter()
        .copied()
        .find(|t| t.1 == kind)
        .unwrap_or(("?", kind, 18));
    let axes_is_input = ctx.opset >= since;
    let axes = if axes_is_input {
        None
    } else {
        ctx.attrs.ints("axes")?
    };
    Ok(Box::new(Reduce {
        kind,
        name,
        keepdims: ctx.attrs.int_or("keepdims", 1)? != 0,
        noop_with_empty_axes: ctx.attrs.int_or("noop_with_empty_axes", 0)? != 0,
        axes,
        axes_is_input,
    }))
}

/// Per-group function on f64 values (float types, and the integer ops that leave the integers).
fn fold_f64(kind: ReduceKind, it: &mut dyn Iterator<Item = f64>) -> f64 {
    match kind {
        Sum => it.sum(),
        Mean => {
            let (s, n) = it.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            s / n as f64
        }
        Max => it.fold(
            f64::NEG_INFINITY,
            |m, v| if v > m || v.is_nan() { v } else { m },
        ),
        Min => it.fold(
            f64::INFINITY,
            |m, v| if v < m || v.is_nan() { v } else { m },
        ),
        Prod => it.product(),
        L1 => it.map(f64::abs).sum(),
        L2 => it.map(|v| v * v).sum::<f64>().sqrt(),
        LogSum => it.sum::<f64>().ln(),
        LogSumExp => {
            let v: Vec<f64> = it.collect();
            // Shift by the largest finite value for stability; infinities pass through exp.
            let m = v
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            let m = if m.is_finite() { m } else { 0.0 };
            v.iter().map(|x| (x - m).exp()).sum::<f64>().ln() + m
        }
        SumSquare => it.map(|v| v * v).sum(),
    }
}

fn reduce_float<T: Numeric + bytemuck::NoUninit>(
    kind: ReduceKind,
    x: &Tensor,
    plan: &Plan,
) -> Result<Tensor> {
    let xs = x.as_slice::<T>()?;
    let out = plan.map(xs, |it| {
        T::from_f64(fold_f64(kind, &mut it.map(|v| v.as_f64())))
    });
    Ok(Tensor::from_vec(plan.out_shape.clone(), out)?)
}

/// Integer reductions: exact (wrapping, like numpy with `dtype=x.dtype`) for sums, products and
/// extrema; through f64 and truncated for the others.
fn reduce_int<T>(kind: ReduceKind, x: &Tensor, plan: &Plan) -> Result<Tensor>
where
    T: Numeric + Bounded + bytemuck::NoUninit + AsPrimitive<i64>,
    i64: AsPrimitive<T>,
{
    let xs = x.as_slice::<T>()?;
    let wrap = |v: i64| -> T { v.as_() };
    let out: Vec<T> = plan.map(xs, |it| match kind {
        Sum => wrap(it.fold(0i64, |s, v| s.wrapping_add(v.as_()))),
        Prod => wrap(it.fold(1i64, |s, v| s.wrapping_mul(v.as_()))),
        L1 => wrap(it.fold(0i64, |s, v| s.wrapping_add(v.as_().wrapping_abs()))),
        SumSquare => wrap(it.fold(0i64, |s, v| {
            let v: i64 = v.as_();
            s.wrapping_add(v.wrapping_mul(v))
        })),
        Max => it.fold(T::min_value(), |m, v| if v > m { v } else { m }),
        Min => it.fold(T::max_value(), |m, v| if v < m { v } else { m }),
        Mean => {
            let (s, n) = it.fold((0i64, 0i64), |(s, n), v| (s.wrapping_add(v.as_()), n + 1));
            if n == 0 {
                T::default()
            } else {
                wrap(s / n)
            }
        }
        _ => T::from_f64(fold_f64(kind, &mut it.map(|v| v.as_f64())).trunc()),
    });
    Ok(Tensor::from_vec(plan.out_shape.clone(), out)?)
}

fn reduce_bool(kind: ReduceKind, name: &str, x: &Tensor, plan: &Plan) -> Result<Tensor> {
    let xs = x.as_slice::<bool>()?;
    let out: Vec<bool> = match kind {
        // False < True: max is "any", min is "all" (false / true over an empty set).
        Max => plan.map(xs, |it| it.fold(false, |a, v| a | v)),
        Min => plan.map(xs, |it| it.fold(true, |a, v| a & v)),
        _ => bail!("{name}: bool input is not supported"),
    };
    Ok(Tensor::from_vec(plan.out_shape.clone(), out)?)
}

impl Reduce {
    pub fn new(kind: ReduceKind, keepdims: bool, noop_with_empty_axes: bool) -> Self {
        let name = TABLE
            .iter()
            .find(|t| t.1 == kind)
            .map(|t| t.0)
            .unwrap_or("?");
        Reduce {
            kind,
            name,
            keepdims,
            noop_with_empty_axes,
            axes: None,
            axes_is_input: true,
        }
    }

    /// Reduces `x` over `axes` (`None` = omitted) with this op's settings.
    pub fn compute(&self, x: &Tensor, axes: Option<&[i64]>) -> Result<Tensor> {
        let axes = resolve_axes(self.name, axes, self.noop_with_empty_axes, x.rank())?;
        let plan = Plan::new(x.shape(), &axes, self.keepdims)?;
        let dt = x.dtype();
        match dt {
            DType::Bool => reduce_bool(self.kind, self.name, x, &plan),
            d if d.is_float() => dispatch_float!(d, T => reduce_float::<T>(self.kind, x, &plan)),
            d => dispatch_int!(d, T => reduce_int::<T>(self.kind, x, &plan)),
        }
    }
}

impl Op for Reduce {
    fn op_type(&self) -> &str {
        self.name
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape =
            if self.axes_is_input && ctx.inputs.len() > 1 && ctx.input(1) != &ValueType::Unknown {
                match ctx.konst(1) {
                    Some(t) => {
                        let a = axes_from_input(self.name, Some(t))?.unwrap_or_default();
                        infer_shape(&x, Some(&a), None, self.keepdims, self.noop_with_empty_axes)?
                    }
                    None => {
                        let len = ctx
                            .tensor(1)
                            .shape
                            .and_then(|s| s.first().and_then(|d| d.known()));
                        infer_shape(&x, None, len, self.keepdims, self.noop_with_empty_axes)?
                    }
                }
            } else {
                let a = self.axes.clone().unwrap_or_default();
                infer_shape(&x, Some(&a), None, self.keepdims, self.noop_with_empty_axes)?
            };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let axes = if self.axes_is_input {
            axes_from_input(self.name, inputs.opt_tensor(1)?)?
        } else {
            self.axes.clone()
        };
        Ok(vec![self.compute(x, axes.as_deref())?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let n = ctx
            .input_shape(0)
            .map(|s| s.iter().product::<usize>() as u64)
            .unwrap_or(0);
        let per = match self.kind {
            Sum | Max | Min | Prod | Mean => 1,
            L1 | SumSquare | LogSum => 2,
            L2 => 2,
            LogSumExp => 4,
        };
        Cost {
            flops: n * per,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default()
            .int("keepdims", self.keepdims as i64)
            .opt_ints("axes", self.axes.as_deref());
        if self.noop_with_empty_axes {
            a = a.int("noop_with_empty_axes", 1);
        }
        a.build()
    }
}

pub fn register(r: &mut Registry) {
    r.register("", "ReduceSum", |c| build(c, Sum));
    r.register("", "ReduceMean", |c| build(c, Mean));
    r.register("", "ReduceMax", |c| build(c, Max));
    r.register("", "ReduceMin", |c| build(c, Min));
    r.register("", "ReduceProd", |c| build(c, Prod));
    r.register("", "ReduceL1", |c| build(c, L1));
    r.register("", "ReduceL2", |c| build(c, L2));
    r.register("", "ReduceLogSum", |c| build(c, LogSum));
    r.register("", "ReduceLogSumExp", |c| build(c, LogSumExp));
    r.register("", "ReduceSumSquare", |c| build(c, SumSquare));
}
