//! Slice: <https://onnx.ai/onnx/operators/onnx__Slice.html>
//!
//! Inputs (v10+) `data` (any type), `starts`, `ends` (1-D int32/int64), optional `axes`
//! (default `0..len(starts)`, negative counts from the back) and `steps` (default 1, never 0).
//! Output `output`: numpy-style `data[start:end:step]` along each listed axis. Starts and ends
//! are clamped: to `[0, dim]` for positive steps, to `[0, dim-1]` / `[-1, dim-1]` for
//! negative ones, so out-of-range values (e.g. INT64_MAX) mean "to the end".
//! Opset differences: v1 takes `starts`, `ends`, `axes` as attributes and has no steps;
//! v10 makes them inputs and adds `steps`; v11 allows negative axes; later only dtypes.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{
    for_each_index, konst_ints, norm_axis, strides, tensor_type, ElemBuf,
};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct Slice {
    /// The v1 attribute form; `None` when the parameters are inputs.
    pub attrs: Option<SliceAttrs>,
}

/// Slice-1's attributes.
#[derive(Clone, Debug)]
pub struct SliceAttrs {
    pub starts: Vec<i64>,
    pub ends: Vec<i64>,
    pub axes: Option<Vec<i64>>,
}

/// One requested slice: resolved axis, raw start, end and step.
type Param = (usize, i64, i64, i64);

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let starts = ctx.attrs.ints("starts")?;
    let ends = ctx.attrs.ints("ends")?;
    let axes = ctx.attrs.ints("axes")?;
    let attrs = match (starts, ends) {
        (Some(starts), Some(ends)) => Some(SliceAttrs { starts, ends, axes }),
        (None, None) if ctx.num_inputs >= 3 => None,
        _ => bail!("Slice: needs 'starts' and 'ends' (inputs since opset 10, attributes before)"),
    };
    Ok(Box::new(Slice { attrs }))
}

/// One axis' slice after clamping: first index, step and element count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AxisSlice {
    pub start: i64,
    pub step: i64,
    pub len: usize,
}

/// Clamps `start:end:step` against a dim of size `dim` as the spec prescribes.
pub fn clamp_slice(start: i64, end: i64, step: i64, dim: usize) -> AxisSlice {
    if dim == 0 {
        return AxisSlice {
            start: 0,
            step,
            len: 0,
        };
    }
    let d = dim as i64;
    let fix =
        |v: i64, lo: i64, hi: i64| (if v < 0 { v.saturating_add(d) } else { v }).clamp(lo, hi);
    let (start, end) = if step > 0 {
        (fix(start, 0, d), fix(end, 0, d))
    } else {
        (fix(start, 0, d - 1), fix(end, -1, d - 1))
    };
    let span = if step > 0 { end - start } else { start - end };
    let mag = step.unsigned_abs() as i128;
    let len = if span <= 0 {
        0
    } else {
        ((span as i128 + mag - 1) / mag) as usize
    };
    AxisSlice { start, step, len }
}

/// The parameters `(starts, ends, axes, steps)` as i64 lists, validated and with axes resolved.
fn params(
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Option<Vec<i64>>,
    steps: Option<Vec<i64>>,
    rank: usize,
) -> Result<Vec<Param>> {
    let n = starts.len();
    let axes = axes.unwrap_or_else(|| (0..n as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        bail!("Slice: starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} must have the same length");
    }
    let mut seen = vec![false; rank];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let a = norm_axis("Slice", axes[i], rank)?;
        if seen[a] {
            bail!("Slice: axis {} is repeated in axes {axes:?}", axes[i]);
        }
        seen[a] = true;
        if steps[i] == 0 {
            bail!("Slice: steps {steps:?} contains 0");
        }
        out.push((a, starts[i], ends[i], steps[i]));
    }
    Ok(out)
}

impl Slice {
    fn konst_params(&self, ctx: &InferCtx, rank: usize) -> Result<Option<Vec<Param>>> {
        if let Some(a) = &self.attrs {
            return Ok(Some(params(
                a.starts.clone(),
                a.ends.clone(),
                a.axes.clone(),
                None,
                rank,
            )?));
        }
        let (Some(s), Some(e)) = (konst_ints(ctx, 1), konst_ints(ctx, 2)) else {
            return Ok(None);
        };
        let opt = |i: usize| -> Option<Option<Vec<i64>>> {
            if ctx.input(i) == &ValueType::Unknown && ctx.konst(i).is_none() {
                Some(None)
            } else {
                konst_ints(ctx, i).map(Some)
            }
        };
        match (opt(3), opt(4)) {
            (Some(a), Some(st)) => Ok(Some(params(s, e, a, st, rank)?)),
            _ => Ok(None),
        }
    }
}

