//! Pad: <https://onnx.ai/onnx/operators/onnx__Pad.html>
//!
//! Inputs (v11+) `data` (any type), `pads` (1-D int64 `[b_1, .., b_n, e_1, .., e_n]`, begin and
//! end amounts per padded axis; negative amounts crop), optional `constant_value` (scalar of
//! `data`'s type, default 0 / "" / false) and optional `axes` (v18+, the padded axes, default
//! all). Attribute `mode`: "constant" (default), "reflect" (mirror without the edge), "edge"
//! (repeat the edge) or "wrap" (v19+, periodic). Output dims are `d + b + e`.
//! Opset differences: v1 attributes `paddings` and float `value`; v2 attributes `pads` and
//! `value`; v11 makes pads/value inputs; v13 adds bfloat16/bool/string; v18 `axes`; v19 `wrap`;
//! later versions only add dtypes.

use crate::attr::{AttrList, Attribute};
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::array::common::{
    for_each_index, konst_ints, norm_axis, strides, tensor_type, ElemBuf,
};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

#[derive(Clone, Debug)]
pub struct Pad {
    pub mode: PadMode,
    /// Pre-v11 attribute form: pads and the constant value, and whether the pads attribute is
    /// v1's `paddings`.
    pub legacy: Option<(Vec<i64>, Option<f32>, bool)>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let mode = match ctx.attrs.string_or("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        m => bail!("Pad: unknown mode '{m}' (expected constant, reflect, edge or wrap)"),
    };
    let value = ctx.attrs.float("value")?;
    let legacy = match (ctx.attrs.ints("pads")?, ctx.attrs.ints("paddings")?) {
        (Some(p), _) => Some((p, value, false)),
        (None, Some(p)) => Some((p, value, true)),
        (None, None) if ctx.num_inputs >= 2 => None,
        _ => bail!("Pad: 'pads' is missing (an input since opset 11, an attribute before)"),
    };
    Ok(Box::new(Pad { mode, legacy }))
}

/// `(axis, begin, end)` for every padded axis of a rank-`r` input.
fn resolve(pads: &[i64], axes: Option<Vec<i64>>, r: usize) -> Result<Vec<(usize, i64, i64)>> {
    let axes = axes.unwrap_or_else(|| (0..r as i64).collect());
    let n = axes.len();
    if pads.len() != 2 * n {
        bail!("Pad: pads {pads:?} must hold 2 values per padded axis ({n})");
    }
    let mut seen = vec![false; r];
    let mut out = Vec::with_capacity(n);
    for (i, &a) in axes.iter().enumerate() {
        let k = norm_axis("Pad", a, r)?;
        if seen[k] {
            bail!("Pad: axis {a} is repeated in axes {axes:?}");
        }
        seen[k] = true;
        out.push((k, pads[i], pads[n + i]));
    }
    Ok(out)
}

/// Padded size of a dim (may be negative when cropping too much); saturates on absurd pads.
fn padded(d: usize, begin: i64, end: i64) -> i64 {
    (d as i64).saturating_add(begin).saturating_add(end)
}

/// Source index along one axis of size `d` for output position `o` (`None` = constant).
fn source(mode: PadMode, o: i64, begin: i64, d: usize) -> Result<Option<usize>> {
    let (i, n) = (o.saturating_sub(begin), d as i64);
    if (0..n).contains(&i) {
        return Ok(Some(i as usize));
    }
    if mode == PadMode::Constant {
        return Ok(None);
    }
    if n == 0 {
        bail!("Pad: cannot pad an empty axis in {mode:?} mode");
    }
    Ok(Some(match mode {
        PadMode::Edge => i.clamp(0, n - 1),
        PadMode::Wrap => i.rem_euclid(n),
        _ if n == 1 => 0,
        _ => {
            let m = i.rem_euclid(2 * (n - 1));
            if m >= n {
                2 * (n - 1) - m
            } else {
                m
            }
        }
    } as usize))
}

