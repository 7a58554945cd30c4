//! MaxPool on 8-bit NCHW tensors (2-D): what the QDQ rewrite leaves of `DequantizeLinear ->
//! MaxPool -> QuantizeLinear` with one scale and zero point (the max commutes with the
//! monotone dequantization, and quantizing again with the same parameters gives back the
//! 8-bit value). Per output row: the element-wise max of the window's input rows into a row
//! padded with the type's minimum, then the max over each window of that row; every window
//! holds an input (checked at lowering), so the padding never wins.

use super::{as_i8, as_i8_mut, LowerCtx};
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::nn::common::Axis;
use edgeopt_ir::ops::nn::max_pool::MaxPool;
use edgeopt_kernels::int8::{split_even_odd, QElem};
use edgeopt_tensor::DType;

struct QMaxPool {
    signed: bool,
    planes: usize,
    h: Axis,
    w: Axis,
    /// The max over the window's rows of one output row, between `pad_begin` and `pad_end`
    /// columns of padding.
    row: Vec<u8>,
    /// Its even then odd columns (stride 2).
    split: Vec<u8>,
}

/// Inputs of axis `a` read by output `o`: `(first, count)` at stride `a.dilation`.
fn taps(a: &Axis, o: usize) -> impl Iterator<Item = usize> + '_ {
    let start = (o * a.stride) as isize - a.pad_begin as isize;
    (0..a.kernel)
        .map(move |k| start + (k * a.dilation) as isize)
        .filter(move |&i| i >= 0 && (i as usize) < a.input)
        .map(|i| i as usize)
}

/// `out[o] = max_t row[o * s + t * d]` for `t < k`: contiguous (vectorizable) passes per tap;
/// at stride 2 the row is first split into its even and odd columns (`split`, `row.len()`
/// values), so every tap reads one of them contiguously.
fn window_max<T: QElem + Ord>(
    row: &[T],
    (k, s, d): (usize, usize, usize),
    out: &mut [T],
    split: &mut [T],
) {
    let n = out.len();
    if s == 2 {
        let half = row.len().div_ceil(2);
        let (even, odd) = split.split_at_mut(half);
        split_even_odd(row, even, odd);
    }
    let tap = |t: usize| -> (&[T], usize) {
        match s {
            1 => (row, t * d),
            _ => {
                let half = row.len().div_ceil(2);
                let (even, odd) = split.split_at(half);
                let off = t * d;
                (if off.is_multiple_of(2) { even } else { odd }, off / 2)
            }
        }
    };
    let (first, off) = tap(0);
    out.copy_from_slice(&first[off..off + n]);
    for t in 1..k {
        let (src, off) = tap(t);
        for (o, &v) in out.iter_mut().zip(&src[off..off + n]) {
            *o = (*o).max(v);
        }
    }
}

fn run_plane<T: QElem + Ord>(
    x: &[T],
    y: &mut [T],
    h: &Axis,
    w: &Axis,
    padded: &mut [T],
    split: &mut [T],
) {
    let pad = T::from_i32(T::MIN);
    padded.fill(pad);
    let (k, s, d) = (w.kernel, w.stride, w.dilation);
    for oy in 0..h.output {
        let row = &mut padded[w.pad_begin..w.pad_begin + w.input];
        let mut first = true;
        for iy in taps(h, oy) {
            let src = &x[iy * w.input..(iy + 1) * w.input];
            if first {
                row.copy_from_slice(src);
                first = false;
            } else {
                for (r, &v) in row.iter_mut().zip(src) {
                    *r = (*r).max(v);
                }
            }
        }
        let out = &mut y[oy * w.output..(oy + 1) * w.output];
        if s <= 2 {
            window_max(padded, (k, s, d), out, split);
            continue;
        }
        for (ox, o) in out.iter_mut().enumerate() {
            let win = &padded[ox * s..ox * s + (k - 1) * d + 1];
            *o = win.iter().step_by(d).copied().fold(pad, T::max);
        }
    }
}

