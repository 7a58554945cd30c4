//! Direct convolution for layers with few output channels ([`super::ConvAlgo::Thin`]), as
//! channel pruning and detection heads leave them (PP-OCR det's 3x3 96->24 and, pruned,
//! 48->12 at 160x160) and for the 3-channel stems.
//!
//! im2col + GEMM unfolds `cin * kh * kw` values per output pixel and packs them, work that
//! is amortized over the output channels: with 12 or 24 of them the unfolding, not the
//! multiplies, sets the time, and halving the channels only halves it. Here the input is
//! copied once into zero-padded rows (at stride 2 split into even and odd columns, so every
//! tap reads contiguous lanes), and each pass keeps `CB` output channels x `P` vectors of
//! pixels in registers: per tap, `P` vector loads and `CB` broadcast weights feed `CB * P`
//! FMAs, with bias and activation applied before the only store. Weights are packed per
//! block of `CB` channels as `[ci][ky][kx][CB]` (zeros past the last channel).

use super::shape::Conv2dShape;
use super::DepthwiseLanes as Lanes;
use super::PackedConv;
use crate::gemm::parallel;
use crate::{Activation, Kernels, Result};
use std::ops::Range;

/// Pixels of the widest pass (2 vectors of 16 lanes): padded rows are rounded up to it.
const WIDEST: usize = 32;

/// Whether the thin kernel can compute `s`: one group, no dilation, stride 1 or 2 along
/// the width.
pub(crate) fn applies(s: &Conv2dShape) -> bool {
    s.groups == 1
        && (s.dilation_h, s.dilation_w) == (1, 1)
        && matches!(s.stride_w, 1 | 2)
        && s.stride_h >= 1
        && s.out_h() > 0
        && s.out_w() > 0
}

/// The layout of one layer's computation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    /// Output channels per register block (8 or 12).
    pub cb: usize,
    blocks: usize,
    /// Padded rows per input channel.
    hp: usize,
    /// Floats of one phase (all columns, or the even or odd ones at stride 2) of a row.
    hl: usize,
}

impl Geometry {
    pub(crate) fn new(s: &Conv2dShape) -> Geometry {
        let cout = s.out_channels;
        // The block size that pads the fewest channels (12 on a tie: fewer passes).
        let cb = if cout.next_multiple_of(12) <= cout.next_multiple_of(8) {
            12
        } else {
            8
        };
        let ow_r = s.out_w().next_multiple_of(WIDEST);
        Geometry {
            cb,
            blocks: cout.div_ceil(cb),
            hp: (s.out_h() - 1) * s.stride_h + s.kernel_h,
            hl: ow_r + (s.kernel_w - 1) / s.stride_w + 1,
        }
    }

    fn row(&self, s: &Conv2dShape) -> usize {
        self.hl * s.stride_w
    }

    fn plane(&self, s: &Conv2dShape) -> usize {
        self.hp * self.row(s)
    }

    /// Floats of the padded copy of one image.
    pub(crate) fn scratch_len(&self, s: &Conv2dShape) -> usize {
        s.in_channels * self.plane(s)
    }
}

/// OIHW weights as `[block][ci][ky][kx][cb]`, zero past the last output channel.
pub(crate) fn pack(s: &Conv2dShape, g: &Geometry, w: &[f32]) -> Vec<f32> {
    let taps = s.in_channels * s.kernel_h * s.kernel_w;
    let mut out = vec![0f32; g.blocks * taps * g.cb];
    for co in 0..s.out_channels {
        let (b, c) = (co / g.cb, co % g.cb);
        for t in 0..taps {
            out[(b * taps + t) * g.cb + c] = w[co * taps + t];
        }
    }
    out
}

/// Copies one `C x H x W` image into `buf`: zero padding, rows of `stride_w` phases.
fn fill(s: &Conv2dShape, g: &Geometry, x: &[f32], buf: &mut [f32]) {
    let (row, plane) = (g.row(s), g.plane(s));
    for (c, src_plane) in x.chunks_exact(s.in_h * s.in_w).enumerate() {
        let dst_plane = &mut buf[c * plane..][..plane];
        for (py, dst) in dst_plane.chunks_exact_mut(row).enumerate() {
            match py.checked_sub(s.pad_top).filter(|iy| *iy < s.in_h) {
                Some(iy) => fill_row(s, g, &src_plane[iy * s.in_w..][..s.in_w], dst),
                None => dst.fill(0.0),
            }
        }
    }
}

