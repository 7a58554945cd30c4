//! Depthwise 3x3 / 5x5 (stride 1 or 2, no dilation) on small planes (MobileNetV2's 7x7 and
//! 14x14 outputs), a block of channels at a time: the planes of one vector's worth of channels
//! are interleaved into one zero-padded buffer (`[row][column][lane]`, a lane per channel), every
//! output is then `K * K` full-vector multiply-adds with the taps in registers (no partial
//! vectors, no per-plane row set-up: the per-plane path spends most of a 7x7 plane on those),
//! and the results are scattered back to the channels' planes. Both layout changes move a
//! vector's worth of pixels of every channel at a time, transposed in registers. Each lane is computed on its
//! own in the same order, so results do not depend on how channels are grouped or split.

use super::rows::Lanes;
use crate::arch::ActKernel;
use crate::conv::Conv2dShape;
use crate::Activation;

/// Widest output rows this path takes. Measured (benches/conv.rs, AVX-512, 1 thread, load
/// average 12-14), GFLOP/s of this path vs the row path: 384 and 576 ch 14x14 s1 20-24 vs
/// 14-15, 192 ch 28->14 s2 8.9 vs 5.7-6.4; 28x28 s1 ties (22-23 both); 56x56 and 112x112
/// outputs run 0.5-0.8x as fast as in the row path (the block no longer stays in L1/L2).
/// With the scalar layout changes it had before, 14x14 outputs ran 2x slower than the row
/// path; 7x7 ones (960 ch s1, 576 ch 14->7 s2) went from 7.5 / 3.5 to 14-15 / 8.5-9 with the
/// register transposes.
const MAX_OUT_W: usize = 14;

/// The widest vector any instantiation uses (AVX-512).
pub(crate) const MAX_LANES: usize = 16;

/// The shape numbers of a layer this path computes.
#[derive(Debug, Clone)]
pub(crate) struct Blocked {
    in_h: usize,
    in_w: usize,
    pad_top: usize,
    pad_left: usize,
    /// Padded input height and width.
    ph: usize,
    pw: usize,
    out_h: usize,
    out_w: usize,
    kernel: usize,
    stride: usize,
}

impl Blocked {
    /// The geometry of `s`, if this path computes it (square 3x3 or 5x5, stride 1 or 2, no
    /// dilation, output rows at most [`MAX_OUT_W`] wide).
    pub(crate) fn new(s: &Conv2dShape) -> Option<Blocked> {
        let fits = super::fast_kernel(s) && s.out_w() <= MAX_OUT_W;
        fits.then(|| Blocked {
            in_h: s.in_h,
            in_w: s.in_w,
            pad_top: s.pad_top,
            pad_left: s.pad_left,
            ph: s.in_h + s.pad_top + s.pad_bottom,
            pw: s.in_w + s.pad_left + s.pad_right,
            out_h: s.out_h(),
            out_w: s.out_w(),
            kernel: s.kernel_w,
            stride: s.stride_w,
        })
    }

    /// Floats of work buffer for vectors of up to [`MAX_LANES`] lanes.
    pub(crate) fn buffer_len(&self) -> usize {
        (self.ph * self.pw + self.out_h * self.out_w + self.kernel * self.kernel + 1) * MAX_LANES
    }
}

/// A run of consecutive planes (image * channels + channel) of one layer.
pub(crate) struct Channels<'a> {
    pub geometry: &'a Blocked,
    /// Index of the first plane.
    pub first: usize,
    /// Channels per image.
    pub channels: usize,
    /// Every channel's `kernel x kernel` taps.
    pub weights: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub act: Activation,
    pub act_kernel: ActKernel,
}

/// Blocked depthwise kernel `(planes, input, output, buffer)`: `input` holds the run's input
/// planes, `output` its output planes, `buffer` at least [`Blocked::buffer_len`] floats.
/// Safety: the lengths are as stated and the CPU has the kernel's features.
pub(crate) type DepthwiseBlockKernel = unsafe fn(&Channels, &[f32], &mut [f32], &mut [f32]);