impl Kernel for QMaxPool {
    fn name(&self) -> &'static str {
        "int8.maxpool"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (h, w) = (self.h, self.w);
        let (ip, op) = (h.input * w.input, h.output * w.output);
        let x = io.input_bytes(0);
        let y = io.output_bytes(0);
        for p in 0..self.planes {
            let (xp, yp) = (&x[p * ip..(p + 1) * ip], &mut y[p * op..(p + 1) * op]);
            if self.signed {
                let (row, split) = (as_i8_mut(&mut self.row), as_i8_mut(&mut self.split));
                run_plane(as_i8(xp), as_i8_mut(yp), &h, &w, row, split);
            } else {
                run_plane(xp, yp, &h, &w, &mut self.row, &mut self.split);
            }
        }
        Ok(())
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(m) = ctx.op().downcast_ref::<MaxPool>() else {
        return Ok(None);
    };
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    let signed = match x.dtype {
        DType::I8 => true,
        DType::U8 => false,
        _ => return Ok(None),
    };
    // No Indices output, NCHW 2-D, same type out.
    if ctx.outputs.iter().skip(1).any(|o| o.is_some()) || x.shape.len() != 4 || y.dtype != x.dtype {
        return Ok(None);
    }
    let ceil = m.pool.ceil_mode.unwrap_or(0) != 0;
    let Ok(win) = m.pool.window.resolve("MaxPool", 2, None, ceil) else {
        return Ok(None);
    };
    let Ok(axes) = win.axes("MaxPool", &x.shape[2..]) else {
        return Ok(None);
    };
    let [h, w] = axes.as_slice() else {
        return Ok(None);
    };
    if [
        h.kernel, h.stride, h.dilation, w.kernel, w.stride, w.dilation,
    ]
    .contains(&0)
    {
        return Ok(None);
    }
    let planes = x.shape[0] * x.shape[1];
    // Columns the windows of a row reach (past `pad_end` in ceil mode).
    let span = w.output.saturating_sub(1) * w.stride + (w.kernel - 1) * w.dilation + 1;
    // Every window must hold an input, or the output would be the padding value.
    let covered = |a: &Axis| (0..a.output).all(|o| taps(a, o).next().is_some());
    if planes * h.output * w.output != y.numel() || !covered(h) || !covered(w) {
        return Ok(None);
    }
    Ok(Some(Box::new(QMaxPool {
        signed,
        planes,
        h: *h,
        w: *w,
        row: vec![0; (w.pad_begin + w.input).max(span)],
        split: vec![0; (w.pad_begin + w.input).max(span) + 1],
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The window-by-window maximum over the inputs each output reads.
    fn direct(x: &[i32], h: &Axis, w: &Axis) -> Vec<i32> {
        let mut y = Vec::new();
        for oy in 0..h.output {
            for ox in 0..w.output {
                let m = taps(h, oy)
                    .flat_map(|iy| taps(w, ox).map(move |ix| x[iy * w.input + ix]))
                    .max();
                y.push(m.unwrap_or(i32::MIN));
            }
        }
        y
    }

    fn axis(
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        pads: (usize, usize),
    ) -> Option<Axis> {
        let span = (kernel - 1) * dilation + 1;
        let padded = input + pads.0 + pads.1;
        let output = padded.checked_sub(span)? / stride + 1;
        let a = Axis {
            input,
            output,
            kernel,
            stride,
            dilation,
            pad_begin: pads.0,
            pad_end: pads.1,
        };
        (0..output)
            .all(|o| taps(&a, o).next().is_some())
            .then_some(a)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Strides 1 and 2 take the per-tap vector passes, 3 the scalar windows: all equal
        /// the direct maximum, for both 8-bit types.
        #[test]
        fn plane_max_matches_direct(
            (hi, wi) in (1usize..12, 1usize..40),
            (k, s, d) in (1usize..4, 1usize..4, 1usize..3),
            pads in (0usize..2, 0usize..2),
            signed in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let (Some(h), Some(w)) = (axis(hi, k, s, d, pads), axis(wi, k, s, d, pads)) else {
                return Ok(());
            };
            let x: Vec<i32> = (0..hi * wi)
                .map(|i| ((i as u64).wrapping_mul(seed | 1).rotate_left(17) % 256) as i32)
                .map(|v| if signed { v - 128 } else { v })
                .collect();
            let want = direct(&x, &h, &w);
            let span = w.output.saturating_sub(1) * w.stride + (w.kernel - 1) * w.dilation + 1;
            let len = (w.pad_begin + w.input).max(span);
            let got: Vec<i32> = if signed {
                let xs: Vec<i8> = x.iter().map(|&v| v as i8).collect();
                let mut y = vec![0i8; h.output * w.output];
                run_plane(&xs, &mut y, &h, &w, &mut vec![0; len], &mut vec![0; len + 1]);
                y.into_iter().map(i32::from).collect()
            } else {
                let xs: Vec<u8> = x.iter().map(|&v| v as u8).collect();
                let mut y = vec![0u8; h.output * w.output];
                run_plane(&xs, &mut y, &h, &w, &mut vec![0; len], &mut vec![0; len + 1]);
                y.into_iter().map(i32::from).collect()
            };
            prop_assert_eq!(got, want);
        }
    }
}
