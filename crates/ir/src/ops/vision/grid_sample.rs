//! GridSample: samples the input at the normalized locations given by a grid.
//! Spec: <https://onnx.ai/onnx/operators/onnx__GridSample.html>
//!
//! Attributes: `mode` (linear | nearest | cubic; opset 16 spells them bilinear / bicubic, both
//! spellings accepted; default linear), `padding_mode` (zeros | border | reflection, default
//! zeros), `align_corners` (default 0). Inputs: `X` `[N, C, D1..Dr]` (numeric), `grid`
//! `[N, H1..Hr, r]` (float; the last axis holds coordinates in reverse order: x for Dr first).
//! Output: `[N, C, H1..Hr]`.
//! Opset differences: 16 is 4-D only; 20 generalizes to N-D and renames the modes; 22 adds
//! bfloat16. Semantics follow the ONNX reference (PyTorch's grid_sampler): coordinates are
//! denormalized in f32, nearest rounds half to even, out-of-range samples are handled per axis.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::{checked_numel, strides};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pad {
    Zeros,
    Border,
    Reflection,
}

#[derive(Clone, Debug)]
pub struct GridSample {
    pub mode: String,
    pub padding_mode: String,
    pub align_corners: bool,
    kind: Kind,
    pad: Pad,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let default = if ctx.opset < 20 { "bilinear" } else { "linear" };
    let mode = ctx.attrs.string_or("mode", default)?;
    let padding_mode = ctx.attrs.string_or("padding_mode", "zeros")?;
    let kind = match mode.as_str() {
        "linear" | "bilinear" => Kind::Linear,
        "nearest" => Kind::Nearest,
        "cubic" | "bicubic" => Kind::Cubic,
        m => bail!("GridSample: unsupported mode '{m}'"),
    };
    let pad = match padding_mode.as_str() {
        "zeros" => Pad::Zeros,
        "border" => Pad::Border,
        "reflection" => Pad::Reflection,
        m => bail!("GridSample: unsupported padding_mode '{m}'"),
    };
    let align_corners = ctx.attrs.int_or("align_corners", 0)? != 0;
    Ok(Box::new(GridSample {
        mode,
        padding_mode,
        align_corners,
        kind,
        pad,
    }))
}

/// Reflects `x` into `[lo, hi]` by folding at the borders (PyTorch's reflect_coordinates).
fn reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let rng = hi - lo;
    if rng <= 0.0 {
        return lo.max(0.0);
    }
    if x < lo {
        let dx = lo - x;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n % 2.0 == 0.0 {
            lo + r
        } else {
            hi - r
        }
    } else if x > hi {
        let dx = x - hi;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n % 2.0 == 0.0 {
            hi - r
        } else {
            lo + r
        }
    } else {
        x
    }
}

fn cubic_coeffs(t: f64) -> [f64; 4] {
    let a = -0.75;
    let t = t.abs();
    [
        ((a * (t + 1.0) - 5.0 * a) * (t + 1.0) + 8.0 * a) * (t + 1.0) - 4.0 * a,
        ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0,
        ((a + 2.0) * (1.0 - t) - (a + 3.0)) * (1.0 - t) * (1.0 - t) + 1.0,
        ((a * (2.0 - t) - 5.0 * a) * (2.0 - t) + 8.0 * a) * (2.0 - t) - 4.0 * a,
    ]
}

impl GridSample {
    fn borders(&self, d: usize) -> (f64, f64) {
        if self.align_corners {
            (0.0, d as f64 - 1.0)
        } else {
            (-0.5, d as f64 - 0.5)
        }
    }

    /// Source coordinate along an axis of length `d` for normalized `n`, after padding rules.
    fn coord(&self, n: f64, d: usize) -> f64 {
        let len = d as f64;
        let x = if self.align_corners {
            (n + 1.0) / 2.0 * (len - 1.0)
        } else {
            ((n + 1.0) * len - 1.0) / 2.0
        };
        let mut x = x as f32 as f64;
        if self.kind == Kind::Nearest {
            x = x.round_ties_even();
        }
        let (lo, hi) = self.borders(d);
        if x < lo || x > hi {
            x = match self.pad {
                Pad::Border => x.clamp(0.0, len - 1.0),
                Pad::Reflection => reflect(x, lo, hi),
                Pad::Zeros => x,
            };
        }
        x
    }

    /// Index actually read for tap `i` on an axis of length `d` (`None`: a zero sample).
    fn fetch(&self, i: i64, d: usize) -> Option<usize> {
        match self.pad {
            Pad::Zeros => (i >= 0 && (i as usize) < d).then_some(i as usize),
            Pad::Border => Some(i.clamp(0, d as i64 - 1) as usize),
            Pad::Reflection => {
                let (lo, hi) = self.borders(d);
                Some((reflect(i as f64, lo, hi) as i64).clamp(0, d as i64 - 1) as usize)
            }
        }
    }

    /// (index, weight) taps along one axis for source coordinate `x`.
    fn taps(&self, x: f64, d: usize) -> Vec<(Option<usize>, f64)> {
        match self.kind {
            Kind::Nearest => vec![(self.fetch(x as i64, d), 1.0)],
            Kind::Linear => {
                let x0 = x.floor();
                let t = x - x0;
                vec![
                    (self.fetch(x0 as i64, d), 1.0 - t),
                    (self.fetch(x0 as i64 + 1, d), t),
                ]
            }
            Kind::Cubic => {
                let x0 = x.floor();
                let c = cubic_coeffs(x - x0);
                (0..4)
                    .map(|k| (self.fetch(x0 as i64 - 1 + k as i64, d), c[k as usize]))
                    .collect()
            }
        }
    }
}

