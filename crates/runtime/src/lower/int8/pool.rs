//! MaxPool on 8-bit NCHW tensors (2-D): what the QDQ rewrite leaves of `DequantizeLinear ->
//! MaxPool -> QuantizeLinear` with one scale and zero point (the max commutes with the
//! monotone dequantization, and quantizing again with the same parameters gives back the
//! 8-bit value). Per output row: the element-wise max of the window's input rows, then the
//! max over each window of that row; padding never wins (it is skipped).

use super::{as_i8, as_i8_mut, LowerCtx};
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::nn::common::Axis;
use edgeopt_ir::ops::nn::max_pool::MaxPool;
use edgeopt_tensor::DType;

struct QMaxPool {
    signed: bool,
    planes: usize,
    h: Axis,
    w: Axis,
    /// The max over the window's rows of one output row.
    row: Vec<u8>,
}

/// Inputs of axis `a` read by output `o`: `(first, count)` at stride `a.dilation`.
fn taps(a: &Axis, o: usize) -> impl Iterator<Item = usize> + '_ {
    let start = (o * a.stride) as isize - a.pad_begin as isize;
    (0..a.kernel)
        .map(move |k| start + (k * a.dilation) as isize)
        .filter(move |&i| i >= 0 && (i as usize) < a.input)
        .map(|i| i as usize)
}

fn run_plane<T: Copy + Ord>(x: &[T], y: &mut [T], h: &Axis, w: &Axis, row: &mut [T]) {
    for oy in 0..h.output {
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
        for (ox, o) in out.iter_mut().enumerate() {
            // A window always holds an input (the geometry checks guarantee it).
            if let Some(m) = taps(w, ox).map(|ix| row[ix]).max() {
                *o = m;
            }
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
                run_plane(as_i8(xp), as_i8_mut(yp), &h, &w, as_i8_mut(&mut self.row));
            } else {
                run_plane(xp, yp, &h, &w, &mut self.row);
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
    let planes = x.shape[0] * x.shape[1];
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
        row: vec![0; w.input],
    })))
}