impl Op for Slice {
    fn op_type(&self) -> &str {
        "Slice"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let Some(shape) = &x.shape else {
            return Ok(vec![tensor_type(x.dtype, None)]);
        };
        let mut out = shape.clone();
        match self.konst_params(ctx, shape.len())? {
            Some(ps) => {
                for (a, s, e, st) in ps {
                    out[a] = match &shape[a] {
                        Dim::Known(d) => Dim::Known(clamp_slice(s, e, st, *d).len),
                        // Only the identity slice keeps a symbolic dim.
                        d if s == 0 && st == 1 && e >= i32::MAX as i64 => d.clone(),
                        _ => Dim::Unknown,
                    };
                }
            }
            None => match konst_ints(ctx, 3) {
                Some(axes) => {
                    for a in axes {
                        out[norm_axis("Slice", a, shape.len())?] = Dim::Unknown;
                    }
                }
                None => out.iter_mut().for_each(|d| *d = Dim::Unknown),
            },
        }
        Ok(vec![tensor_type(x.dtype, Some(out))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let ps = match &self.attrs {
            Some(a) => params(
                a.starts.clone(),
                a.ends.clone(),
                a.axes.clone(),
                None,
                x.rank(),
            )?,
            None => {
                let ints = |i: usize| -> Result<Option<Vec<i64>>> {
                    inputs
                        .opt_tensor(i)?
                        .map(|t| Ok(t.to_i64_vec()?))
                        .transpose()
                };
                let starts = inputs.tensor(1)?.to_i64_vec()?;
                let ends = inputs.tensor(2)?.to_i64_vec()?;
                params(starts, ends, ints(3)?, ints(4)?, x.rank())?
            }
        };
        let mut sl: Vec<AxisSlice> = x
            .shape()
            .iter()
            .map(|&d| AxisSlice {
                start: 0,
                step: 1,
                len: d,
            })
            .collect();
        for (a, s, e, st) in ps {
            sl[a] = clamp_slice(s, e, st, x.shape()[a]);
        }
        let shape: Vec<usize> = sl.iter().map(|s| s.len).collect();
        let st = strides(x.shape());
        let mut buf = ElemBuf::new(x.dtype(), checked_numel(&shape)?);
        for_each_index(&shape, |idx| {
            let off: i64 = idx
                .iter()
                .zip(&sl)
                .zip(&st)
                .map(|((&i, s), &k)| (s.start + i as i64 * s.step) * k as i64)
                .sum();
            buf.push(x, off as usize);
        });
        Ok(vec![buf.finish(shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        match &self.attrs {
            Some(a) => AttrList::default()
                .ints("starts", &a.starts)
                .ints("ends", &a.ends)
                .opt_ints("axes", a.axes.as_deref())
                .build(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::{DType, Tensor};

    fn x() -> Tensor {
        Tensor::from_vec(vec![3, 4], (0..12i32).collect()).unwrap()
    }

    fn run(args: [Option<Vec<i64>>; 4]) -> Result<Tensor> {
        let mut ins = vec![Some(x())];
        ins.extend(args.into_iter().map(|a| a.map(Tensor::vec1)));
        eval1(&Slice { attrs: None }, &ins)
    }

    #[test]
    fn numpy_semantics_with_clamping_and_negative_steps() {
        // x[0:2, 1:3]
        let y = run([Some(vec![0, 1]), Some(vec![2, 3]), None, None]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 2, 5, 6]);
        // x[:, ::-2] with INT64_MIN end (to the front).
        let y = run([
            Some(vec![-1]),
            Some(vec![i64::MIN]),
            Some(vec![1]),
            Some(vec![-2]),
        ])
        .unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i32>().unwrap()),
            (&[3, 2][..], &[3, 1, 7, 5, 11, 9][..])
        );
        // Start past the end: empty.
        let y = run([Some(vec![10]), Some(vec![i64::MAX]), Some(vec![0]), None]).unwrap();
        assert_eq!(y.shape(), &[0, 4]);
        assert_eq!(clamp_slice(-1, i64::MIN, -1, 0).len, 0);
        // x[2:0:-1, 1:1000]
        let y = run([
            Some(vec![2, 1]),
            Some(vec![0, 1000]),
            Some(vec![0, -1]),
            Some(vec![-1, 1]),
        ])
        .unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[9, 10, 11, 5, 6, 7]);
    }

    #[test]
    fn opset1_attribute_form() {
        let op = Slice {
            attrs: Some(SliceAttrs {
                starts: vec![1],
                ends: vec![-1],
                axes: Some(vec![1]),
            }),
        };
        let y = eval1(&op, &[Some(x())]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 2, 5, 6, 9, 10]);
    }

    #[test]
    fn bad_parameters_are_errors() {
        assert!(run([Some(vec![0]), Some(vec![1]), Some(vec![0]), Some(vec![0])]).is_err());
        assert!(run([Some(vec![0, 0]), Some(vec![1, 1]), Some(vec![0, -2]), None]).is_err());
        assert!(run([Some(vec![0]), Some(vec![1, 2]), None, None]).is_err());
        assert!(run([Some(vec![0]), Some(vec![1]), Some(vec![2]), None]).is_err());
    }

    #[test]
    fn infers_from_constants() {
        let ins = [
            Some(x()),
            Some(Tensor::vec1(vec![1i64])),
            Some(Tensor::vec1(vec![-1i64])),
            Some(Tensor::vec1(vec![0i64])),
        ];
        let t = infer(&Slice { attrs: None }, &ins, 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::I32, &[1, 4]));
    }
}