/// One padded row: the input row at `pad_left`, zeros around it (only the zeros are
/// written besides the data: a 640x640 image is several MiB).
fn fill_row(s: &Conv2dShape, g: &Geometry, src: &[f32], dst: &mut [f32]) {
    if s.stride_w == 1 {
        let n = s.in_w.min(g.hl.saturating_sub(s.pad_left));
        let (head, rest) = dst.split_at_mut(s.pad_left.min(dst.len()));
        head.fill(0.0);
        rest[..n].copy_from_slice(&src[..n]);
        rest[n..].fill(0.0);
        return;
    }
    let (even, odd) = dst.split_at_mut(g.hl);
    // Padded column `ix + pad_left`: even ones to `even`, odd ones to `odd`, at half the
    // column; whole pairs first (the compiler vectorizes the split).
    let (first, second) = if s.pad_left.is_multiple_of(2) {
        (even, odd)
    } else {
        (odd, even)
    };
    let (f0, s0) = (s.pad_left / 2, s.pad_left.div_ceil(2));
    let pairs = (s.in_w / 2)
        .min(first.len().saturating_sub(f0))
        .min(second.len().saturating_sub(s0));
    let last = s.in_w % 2 == 1 && pairs == s.in_w / 2 && f0 + pairs < first.len();
    first[..f0].fill(0.0);
    second[..s0].fill(0.0);
    let (fd, sd) = (&mut first[f0..][..pairs], &mut second[s0..][..pairs]);
    for ((p, a), b) in src.chunks_exact(2).zip(fd.iter_mut()).zip(sd.iter_mut()) {
        *a = p[0];
        *b = p[1];
    }
    if last {
        first[f0 + pairs] = src[s.in_w - 1];
    }
    first[f0 + pairs + usize::from(last)..].fill(0.0);
    second[s0 + pairs..].fill(0.0);
}

/// Output pointer shared by the threads; each writes its own rows.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: threads write disjoint output rows (split by `split_1d`).
unsafe impl Send for Out {}
// SAFETY: as above.
unsafe impl Sync for Out {}

/// Computes one image: `x` its input, `out` its `Cout x OH x OW` output.
pub(crate) fn run(
    pc: &PackedConv,
    g: &Geometry,
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) -> Result<()> {
    let s = &pc.shape;
    let (in_len, out_len) = (
        s.in_channels * s.in_h * s.in_w,
        s.out_channels * s.out_h() * s.out_w(),
    );
    let buf = &mut scratch[..g.scratch_len(s)];
    let t = parallel::threads_for(
        2 * s.macs() / s.batch.max(1),
        threads,
        pc.table.min_flops_per_thread,
    );
    for (x, y) in input
        .chunks_exact(in_len)
        .zip(output.chunks_exact_mut(out_len))
    {
        fill(s, g, x, buf);
        let out = Out(y.as_mut_ptr());
        let buf: &[f32] = buf;
        parallel::run(parallel::split_1d(s.out_h(), 1, t), |rows| {
            // SAFETY: `buf` is the padded image of `g`, the weights are packed for `g`, and
            // `out` holds this image's output, of which these rows belong to this thread.
            unsafe { dispatch(pc.table, pc, g, buf, out, rows) }
        });
        if pc.activation != Activation::None && !fused(pc.table, pc.activation) {
            pc.table.activate(y, pc.activation)?;
        }
    }
    Ok(())
}

/// Whether the lanes [`dispatch`] picks for `table` apply `act` themselves.
fn fused(table: &Kernels, act: Activation) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::arch::x86_64_fma::conv::{Avx2Lanes, Avx512Lanes};
        match table.name() {
            "x86_64_avx512" => return Avx512Lanes::fuses(act),
            "x86_64_fma" => return Avx2Lanes::fuses(act),
            _ => {}
        }
    }
    #[cfg(target_arch = "aarch64")]
    if table.name() != "generic" {
        return super::PortableLanes::<true>::fuses(act);
    }
    super::PortableLanes::<false>::fuses(act)
}

/// The rows on the vectors of `table`.
///
/// Safety: as [`rows`].
unsafe fn dispatch(
    table: &Kernels,
    pc: &PackedConv,
    g: &Geometry,
    buf: &[f32],
    out: Out,
    rows: Range<usize>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::arch::x86_64_fma::conv::{Avx2Lanes, Avx512Lanes};
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512(pc: &PackedConv, g: &Geometry, b: &[f32], o: Out, r: Range<usize>) {
            // SAFETY: forwarded; this function has the lanes' features.
            unsafe { by_block::<Avx512Lanes, 2>(pc, g, b, o, r) }
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(pc: &PackedConv, g: &Geometry, b: &[f32], o: Out, r: Range<usize>) {
            // SAFETY: forwarded; this function has the lanes' features.
            unsafe { by_block::<Avx2Lanes, 1>(pc, g, b, o, r) }
        }
        match table.name() {
            // SAFETY: these tables exist only on CPUs with the features.
            "x86_64_avx512" => return unsafe { avx512(pc, g, buf, out, rows) },
            "x86_64_fma" => return unsafe { avx2(pc, g, buf, out, rows) },
            _ => {}
        }
    }
    #[cfg(target_arch = "aarch64")]
    if table.name() != "generic" {
        // SAFETY: forwarded.
        return unsafe { by_block::<super::PortableLanes<true>, 1>(pc, g, buf, out, rows) };
    }
    // SAFETY: forwarded.
    unsafe { by_block::<super::PortableLanes<false>, 1>(pc, g, buf, out, rows) }
}