/// The portable kernel.
pub(crate) unsafe fn blocked_generic(p: &Channels, x: &[f32], out: &mut [f32], buf: &mut [f32]) {
    // SAFETY: forwarded contract; portable lanes need no CPU feature.
    unsafe { planes::<super::PortableLanes<false>>(p, x, out, buf) }
}

/// Every plane of the run, `L::N` channels at a time. Safety: see [`DepthwiseBlockKernel`];
/// the CPU has `L`'s features.
#[inline(always)]
pub(crate) unsafe fn planes<L: Lanes>(p: &Channels, x: &[f32], out: &mut [f32], buf: &mut [f32]) {
    let g = p.geometry;
    let (ip, op) = (g.in_h * g.in_w, g.out_h * g.out_w);
    let count = (x.len() / ip).min(out.len() / op);
    let fused = L::fuses(p.act);
    let act = if fused { p.act } else { Activation::None };
    let mut q = 0;
    while q < count {
        let n = (count - q).min(L::N);
        // SAFETY: forwarded contract; slices cut to `n` planes.
        unsafe {
            block::<L>(
                p,
                p.first + q,
                n,
                &x[q * ip..(q + n) * ip],
                &mut out[q * op..(q + n) * op],
                buf,
                act,
            )
        };
        q += n;
    }
    if !fused {
        // SAFETY: the caller guarantees the CPU features of the table the kernel came from.
        unsafe { (p.act_kernel)(&mut out[..count * op], p.act) };
    }
}

/// `n <= L::N` planes starting at plane `first`.
#[inline(always)]
unsafe fn block<L: Lanes>(
    p: &Channels,
    first: usize,
    n: usize,
    x: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
    act: Activation,
) {
    let g = p.geometry;
    let lanes = L::N;
    let (op, kk) = (g.out_h * g.out_w, g.kernel * g.kernel);
    let (padded, rest) = buf.split_at_mut(g.ph * g.pw * lanes);
    let (outs, rest) = rest.split_at_mut(op * lanes);
    let taps = &mut rest[..(kk + 1) * lanes];
    // SAFETY: whole vectors inside `padded` (its length is a multiple of the lane count).
    unsafe {
        let zero = L::splat(0.0);
        for v in padded.chunks_exact_mut(lanes) {
            zero.store(v.as_mut_ptr());
        }
    }
    // SAFETY: `x` holds `n` planes, `padded` the padded block (its size above).
    unsafe { interleave::<L>(g, x, n, padded) };
    taps.fill(0.0);
    for c in 0..n {
        let ch = (first + c) % p.channels.max(1);
        for (t, &w) in p.weights[ch * kk..(ch + 1) * kk].iter().enumerate() {
            taps[t * lanes + c] = w;
        }
        taps[kk * lanes + c] = p.bias.map_or(0.0, |b| b[ch]);
    }
    // SAFETY: the buffers hold the padded block, the outputs and the taps (sizes above).
    unsafe {
        match (g.kernel, g.stride) {
            (3, 1) => compute::<L, 3, 1>(g, padded, taps, act, outs),
            (3, 2) => compute::<L, 3, 2>(g, padded, taps, act, outs),
            (5, 1) => compute::<L, 5, 1>(g, padded, taps, act, outs),
            (5, 2) => compute::<L, 5, 2>(g, padded, taps, act, outs),
            _ => unreachable!("`Blocked::new` admits 3x3 and 5x5 at stride 1 and 2"),
        }
    }
    // SAFETY: `outs` holds `op` vectors, `out` `n` planes of `op` floats.
    unsafe { scatter::<L>(outs, n, op, out) };
}

