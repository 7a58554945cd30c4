//! Gradients of data-movement ops that have no ONNX expression: Gather (scatter-add), Concat
//! (take one input's part) and Slice (place into zeros).

use super::util::{f32_in, infer_like, numel, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

fn norm_axis(op: &str, axis: i64, rank: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 0 || a as usize >= rank {
        bail!("{op}: axis {axis} out of range for rank {rank}");
    }
    Ok(a as usize)
}

/// GatherGrad(dY, indices, data) -> ddata: adds each gathered slice's gradient back.
#[derive(Clone, Debug)]
pub struct GatherGrad {
    pub axis: i64,
}

impl Op for GatherGrad {
    fn op_type(&self) -> &str {
        "GatherGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[2])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, _) = f32_in("GatherGrad", inputs, 0)?;
        let idx = inputs.tensor(1)?.to_i64_vec()?;
        let sd = inputs.tensor(2)?.shape().to_vec();
        let a = norm_axis("GatherGrad", self.axis, sd.len())?;
        let (outer, len, inner) = (numel(&sd[..a]), sd[a], numel(&sd[a + 1..]));
        if dy.len() != outer * idx.len() * inner {
            bail!(
                "GatherGrad: dY has {} elements, expected {outer} x {} x {inner}",
                dy.len(),
                idx.len()
            );
        }
        let mut dd = vec![0f32; numel(&sd)];
        for o in 0..outer {
            for (k, &i) in idx.iter().enumerate() {
                let i = if i < 0 { i + len as i64 } else { i };
                if i < 0 || i as usize >= len {
                    bail!("GatherGrad: index {i} out of range [0, {len})");
                }
                let src = &dy[(o * idx.len() + k) * inner..][..inner];
                let dst = &mut dd[(o * len + i as usize) * inner..][..inner];
                dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
            }
        }
        Ok(vec![out(&sd, dd)?])
    }
}

/// ConcatGrad(dY, X_0, ..., X_n) -> dX_index: the part of dY that came from input `index`.
#[derive(Clone, Debug)]
pub struct ConcatGrad {
    pub axis: i64,
    pub index: usize,
}

impl Op for ConcatGrad {
    fn op_type(&self) -> &str {
        "ConcatGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[self.index + 1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("ConcatGrad", inputs, 0)?;
        let a = norm_axis("ConcatGrad", self.axis, sdy.len())?;
        let mut start = 0;
        for k in 0..self.index {
            start += inputs.tensor(k + 1)?.shape().get(a).copied().unwrap_or(0);
        }
        let sx = inputs.tensor(self.index + 1)?.shape().to_vec();
        let (outer, inner) = (numel(&sdy[..a]), numel(&sdy[a + 1..]));
        let (len, total) = (sx.get(a).copied().unwrap_or(0), sdy[a]);
        if start + len > total || numel(&sx) != outer * len * inner {
            bail!(
                "ConcatGrad: input {} {sx:?} does not fit dY {sdy:?} on axis {a}",
                self.index
            );
        }
        let mut dx = Vec::with_capacity(numel(&sx));
        for o in 0..outer {
            dx.extend_from_slice(
                &dy[(o * total + start) * inner..(o * total + start + len) * inner],
            );
        }
        Ok(vec![out(&sx, dx)?])
    }
}

/// SliceGrad(dY, X, starts, ends[, axes[, steps]]) -> dX: dY placed at the sliced positions
/// of a zero tensor shaped like X (ONNX Slice clamping rules).
#[derive(Clone, Debug)]
pub struct SliceGrad;

/// Per-axis `(start, step, count)` of an ONNX Slice over `shape`.
pub fn slice_ranges(
    shape: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Vec<(i64, i64, usize)>> {
    let r = shape.len();
    let mut rng: Vec<(i64, i64, usize)> = shape.iter().map(|&d| (0, 1, d)).collect();
    if starts.len() != ends.len() {
        bail!("SliceGrad: starts {starts:?} and ends {ends:?} differ in length");
    }
    for k in 0..starts.len() {
        let ax = axes.map_or(k as i64, |a| a.get(k).copied().unwrap_or(k as i64));
        let a = norm_axis("SliceGrad", ax, r)?;
        let step = steps.and_then(|s| s.get(k).copied()).unwrap_or(1);
        if step == 0 {
            bail!("SliceGrad: step 0 on axis {a}");
        }
        let d = shape[a] as i64;
        let fix = |v: i64| if v < 0 { v + d } else { v };
        let (s, e) = (fix(starts[k]), fix(ends[k]));
        let (s, e) = if step > 0 {
            (s.clamp(0, d), e.clamp(0, d))
        } else {
            (s.clamp(-1, d - 1), e.clamp(-1, d - 1))
        };
        let count = if step > 0 {
            (e - s + step - 1).max(0) / step
        } else {
            (s - e - step - 1).max(0) / -step
        };
        rng[a] = (s, step, count as usize);
    }
    Ok(rng)
}

impl Op for SliceGrad {
    fn op_type(&self) -> &str {
        "SliceGrad"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[1])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, _) = f32_in("SliceGrad", inputs, 0)?;
        let sx = inputs.tensor(1)?.shape().to_vec();
        let starts = inputs.tensor(2)?.to_i64_vec()?;
        let ends = inputs.tensor(3)?.to_i64_vec()?;
        let axes = inputs.opt_tensor(4)?.map(|t| t.to_i64_vec()).transpose()?;
        let steps = inputs.opt_tensor(5)?.map(|t| t.to_i64_vec()).transpose()?;
        let rng = slice_ranges(&sx, &starts, &ends, axes.as_deref(), steps.as_deref())?;
        let counts: Vec<usize> = rng.iter().map(|r| r.2).collect();
        if numel(&counts) != dy.len() {
            bail!(
                "SliceGrad: dY has {} elements, the slice of X {sx:?} has {counts:?}",
                dy.len()
            );
        }
        let mut strides = vec![1usize; sx.len()];
        for d in (0..sx.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * sx[d + 1];
        }
        let mut dx = vec![0f32; numel(&sx)];
        let mut idx = vec![0usize; sx.len()];
        for &g in dy {
            let off: usize = (0..sx.len())
                .map(|d| (rng[d].0 + idx[d] as i64 * rng[d].1) as usize * strides[d])
                .sum();
            dx[off] += g;
            for d in (0..sx.len()).rev() {
                idx[d] += 1;
                if idx[d] < counts[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(vec![out(&sx, dx)?])
    }
}
