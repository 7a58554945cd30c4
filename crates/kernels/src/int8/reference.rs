//! Naive integer twins of the int8 kernels: triple loops, exact i64 sums (wrapped to i32 at
//! the end, which equals wrapping i32 accumulation), the requantization written out
//! independently of the kernels' store.

use super::{ConvGeometry, QOutput, Requant, Scale};

/// `acc[i, j] = sum_p (w[i, p] - w_zp[i]) * (x[p, j] - x_zp)` for row-major `w` (`m x k`) and
/// `x` (`k x n`), `w_zp` of length 1 or `m`.
pub fn qgemm_acc(
    w: &[i32],
    w_zp: &[i32],
    x: &[i32],
    x_zp: i32,
    m: usize,
    k: usize,
    n: usize,
) -> Vec<i32> {
    let mut out = vec![0; m * n];
    for i in 0..m {
        let wz = w_zp[if w_zp.len() == 1 { 0 } else { i }] as i64;
        for j in 0..n {
            let mut s = 0i64;
            for p in 0..k {
                s += (w[i * k + p] as i64 - wz) * (x[p * n + j] as i64 - x_zp as i64);
            }
            out[i * n + j] = s as i32;
        }
    }
    out
}

/// Stores row-major `m x n` accumulators (row `i` = output row `i`) into `out` through `rq`.
pub fn requantize(acc: &[i32], m: usize, n: usize, rq: &Requant, mut out: QOutput) {
    let scale = |i: usize| match rq.scale {
        Scale::PerTensor(s) => s,
        Scale::PerRow(v) => v[i],
    };
    let value = |i: usize, j: usize| acc[i * n + j].wrapping_add(rq.bias.map_or(0, |b| b[i]));
    let quant = |i: usize, j: usize, lo: i64, hi: i64| {
        let r = ((value(i, j) as f32 * scale(i)).round_ties_even() as i64)
            .saturating_add(rq.zero_point as i64);
        let (lo, hi) = match rq.clamp {
            Some((a, b)) => ((a as i64).clamp(lo, hi), (b as i64).clamp(lo, hi)),
            None => (lo, hi),
        };
        let lo = if rq.relu {
            lo.max(rq.zero_point as i64)
        } else {
            lo
        };
        r.max(lo).min(hi)
    };
    for i in 0..m {
        for j in 0..n {
            let o = i * n + j;
            match &mut out {
                QOutput::I32(v) => v[o] = value(i, j),
                QOutput::F32(v) => {
                    let f = value(i, j) as f32 * scale(i);
                    v[o] = if rq.relu && f < 0.0 { 0.0 } else { f };
                }
                QOutput::U8(v) => v[o] = quant(i, j, 0, 255) as u8,
                QOutput::I8(v) => v[o] = quant(i, j, -128, 127) as i8,
            }
        }
    }
}

/// Naive NCHW convolution accumulators `[batch, c_out, oh, ow]` of `(x - x_zp) * (w - w_zp)`,
/// `w` in ONNX layout `[c_out, c_in / groups, kh, kw]`, `w_zp` of length 1 or `c_out`.
pub fn conv_acc(g: &ConvGeometry, x: &[i32], x_zp: i32, w: &[i32], w_zp: &[i32]) -> Vec<i32> {
    let (oh, ow) = g.output_hw().expect("valid geometry");
    let (kh, kw) = g.kernel;
    let (cg, mg) = (g.c_in / g.groups, g.c_out / g.groups);
    let mut out = vec![0i32; g.batch * g.c_out * oh * ow];
    for b in 0..g.batch {
        for m in 0..g.c_out {
            let grp = m / mg;
            let wz = w_zp[if w_zp.len() == 1 { 0 } else { m }] as i64;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut s = 0i64;
                    for c in 0..cg {
                        let ci = grp * cg + c;
                        for r in 0..kh {
                            for t in 0..kw {
                                let iy =
                                    (y * g.stride.0 + r * g.dilation.0) as i64 - g.pads[0] as i64;
                                let ix =
                                    (xo * g.stride.1 + t * g.dilation.1) as i64 - g.pads[1] as i64;
                                if iy < 0 || ix < 0 || iy >= g.h as i64 || ix >= g.w as i64 {
                                    continue;
                                }
                                let xv =
                                    x[((b * g.c_in + ci) * g.h + iy as usize) * g.w + ix as usize];
                                let wv = w[((m * cg + c) * kh + r) * kw + t];
                                s += (xv as i64 - x_zp as i64) * (wv as i64 - wz);
                            }
                        }
                    }
                    out[((b * g.c_out + m) * oh + y) * ow + xo] = s as i32;
                }
            }
        }
    }
    out
}

/// ONNX QuantizeLinear of one value into `[lo, hi]`: NaN gives the zero point.
pub fn quantize_one(x: f32, scale: f32, zp: i32, lo: i32, hi: i32) -> i32 {
    let q = x / scale;
    if q.is_nan() {
        return zp;
    }
    (q.round_ties_even() as i64)
        .saturating_add(zp as i64)
        .clamp(lo as i64, hi as i64) as i32
}

/// The QDQ residual add of one element: dequantize both in f32, add, quantize into `[lo, hi]`.
pub fn add_one(
    a: i32,
    pa: (f32, i32),
    b: i32,
    pb: (f32, i32),
    py: (f32, i32),
    lo: i32,
    hi: i32,
) -> i32 {
    let v = (a - pa.1) as f32 * pa.0 + (b - pb.1) as f32 * pb.0;
    quantize_one(v, py.0, py.1, lo, hi)
}