/// Copies `n <= L::N` planes of `x` into the interior of the zero-padded `[row][column][lane]`
/// buffer: `L::N` columns of one row of every plane at a time, transposed in registers so
/// each store writes one pixel's lanes (absent planes' lanes stay zero).
///
/// Safety: the CPU has `L`'s features; `x` holds `n` planes of `in_h * in_w` floats and
/// `padded` `ph * pw` vectors.
#[inline(always)]
unsafe fn interleave<L: Lanes>(g: &Blocked, x: &[f32], n: usize, padded: &mut [f32]) {
    let lanes = L::N;
    let ip = g.in_h * g.in_w;
    assert!(x.len() >= n * ip && padded.len() >= g.ph * g.pw * lanes && n <= lanes);
    let (xp, pp) = (x.as_ptr(), padded.as_mut_ptr());
    // SAFETY (all): loads read row `iy` of plane `c < n` at columns `ix..ix + m`, `m` within
    // the row; stores write pixels `ix + k < in_w` of padded row `iy + pad_top`.
    unsafe {
        let mut v = [L::splat(0.0); MAX_LANES];
        for iy in 0..g.in_h {
            let dst = pp.add(((iy + g.pad_top) * g.pw + g.pad_left) * lanes);
            let mut ix = 0;
            while ix < g.in_w {
                let m = (g.in_w - ix).min(lanes);
                for (c, v) in v[..lanes].iter_mut().enumerate() {
                    let src = xp.add(c * ip + iy * g.in_w + ix);
                    *v = match (c < n, m == lanes) {
                        (false, _) => L::splat(0.0),
                        (true, true) => L::load(src),
                        (true, false) => L::load_partial(src, m),
                    };
                }
                L::transpose(&mut v[..lanes]);
                for (k, v) in v[..m].iter().enumerate() {
                    v.store(dst.add((ix + k) * lanes));
                }
                ix += m;
            }
        }
    }
}

/// Writes the `op` output vectors of `outs` (`[pixel][lane]`) back to `n` planes of `out`,
/// `L::N` pixels at a time transposed in registers (one contiguous store per plane).
///
/// Safety: the CPU has `L`'s features.
#[inline(always)]
unsafe fn scatter<L: Lanes>(outs: &[f32], n: usize, op: usize, out: &mut [f32]) {
    let lanes = L::N;
    assert!(outs.len() >= op * lanes && out.len() >= n * op && n <= lanes);
    let (src, dst) = (outs.as_ptr(), out.as_mut_ptr());
    // SAFETY (all): loads read vectors `i + k < op`; stores write plane `c < n` at outputs
    // `i..i + m`, `i + m <= op`.
    unsafe {
        let mut v = [L::splat(0.0); MAX_LANES];
        let mut i = 0;
        while i < op {
            let m = (op - i).min(lanes);
            for (k, v) in v[..lanes].iter_mut().enumerate() {
                *v = if k < m {
                    L::load(src.add((i + k) * lanes))
                } else {
                    L::splat(0.0)
                };
            }
            L::transpose(&mut v[..lanes]);
            for (c, v) in v[..n].iter().enumerate() {
                if m == lanes {
                    v.store(dst.add(c * op + i));
                } else {
                    v.store_partial(dst.add(c * op + i), m);
                }
            }
            i += m;
        }
    }
}

/// Outputs per pass: independent accumulators hide the multiply-add latency.
const R: usize = 4;