impl Op for GridSample {
    fn op_type(&self) -> &str {
        "GridSample"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (x, g) = (ctx.tensor(0), ctx.tensor(1));
        let shape = match (&x.shape, &g.shape) {
            (Some(xs), Some(gs)) if xs.len() >= 2 && gs.len() == xs.len() => {
                let mut out = vec![xs[0].clone(), xs[1].clone()];
                out.extend(gs[1..gs.len() - 1].iter().cloned());
                Some(out)
            }
            (Some(xs), _) if xs.len() >= 2 => Some(vec![Dim::Unknown; xs.len()]),
            _ => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, grid) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let (xs, gs) = (x.shape(), grid.shape());
        let r = xs.len().saturating_sub(2);
        if r == 0 || gs.len() != r + 2 || gs[0] != xs[0] || gs[r + 1] != r {
            bail!("GridSample: X {xs:?} and grid {gs:?} do not match ([N, C, D1..Dr] and [N, H1..Hr, r])");
        }
        let (n, c) = (xs[0], xs[1]);
        let dims = &xs[2..];
        let out_sp = &gs[1..r + 1];
        let m = checked_numel(out_sp)?;
        let plane = checked_numel(dims)?;
        if plane == 0 && m > 0 && c > 0 {
            bail!("GridSample: cannot sample from an empty input of shape {xs:?}");
        }
        let mut out_shape = vec![n, c];
        out_shape.extend_from_slice(out_sp);
        let total = checked_numel(&out_shape)?;
        let xv = x.to_f64_vec()?;
        let gv = grid.to_f64_vec()?;
        let st = strides(dims);
        let mut y = vec![0f64; total];
        for b in 0..n {
            for p in 0..m {
                let g = &gv[(b * m + p) * r..(b * m + p + 1) * r];
                // Grid coordinates are innermost-axis first.
                let taps: Vec<Vec<(Option<usize>, f64)>> = (0..r)
                    .map(|i| self.taps(self.coord(g[r - 1 - i], dims[i]), dims[i]))
                    .collect();
                let mut combos: Vec<(Option<usize>, f64)> = vec![(Some(0), 1.0)];
                for (i, t) in taps.iter().enumerate() {
                    let si = st[i];
                    combos = combos
                        .iter()
                        .flat_map(|&(off, w)| {
                            t.iter().map(move |&(ix, tw)| {
                                (off.zip(ix).map(|(o, j)| o + j * si), w * tw)
                            })
                        })
                        .collect();
                }
                for ch in 0..c {
                    let base = (b * c + ch) * plane;
                    let v: f64 = combos
                        .iter()
                        .map(|&(off, w)| off.map(|o| w * xv[base + o]).unwrap_or(0.0))
                        .sum();
                    y[(b * c + ch) * m + p] = v;
                }
            }
        }
        if x.dtype().is_int() {
            y.iter_mut().for_each(|v| *v = v.round_ties_even());
        }
        Ok(vec![Tensor::from_f64s(x.dtype(), out_shape, &y)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(match self.kind {
            Kind::Nearest => 1,
            Kind::Linear => 8,
            Kind::Cubic => 32,
        })
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let a = AttrList::default()
            .string("mode", &self.mode)
            .string("padding_mode", &self.padding_mode);
        a.int("align_corners", self.align_corners as i64).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    fn op(mode: &str, pad: &str, align: bool) -> Box<dyn Op> {
        let mut a = crate::Attrs::default();
        a.insert("mode", Attribute::String(mode.as_bytes().to_vec()));
        a.insert("padding_mode", Attribute::String(pad.as_bytes().to_vec()));
        a.insert("align_corners", Attribute::Int(align as i64));
        build(&mut BuildCtx {
            opset: 22,
            attrs: &mut a,
            num_inputs: 2,
            num_outputs: 1,
        })
        .unwrap()
    }

    fn x() -> Tensor {
        Tensor::from_vec(vec![1, 1, 3, 2], vec![0f32, 1., 2., 3., 4., 5.]).unwrap()
    }

    fn grid() -> Tensor {
        Tensor::from_vec(
            vec![1, 2, 4, 2],
            vec![
                -1f32, -1., -0.5, -0.5, -0.2, -0.2, 0., 0., 0., 0., -0.2, -0.2, 0.5, 0.5, 1., 1.,
            ],
        )
        .unwrap()
    }

    #[test]
    fn spec_examples() {
        // Values from the ONNX reference implementation (onnx 1.23) on these inputs.
        let y = eval1(
            op("linear", "zeros", false).as_ref(),
            &[Some(x()), Some(grid())],
        )
        .unwrap();
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[0., 0.5, 1.7, 2.5, 2.5, 1.7, 4.5, 1.25],
            1e-6,
            0.0,
        );
        let y = eval1(
            op("nearest", "zeros", false).as_ref(),
            &[Some(x()), Some(grid())],
        )
        .unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[0., 0., 2., 2., 2., 2., 5., 0.]
        );
        let y = eval1(
            op("cubic", "border", true).as_ref(),
            &[Some(x()), Some(grid())],
        )
        .unwrap();
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[0., 1.0390625, 1.8439996, 2.5, 2.5, 1.8439996, 3.9609375, 5.],
            1e-5,
            0.0,
        );
    }

    #[test]
    fn reflection_folds() {
        assert_eq!(reflect(-1.0, -0.5, 2.5), 0.0);
        assert_eq!(reflect(3.0, -0.5, 2.5), 2.0);
        assert_eq!(reflect(7.0, 0.0, 2.0), 1.0);
    }

    #[test]
    fn mismatched_grid_errors() {
        let g = Tensor::zeros(edgeopt_tensor::DType::F32, vec![1, 2, 2, 3]).unwrap();
        assert!(eval1(op("linear", "zeros", false).as_ref(), &[Some(x()), Some(g)]).is_err());
    }
}
