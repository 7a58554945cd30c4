//! Runs a resize once its geometry is known: nearest mode gathers elements (exact for every
//! dtype), linear and cubic interpolate through f64 one axis at a time and round back.

use super::interp::{apply_axis, Interp, Mode};
use crate::{bail, dispatch_pod, Result};
use edgeopt_tensor::shape::{checked_numel, strides};
use edgeopt_tensor::{DType, Tensor};

/// The resolved geometry of one resize: full-rank output shape, scales and roi, and the axes
/// to process in order.
#[derive(Clone, Debug)]
pub struct Geometry {
    pub out_shape: Vec<usize>,
    pub scales: Vec<f64>,
    pub roi: Vec<(f64, f64)>,
    pub order: Vec<usize>,
}

fn is_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

impl Geometry {
    /// Axes that actually change (the reference skips identity axes).
    fn active(&self, in_shape: &[usize]) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&a| {
                let (r0, r1) = self.roi[a];
                !(is_close(self.scales[a], 1.0)
                    && self.out_shape[a] == in_shape[a]
                    && r0.abs() <= 1e-9
                    && is_close(r1, 1.0))
            })
            .collect()
    }
}

/// Resizes `x` with `interp` over `geo`.
pub fn resample(x: &Tensor, interp: &Interp, geo: &Geometry, op: &str) -> Result<Tensor> {
    if geo.out_shape.len() != x.rank() {
        bail!(
            "{op}: output rank {} differs from input shape {:?}",
            geo.out_shape.len(),
            x.shape()
        );
    }
    checked_numel(&geo.out_shape)?;
    let active = geo.active(x.shape());
    if interp.mode == Mode::Nearest {
        return nearest(x, interp, geo, &active);
    }
    let dt = x.dtype();
    if dt == DType::String || dt.is_encoded() {
        bail!(
            "{op}: {:?} interpolation does not support dtype {dt}",
            interp.mode
        );
    }
    let mut buf = x.to_f64_vec()?;
    let mut shape = x.shape().to_vec();
    for &a in &active {
        let taps = interp.taps(shape[a], geo.out_shape[a], geo.scales[a], geo.roi[a])?;
        buf = apply_axis(&buf, &shape, a, &taps, interp.extrapolation)?;
        shape[a] = geo.out_shape[a];
    }
    if dt.is_int() {
        // As the reference's saturate_cast: round half to even, then saturate.
        buf.iter_mut().for_each(|v| *v = v.round_ties_even());
    }
    Ok(Tensor::from_f64s(dt, shape, &buf)?)
}

/// Source index per output position along each axis (`None`: fill with the extrapolation value).
fn selections(
    x: &Tensor,
    interp: &Interp,
    geo: &Geometry,
    active: &[usize],
) -> Result<Vec<Vec<Option<usize>>>> {
    let mut sel: Vec<Vec<Option<usize>>> = x
        .shape()
        .iter()
        .map(|&d| (0..d).map(Some).collect())
        .collect();
    for &a in active {
        let t = interp.taps(x.shape()[a], geo.out_shape[a], geo.scales[a], geo.roi[a])?;
        sel[a] = (0..geo.out_shape[a])
            .map(|o| {
                let w = &t.w[o * t.n..(o + 1) * t.n];
                let best = (0..t.n)
                    .filter(|&k| w[k] > 0.0)
                    .max_by(|&p, &q| w[p].total_cmp(&w[q]).then(q.cmp(&p)));
                match best {
                    Some(k) if !t.extrapolated[o] => Some(t.idx[o * t.n + k]),
                    _ => None,
                }
            })
            .collect();
    }
    Ok(sel)
}

/// Copies `xs` at the selected positions, row-major over the output.
fn gather<T: Clone>(xs: &[T], in_shape: &[usize], sel: &[Vec<Option<usize>>], fill: &T) -> Vec<T> {
    fn rec<T: Clone>(
        xs: &[T],
        st: &[usize],
        sel: &[Vec<Option<usize>>],
        base: Option<usize>,
        out: &mut Vec<T>,
        fill: &T,
    ) {
        let Some((first, rest)) = sel.split_first() else {
            out.push(base.map(|b| xs[b].clone()).unwrap_or_else(|| fill.clone()));
            return;
        };
        for s in first {
            let next = match (base, s) {
                (Some(b), Some(i)) => Some(b + i * st[0]),
                _ => None,
            };
            rec(xs, &st[1..], rest, next, out, fill);
        }
    }
    let st = strides(in_shape);
    let mut out = Vec::with_capacity(sel.iter().map(|s| s.len()).product());
    rec(xs, &st, sel, Some(0), &mut out, fill);
    out
}

fn nearest(x: &Tensor, interp: &Interp, geo: &Geometry, active: &[usize]) -> Result<Tensor> {
    let sel = selections(x, interp, geo, active)?;
    let shape = geo.out_shape.clone();
    let dt = x.dtype();
    if dt == DType::String {
        let v = gather(x.as_strings()?, x.shape(), &sel, &String::new());
        return Ok(Tensor::from_strings(shape, v)?);
    }
    if dt.is_encoded() {
        let v = gather(x.as_bytes(), x.shape(), &sel, &0u8);
        return Ok(Tensor::from_bytes(dt, shape, v.into())?);
    }
    let e = if dt.is_int() {
        interp.extrapolation.round_ties_even()
    } else {
        interp.extrapolation
    };
    let fill = Tensor::from_f64s(dt, vec![1], &[e])?;
    Ok(dispatch_pod!(dt, T => {
        let v = gather(x.as_slice::<T>()?, x.shape(), &sel, &fill.as_slice::<T>()?[0]);
        Tensor::from_vec(shape, v)?
    }))
}