/// Safety: as [`rows`].
#[inline(always)]
unsafe fn by_block<L: Lanes, const P: usize>(
    pc: &PackedConv,
    g: &Geometry,
    buf: &[f32],
    out: Out,
    rows: Range<usize>,
) {
    // SAFETY: forwarded.
    unsafe {
        match (g.cb, pc.shape.stride_w) {
            (8, 1) => self::rows::<L, 8, P, 1>(pc, g, buf, out, rows),
            (8, _) => self::rows::<L, 8, P, 2>(pc, g, buf, out, rows),
            (_, 1) => self::rows::<L, 12, P, 1>(pc, g, buf, out, rows),
            _ => self::rows::<L, 12, P, 2>(pc, g, buf, out, rows),
        }
    }
}

/// Output rows `rows` of every channel: passes of `P` vectors, then single vectors, then a
/// partial vector stored through a buffer.
///
/// Safety: the CPU has `L`'s features; `buf` is the padded image for `g`, `pc.weights` is
/// packed for `g` with block size `CB`, `out` points to this image's output and no other
/// thread writes `rows`.
#[inline(always)]
unsafe fn rows<L: Lanes, const CB: usize, const P: usize, const S: usize>(
    pc: &PackedConv,
    g: &Geometry,
    buf: &[f32],
    out: Out,
    rows: Range<usize>,
) {
    let s = &pc.shape;
    let (oh, ow, n) = (s.out_h(), s.out_w(), L::N);
    let taps = s.in_channels * s.kernel_h * s.kernel_w;
    let act = pc.activation;
    for blk in 0..g.blocks {
        let w = &pc.weights[blk * taps * CB..][..taps * CB];
        let mut bias = [0f32; CB];
        for (c, b) in bias.iter_mut().enumerate() {
            let co = blk * CB + c;
            *b = match &pc.bias {
                Some(v) if co < s.out_channels => v[co],
                _ => 0.0,
            };
        }
        let live = CB.min(s.out_channels - blk * CB);
        for oy in rows.clone() {
            let mut x0 = 0;
            let store = |x0: usize, acc: &[[L; 1]], width: usize| {
                for (c, a) in acc.iter().enumerate().take(live) {
                    // SAFETY: channel `blk * CB + c < Cout`, row `oy < OH`, columns
                    // `x0..x0 + width <= OW`: inside this image's output.
                    let dst = unsafe { out.0.add(((blk * CB + c) * oh + oy) * ow + x0) };
                    if width == n {
                        unsafe { a[0].store(dst) };
                    } else {
                        let mut tmp = [0f32; 16];
                        unsafe { a[0].store(tmp.as_mut_ptr()) };
                        unsafe { std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, width) };
                    }
                }
            };
            while x0 + P * n <= ow {
                // SAFETY: forwarded; columns x0..x0 + P*N are inside the padded rows.
                let acc = unsafe { pass::<L, CB, P, S>(s, g, buf, w, &bias, act, oy, x0) };
                for (p, x) in (x0..).step_by(n).take(P).enumerate() {
                    let col: [[L; 1]; CB] = std::array::from_fn(|c| [acc[c][p]]);
                    store(x, &col, n);
                }
                x0 += P * n;
            }
            while x0 < ow {
                // SAFETY: as above (rows are padded to whole widest passes).
                let acc = unsafe { pass::<L, CB, 1, S>(s, g, buf, w, &bias, act, oy, x0) };
                store(x0, &acc, n.min(ow - x0));
                x0 += n;
            }
        }
    }
}

/// `CB` channels x `P` vectors of output row `oy` from column `x0`, activated.
///
/// Safety: the CPU has `L`'s features; `x0 + P * N` is within the padded row width; `S` is
/// the stride along the width.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pass<L: Lanes, const CB: usize, const P: usize, const S: usize>(
    s: &Conv2dShape,
    g: &Geometry,
    buf: &[f32],
    w: &[f32],
    bias: &[f32; CB],
    act: Activation,
    oy: usize,
    x0: usize,
) -> [[L; P]; CB] {
    let (row, plane, n) = (g.row(s), g.plane(s), L::N);
    // SAFETY (all loads): row `oy * sh + ky < hp` of a channel's plane, columns
    // `(kx % S) * hl + kx / S + x0 + P * N <= hl * S` (Geometry rounds rows up);
    // weights `t * CB + c` < taps * CB.
    let mut acc: [[L; P]; CB] = std::array::from_fn(|c| [unsafe { L::splat(bias[c]) }; P]);
    let bp = buf.as_ptr();
    let mut wp = w.as_ptr();
    for ci in 0..s.in_channels {
        for ky in 0..s.kernel_h {
            let r = unsafe { bp.add(ci * plane + (oy * s.stride_h + ky) * row + x0) };
            for kx in 0..s.kernel_w {
                let src = unsafe { r.add((kx % S) * g.hl + kx / S) };
                let v: [L; P] = std::array::from_fn(|p| unsafe { L::load(src.add(p * n)) });
                for a in acc.iter_mut() {
                    let wv = unsafe { L::splat(*wp) };
                    wp = unsafe { wp.add(1) };
                    for p in 0..P {
                        a[p] = unsafe { v[p].mul_add(wv, a[p]) };
                    }
                }
            }
        }
    }
    if L::fuses(act) {
        for a in acc.iter_mut() {
            unsafe { L::activate(a, act) };
        }
    }
    acc
}
