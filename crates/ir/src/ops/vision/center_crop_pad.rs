//! CenterCropPad: center-crops or zero-pads the chosen axes to a target shape.
//! Spec: <https://onnx.ai/onnx/operators/onnx__CenterCropPad.html>
//!
//! Attribute: `axes` (optional; default all axes, negative allowed).
//! Inputs: `input_data` (any type), `shape` (1-D int32/int64, one size per axis).
//! Output: `input_data` cropped (centered, extra element dropped at the end) or padded with zeros
//! (centered, extra padding at the end). Since opset 18.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::select::common::{take_from, zero_of};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::{checked_numel, normalize_axis, strides};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct CenterCropPad {
    pub axes: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(CenterCropPad {
        axes: ctx.attrs.ints("axes")?,
    }))
}

impl CenterCropPad {
    /// The axes `shape` refers to, normalized.
    fn axes_for(&self, rank: usize, n: usize) -> Result<Vec<usize>> {
        let axes: Vec<usize> = match &self.axes {
            None => (0..rank).collect(),
            Some(a) => a
                .iter()
                .map(|&x| normalize_axis(x, rank))
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    crate::IrError::Op(format!(
                        "CenterCropPad: axes {a:?} out of range for rank {rank}"
                    ))
                })?,
        };
        if axes.len() != n {
            bail!("CenterCropPad: shape has {n} values for axes {axes:?}");
        }
        Ok(axes)
    }
}

fn sizes(t: &Tensor) -> Result<Vec<usize>> {
    let v = t.to_i64_vec()?;
    if v.iter().any(|&s| s < 0) {
        bail!("CenterCropPad: shape {v:?} has a negative size");
    }
    Ok(v.into_iter().map(|s| s as usize).collect())
}

impl Op for CenterCropPad {
    fn op_type(&self) -> &str {
        "CenterCropPad"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match (&x.shape, ctx.konst(1)) {
            (Some(s), Some(t)) => {
                let sz = sizes(t)?;
                let mut out = s.clone();
                for (a, v) in self.axes_for(s.len(), sz.len())?.into_iter().zip(sz) {
                    out[a] = Dim::Known(v);
                }
                Some(out)
            }
            (Some(s), None) => {
                let mut out = s.clone();
                match &self.axes {
                    Some(a) => {
                        for &ax in a {
                            if let Ok(i) = normalize_axis(ax, s.len()) {
                                out[i] = Dim::Unknown;
                            }
                        }
                    }
                    None => out.iter_mut().for_each(|d| *d = Dim::Unknown),
                }
                Some(out)
            }
            (None, _) => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let sz = sizes(inputs.tensor(1)?)?;
        let axes = self.axes_for(x.rank(), sz.len())?;
        let mut out_shape = x.shape().to_vec();
        // Per axis: output index o reads input index o + shift (crop: shift > 0, pad: < 0).
        let mut shift = vec![0i64; x.rank()];
        for (&a, &s) in axes.iter().zip(&sz) {
            let d = x.shape()[a];
            shift[a] = if s <= d {
                ((d - s) / 2) as i64
            } else {
                -(((s - d) / 2) as i64)
            };
            out_shape[a] = s;
        }
        let n = checked_numel(&out_shape)?;
        let st = strides(x.shape());
        let ost = strides(&out_shape);
        let mut picks = Vec::with_capacity(n);
        for flat in 0..n {
            let mut src = 0usize;
            let mut inside = true;
            for d in 0..x.rank() {
                let i = ((flat / ost[d]) % out_shape[d]) as i64 + shift[d];
                if i < 0 || i as usize >= x.shape()[d] {
                    inside = false;
                    break;
                }
                src += i as usize * st[d];
            }
            picks.push(if inside { (0, src) } else { (1, 0) });
        }
        let zero = zero_of(x.dtype())?;
        Ok(vec![take_from(&[x, &zero], &picks, out_shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_ints("axes", self.axes.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn crop_and_pad_mixed() {
        // numpy reference of the spec: [3, 4] -> shape [2, 7]: rows 0..2 cropped (start 0),
        // columns padded 1 before, 2 after.
        let x = Tensor::from_vec(vec![3, 4], (1..=12).collect::<Vec<i32>>()).unwrap();
        let y = eval1(
            &CenterCropPad { axes: None },
            &[Some(x), Some(Tensor::vec1(vec![2i64, 7]))],
        )
        .unwrap();
        assert_eq!(y.shape(), &[2, 7]);
        assert_eq!(
            y.as_slice::<i32>().unwrap(),
            &[0, 1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 0, 0]
        );
    }

    #[test]
    fn negative_axes() {
        let x = Tensor::from_vec(vec![1, 5], (1..=5).collect::<Vec<i64>>()).unwrap();
        let y = eval1(
            &CenterCropPad {
                axes: Some(vec![-1]),
            },
            &[Some(x), Some(Tensor::vec1(vec![2i64]))],
        )
        .unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[2, 3]);
    }
}