impl Pad {
    fn fill(&self, x: &Tensor, given: Option<&Tensor>) -> Result<Tensor> {
        let zero = Tensor::zeros(x.dtype(), vec![])?;
        Ok(match (given, &self.legacy) {
            (Some(v), _) if v.is_empty() => zero,
            (Some(v), _) if v.dtype() != x.dtype() => {
                bail!(
                    "Pad: constant_value is {} but data is {}",
                    v.dtype(),
                    x.dtype()
                )
            }
            (Some(v), _) => v.clone(),
            (None, Some((_, Some(v), _))) if *v != 0.0 => {
                Tensor::from_f64s(x.dtype(), vec![], &[*v as f64])?
            }
            _ => zero,
        })
    }
}

impl Op for Pad {
    fn op_type(&self) -> &str {
        "Pad"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let Some(s) = &x.shape else {
            return Ok(vec![tensor_type(x.dtype, None)]);
        };
        let pads = self
            .legacy
            .as_ref()
            .map(|l| l.0.clone())
            .or_else(|| konst_ints(ctx, 1));
        let axes_absent = ctx.input(3) == &ValueType::Unknown && ctx.konst(3).is_none();
        let axes = if axes_absent {
            Some(None)
        } else {
            konst_ints(ctx, 3).map(Some)
        };
        let mut out = s.clone();
        match (pads, axes) {
            (Some(p), Some(a)) => {
                for (k, b, e) in resolve(&p, a, s.len())? {
                    out[k] = match &s[k] {
                        Dim::Known(d) if padded(*d, b, e) < 0 => {
                            bail!("Pad: pads {p:?} crop axis {k} of size {d} below zero")
                        }
                        Dim::Known(d) => Dim::Known(padded(*d, b, e) as usize),
                        d if b == 0 && e == 0 => d.clone(),
                        _ => Dim::Unknown,
                    };
                }
            }
            _ => out.iter_mut().for_each(|d| *d = Dim::Unknown),
        }
        Ok(vec![tensor_type(x.dtype, Some(out))])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let (pads, fill) = match &self.legacy {
            Some((p, _, _)) => (p.clone(), self.fill(x, None)?),
            None => (
                inputs.tensor(1)?.to_i64_vec()?,
                self.fill(x, inputs.opt_tensor(2)?)?,
            ),
        };
        let axes = inputs.opt_tensor(3)?.map(|t| t.to_i64_vec()).transpose()?;
        let mut begin = vec![0i64; x.rank()];
        let mut shape = x.shape().to_vec();
        for (k, b, e) in resolve(&pads, axes, x.rank())? {
            let d = padded(x.shape()[k], b, e);
            if d < 0 {
                bail!(
                    "Pad: pads {pads:?} crop axis {k} of input {:?} below zero",
                    x.shape()
                );
            }
            (begin[k], shape[k]) = (b, d as usize);
        }
        checked_numel(&shape)?;
        // Per axis, the source index of every output position.
        let maps: Vec<Vec<Option<usize>>> = (0..x.rank())
            .map(|k| {
                (0..shape[k] as i64)
                    .map(|o| source(self.mode, o, begin[k], x.shape()[k]))
                    .collect()
            })
            .collect::<Result<_>>()?;
        let st = strides(x.shape());
        let mut buf = ElemBuf::new(x.dtype(), checked_numel(&shape)?);
        for_each_index(&shape, |idx| {
            let src: Option<usize> = idx
                .iter()
                .zip(&maps)
                .zip(&st)
                .map(|((&o, m), &s)| m[o].map(|i| i * s))
                .sum();
            match src {
                Some(off) => buf.push(x, off),
                None => buf.push(&fill, 0),
            }
        });
        Ok(vec![buf.finish(shape)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mode = match self.mode {
            PadMode::Constant => "constant",
            PadMode::Reflect => "reflect",
            PadMode::Edge => "edge",
            PadMode::Wrap => "wrap",
        };
        let mut a = AttrList::default().string("mode", mode);
        if let Some((p, v, paddings)) = &self.legacy {
            a = a
                .ints(if *paddings { "paddings" } else { "pads" }, p)
                .opt_float("value", *v);
        }
        a.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::DType;

    fn run(mode: PadMode, pads: Vec<i64>, value: Option<f32>) -> Result<Tensor> {
        let x = Tensor::from_vec(vec![3, 2], vec![1f32, 1.2, 2.3, 3.4, 4.5, 5.7]).unwrap();
        eval1(
            &Pad { mode, legacy: None },
            &[Some(x), Some(Tensor::vec1(pads)), value.map(Tensor::scalar)],
        )
    }

    #[test]
    fn spec_examples() {
        // ONNX Pad spec examples 1-3 (pads [0, 2, 0, 0]).
        let y = run(PadMode::Constant, vec![0, 2, 0, 0], Some(0.0)).unwrap();
        assert_eq!(y.shape(), &[3, 4]);
        assert_eq!(&y.as_slice::<f32>().unwrap()[..4], &[0.0, 0.0, 1.0, 1.2]);
        let y = run(PadMode::Reflect, vec![0, 2, 0, 0], None).unwrap();
        assert_eq!(&y.as_slice::<f32>().unwrap()[..4], &[1.0, 1.2, 1.0, 1.2]);
        let y = run(PadMode::Edge, vec![0, 2, 0, 0], None).unwrap();
        assert_eq!(&y.as_slice::<f32>().unwrap()[..4], &[1.0, 1.0, 1.0, 1.2]);
        // Example 4, wrap with pads [2, 1, 1, 1]: first row is [3.4, 2.3, 3.4, 2.3].
        let y = run(PadMode::Wrap, vec![2, 1, 1, 1], None).unwrap();
        assert_eq!(y.shape(), &[6, 4]);
        assert_eq!(&y.as_slice::<f32>().unwrap()[..4], &[3.4, 2.3, 3.4, 2.3]);
    }

    #[test]
    fn reflect_beyond_one_period_matches_numpy() {
        // np.pad([1, 2, 3], (5, 0), mode='reflect') -> [2, 1, 2, 3, 2, 1, 2, 3]
        let x = Tensor::vec1(vec![1i32, 2, 3]);
        let y = eval1(
            &Pad {
                mode: PadMode::Reflect,
                legacy: None,
            },
            &[Some(x), Some(Tensor::vec1(vec![5i64, 0]))],
        )
        .unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[2, 1, 2, 3, 2, 1, 2, 3]);
    }

    #[test]
    fn axes_negative_pads_and_legacy_value() {
        let x = Tensor::from_vec(vec![2, 3], (0..6i64).collect()).unwrap();
        let op = Pad {
            mode: PadMode::Constant,
            legacy: None,
        };
        let args = [
            Some(x.clone()),
            Some(Tensor::vec1(vec![-1i64, 1])),
            None,
            Some(Tensor::vec1(vec![-1i64])),
        ];
        let y = eval1(&op, &args).unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<i64>().unwrap()),
            (&[2, 3][..], &[1, 2, 0, 4, 5, 0][..])
        );
        let op = Pad {
            mode: PadMode::Constant,
            legacy: Some((vec![0, 1, 0, 0], Some(7.0), false)),
        };
        let y = eval1(&op, &[Some(x.clone())]).unwrap();
        assert_eq!(&y.as_slice::<i64>().unwrap()[..4], &[7, 0, 1, 2]);
        assert_eq!(
            infer(&op, &[Some(x)], 1).unwrap()[0],
            ValueType::known(DType::I64, &[2, 4])
        );
    }

    #[test]
    fn bad_pads_are_errors() {
        assert!(run(PadMode::Constant, vec![0, 2, 0], None).is_err());
        assert!(run(PadMode::Constant, vec![-4, 0, 0, 0], None).is_err());
        assert!(run(PadMode::Constant, vec![i64::MAX, 0, i64::MAX, 0], None).is_err());
        assert!(run(PadMode::Constant, vec![i64::MIN, 0, i64::MAX, 0], None).is_ok());
        let e = Tensor::zeros(DType::F32, vec![0]).unwrap();
        assert!(eval1(
            &Pad {
                mode: PadMode::Edge,
                legacy: None
            },
            &[Some(e), Some(Tensor::vec1(vec![1i64, 0]))]
        )
        .is_err());
    }
}