/// Every output of the block: bias, then the taps in row-major order, then the activation.
///
/// Safety: the CPU has `L`'s features; `padded` holds `ph * pw`, `outs` `out_h * out_w` and
/// `taps` `K * K + 1` vectors.
#[inline(always)]
unsafe fn compute<L: Lanes, const K: usize, const S: usize>(
    g: &Blocked,
    padded: &[f32],
    taps: &[f32],
    act: Activation,
    outs: &mut [f32],
) {
    let lanes = L::N;
    let (pp, tp, op) = (padded.as_ptr(), taps.as_ptr(), outs.as_mut_ptr());
    // SAFETY (all): output (oy, ox) reads padded rows oy * S .. oy * S + K and columns
    // ox * S .. ox * S + K, inside ph x pw since out = (padded - K) / S + 1; taps and outputs
    // are indexed below their stated counts.
    unsafe {
        let mut w = [L::splat(0.0); 25];
        for (t, w) in w.iter_mut().enumerate().take(K * K) {
            *w = L::load(tp.add(t * lanes));
        }
        let bias = L::load(tp.add(K * K * lanes));
        let at = |y: usize, x: usize| pp.add((y * g.pw + x) * lanes);
        for oy in 0..g.out_h {
            let mut ox = 0;
            while ox + R <= g.out_w {
                let mut acc = [bias; R];
                for ky in 0..K {
                    for kx in 0..K {
                        let wt = w[ky * K + kx];
                        for (r, acc) in acc.iter_mut().enumerate() {
                            *acc = L::load(at(oy * S + ky, (ox + r) * S + kx)).mul_add(wt, *acc);
                        }
                    }
                }
                L::activate(&mut acc, act);
                for (r, acc) in acc.iter().enumerate() {
                    acc.store(op.add((oy * g.out_w + ox + r) * lanes));
                }
                ox += R;
            }
            while ox < g.out_w {
                let mut acc = [bias];
                for ky in 0..K {
                    for kx in 0..K {
                        acc[0] =
                            L::load(at(oy * S + ky, ox * S + kx)).mul_add(w[ky * K + kx], acc[0]);
                    }
                }
                L::activate(&mut acc, act);
                acc[0].store(op.add((oy * g.out_w + ox) * lanes));
                ox += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::conv::{Conv2dShape, ConvAlgo, PackedConv};
    use crate::{reference, Activation, Kernels};

    fn random(len: usize, mut s: u64) -> Vec<f32> {
        s |= 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// Every table against the reference (relative tolerance 1e-5 of the terms' magnitude):
    /// partial blocks, blocks across two images, asymmetric pads, both strides and sizes.
    #[test]
    fn every_table_matches_the_reference() {
        let cases = [
            (1, 1, 7, 7, 3, 1, (1, 1, 1, 1)),
            (1, 17, 14, 14, 3, 2, (0, 0, 1, 1)),
            (2, 21, 9, 8, 5, 1, (2, 1, 2, 2)),
            (3, 5, 6, 5, 5, 2, (0, 2, 1, 0)),
            (1, 40, 16, 6, 3, 1, (1, 0, 0, 2)),
            (1, 19, 13, 14, 3, 1, (1, 1, 1, 1)),
            (2, 33, 28, 27, 3, 2, (1, 1, 1, 1)),
            (1, 24, 11, 15, 5, 1, (2, 2, 2, 0)),
            (1, 16, 27, 27, 5, 2, (2, 2, 2, 2)),
        ];
        for (i, &(n, c, h, w, k, stride, pads)) in cases.iter().enumerate() {
            let mut s = Conv2dShape::simple(n, c, h, w, c, k);
            (s.groups, s.stride_h, s.stride_w) = (c, stride, stride);
            (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = pads;
            assert!(
                super::Blocked::new(&s).is_some(),
                "{s} takes the blocked path"
            );
            let seed = i as u64 * 3;
            let (x, wt, b) = (
                random(s.input_len(), seed),
                random(s.weight_len(), seed + 1),
                random(c, seed + 2),
            );
            let act = Activation::Clip { min: 0.0, max: 0.5 };
            let (want, mag) = reference::conv2d(&s, &x, &wt, Some(&b), act).unwrap();
            for table in Kernels::available() {
                for threads in [1, 2] {
                    let conv = PackedConv::with_kernels(
                        table,
                        &s,
                        &wt,
                        Some(&b),
                        act,
                        ConvAlgo::Depthwise,
                    )
                    .unwrap();
                    let mut out = vec![f32::NAN; s.output_len()];
                    conv.run(&x, &mut out, &mut [], threads).unwrap();
                    for (j, ((&got, &want), &m)) in out.iter().zip(&want).zip(&mag).enumerate() {
                        let tol = 1e-5 * m + 1e-6;
                        assert!(
                            (got as f64 - want as f64).abs() <= tol,
                            "{} output {j}: got {got}, want {want} for {s}",
                            table.name
                        );
                    }
                }
            }
        }
    }
}
