//! Clip: limits every element to `[min, max]`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Clip.html>.
//!
//! Input X (type T); output Y: T, same shape. `y = min(max(x, min), max)`, so when min > max
//! every element becomes max (numpy's clip); NaN stays NaN.
//! Opset differences: before 11 the bounds are float attributes `min`/`max` (default: the f32
//! range, so infinities clip to it; opset 1 also had `consumed_inputs`) and T is a float type;
//! from 11 they are optional scalar inputs 1 and 2 of type T (absent = unbounded); 12 allows
//! every numeric T; 13 adds bf16.

use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{bail, dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::{Numeric, Tensor};

#[derive(Clone, Debug, Default)]
pub struct Clip {
    /// Bounds given as attributes (opset < 11).
    pub min: Option<f32>,
    pub max: Option<f32>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    if ctx.opset >= 11 {
        return Ok(Box::new(Clip::default()));
    }
    let _ = ctx.attrs.ints("consumed_inputs")?;
    // The attribute defaults are the f32 range, not infinity: Clip-6 maps +-inf to +-f32::MAX.
    Ok(Box::new(Clip {
        min: Some(ctx.attrs.float_or("min", f32::MIN)?),
        max: Some(ctx.attrs.float_or("max", f32::MAX)?),
    }))
}

/// A bound input: a single element of X's dtype, or absent.
fn bound<T: Numeric>(inputs: &Inputs, i: usize, x: &Tensor, what: &str) -> Result<Option<T>> {
    let Some(t) = inputs.opt_tensor(i)? else {
        return Ok(None);
    };
    if t.dtype() != x.dtype() {
        bail!(
            "Clip: input '{what}' has dtype {}, but X has {}",
            t.dtype(),
            x.dtype()
        );
    }
    match t.as_slice::<T>()? {
        [v] => Ok(Some(*v)),
        _ => bail!(
            "Clip: input '{what}' must be a scalar, got shape {:?}",
            t.shape()
        ),
    }
}

fn clip<T: Numeric + bytemuck::NoUninit>(c: &Clip, x: &Tensor, inputs: &Inputs) -> Result<Tensor> {
    let lo = match c.min {
        Some(v) => Some(T::from_f64(v as f64)),
        None => bound::<T>(inputs, 1, x, "min")?,
    };
    let hi = match c.max {
        Some(v) => Some(T::from_f64(v as f64)),
        None => bound::<T>(inputs, 2, x, "max")?,
    };
    let xs = x.as_slice::<T>()?;
    let y: Vec<T> = match (lo, hi) {
        (Some(lo), Some(hi)) => xs
            .iter()
            .map(|&v| {
                let v = if v < lo { lo } else { v };
                if v > hi {
                    hi
                } else {
                    v
                }
            })
            .collect(),
        (Some(lo), None) => xs.iter().map(|&v| if v < lo { lo } else { v }).collect(),
        (None, Some(hi)) => xs.iter().map(|&v| if v > hi { hi } else { v }).collect(),
        (None, None) => return Ok(x.clone()),
    };
    Ok(Tensor::from_vec(x.shape().to_vec(), y)?)
}

impl Op for Clip {
    fn op_type(&self) -> &str {
        "Clip"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let y = dispatch_num!(x.dtype(), T => clip::<T>(self, x, inputs)?);
        Ok(vec![y.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_float("min", self.min)
            .opt_float("max", self.max)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn bounds_as_inputs() {
        // test_clip_example: clip([-2, 0, 2], -1, 1) = [-1, 0, 1].
        let x = || Some(Tensor::vec1(vec![-2f32, 0., 2.]));
        let y = eval1(
            &Clip::default(),
            &[x(), Some(Tensor::scalar(-1f32)), Some(Tensor::scalar(1f32))],
        );
        assert_eq!(y.unwrap().to_vec::<f32>().unwrap(), [-1., 0., 1.]);
        // test_clip_min_greater_than_max: everything becomes max.
        let y = eval1(
            &Clip::default(),
            &[x(), Some(Tensor::scalar(2f32)), Some(Tensor::scalar(1f32))],
        );
        assert_eq!(y.unwrap().to_vec::<f32>().unwrap(), [1., 1., 1.]);
        // test_clip_default_int8_min: only min, given for an int8 tensor.
        let y = eval1(
            &Clip::default(),
            &[Some(Tensor::vec1(vec![-5i8, 3])), Some(Tensor::scalar(0i8))],
        );
        assert_eq!(y.unwrap().to_vec::<i8>().unwrap(), [0, 3]);
        let y = eval1(&Clip::default(), &[x(), None, Some(Tensor::scalar(0f32))]);
        assert_eq!(y.unwrap().to_vec::<f32>().unwrap(), [-2., 0., 0.]);
    }

    #[test]
    fn opset6_defaults_are_the_f32_range() {
        let mut attrs = crate::attr::Attrs::default();
        attrs.insert("max", Attribute::Float(1.0));
        let mut ctx = BuildCtx {
            opset: 6,
            attrs: &mut attrs,
            num_inputs: 1,
            num_outputs: 1,
        };
        let op = build(&mut ctx).unwrap();
        let y = eval1(
            op.as_ref(),
            &[Some(Tensor::vec1(vec![f32::NEG_INFINITY, 2.0]))],
        )
        .unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), [f32::MIN, 1.0]);
    }

    #[test]
    fn attribute_bounds_and_errors() {
        let op = Clip {
            min: Some(-1.0),
            max: None,
        };
        let y = eval1(&op, &[Some(Tensor::vec1(vec![-2f64, f64::NAN]))])
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        assert_eq!(y[0], -1.0);
        assert!(y[1].is_nan());
        let bad = eval1(
            &Clip::default(),
            &[
                Some(Tensor::vec1(vec![1f32])),
                Some(Tensor::vec1(vec![0f32, 1.])),
            ],
        );
        assert!(bad.is_err());
        let bad = eval1(
            &Clip::default(),
            &[Some(Tensor::vec1(vec![1f32])), Some(Tensor::scalar(0i32))],
        );
        assert!(bad.is_err());
    }
}
