//! Depthwise convolution (one input and one output channel per group), computed directly on
//! NCHW planes one output row at a time: the row (at most a few hundred floats) stays in L1
//! while every kernel tap adds its shifted input row to it. Where all taps of a kernel row
//! are inside the input, 3- and 5-wide kernels add them in one pass (one load and store of
//! the output per kernel row instead of per tap); the edges take one pass per tap.
//!
//! The loops are written for the compiler to vectorize; `arch` instantiates them with AVX2 +
//! FMA enabled (x86-64) or with fused multiply-adds (aarch64, where NEON is the baseline).

use std::ops::Range;

mod blocked;
mod rows;

pub(crate) use blocked::{
    blocked_generic, planes as blocked_planes, Channels as DepthwiseChannels, DepthwiseBlockKernel,
};
pub(crate) use rows::{Lanes as DepthwiseLanes, Portable as PortableLanes};

use super::shape::{valid_range, Conv2dShape};
use super::PackedConv;
use crate::arch::ActKernel;
use crate::gemm::{parallel, with_workspace};
use crate::{Activation, Result};

/// The kernels the row and small-plane paths compute: square 3x3 or 5x5, the same stride 1 or 2
/// on both axes, no dilation, a non-empty output.
fn fast_kernel(s: &Conv2dShape) -> bool {
    s.kernel_h == s.kernel_w
        && matches!(s.kernel_w, 3 | 5)
        && s.stride_h == s.stride_w
        && matches!(s.stride_w, 1 | 2)
        && s.dilation_h == 1
        && s.dilation_w == 1
        && s.out_h() > 0
        && s.out_w() > 0
}

/// Where each kernel column lands in an output row, computed once per layer (the divisions
/// of `valid_range` would otherwise cost more than a short row's arithmetic).
#[derive(Debug, Clone)]
pub(crate) struct RowPlan {
    /// Per kernel column `j`: the outputs whose input is inside the row, and the input index
    /// of the first of them.
    cols: Vec<(Range<usize>, usize)>,
    /// Outputs where every kernel column is inside the row, and the input index of column 0
    /// for the first of them; `None` unless the kernel is 3 or 5 wide at stride 1 or 2.
    inner: Option<(Range<usize>, usize)>,
    /// The fast path's geometry, where it applies.
    fast: Option<rows::Geometry>,
    /// The small-plane path's geometry, where it applies (it then takes the whole layer).
    blocked: Option<blocked::Blocked>,
}

impl RowPlan {
    pub(crate) fn new(s: &Conv2dShape) -> RowPlan {
        let (ow, iw, st) = (s.out_w(), s.in_w, s.stride_w);
        let offset = |j: usize| (j * s.dilation_w) as isize - s.pad_left as isize;
        let start =
            |r: &Range<usize>, j: usize| ((r.start * st) as isize + offset(j)).max(0) as usize;
        let cols: Vec<_> = (0..s.kernel_w)
            .map(|j| {
                let r = valid_range(ow, iw, st, offset(j));
                let x0 = start(&r, j);
                (r, x0)
            })
            .collect();
        // Ranges shrink from the right and grow to the left as j grows: the intersection is
        // the first column's start to the last column's end.
        let (first, last) = (&cols[0].0, &cols[s.kernel_w - 1].0);
        let inner = first.start.max(last.start)..first.end.min(last.end);
        let square = s.kernel_h == s.kernel_w;
        let fusable = square && matches!((s.kernel_w, st), (3 | 5, 1 | 2)) && !inner.is_empty();
        let inner = fusable.then(|| {
            let x0 = start(&inner, 0);
            (inner, x0)
        });
        RowPlan {
            cols,
            inner,
            fast: rows::Geometry::new(s),
            blocked: blocked::Blocked::new(s),
        }
    }
}

/// Everything one plane needs besides the data.
pub(crate) struct Plane<'a> {
    pub shape: &'a Conv2dShape,
    pub plan: &'a RowPlan,
    pub bias: f32,
    pub act: Activation,
    pub act_kernel: ActKernel,
}

/// Depthwise kernel `(plane, input, weights, output)` for one channel: `input` is its
/// `in_h x in_w` plane, `weights` its `kernel_h x kernel_w` taps, `output` its `out_h x out_w`
/// plane, then a work buffer of [`buffer_len`] floats. Safety: the lengths are as stated, and
/// the CPU has the kernel's features.
pub(crate) type DepthwiseKernel = unsafe fn(&Plane, &[f32], &[f32], &mut [f32], &mut [f32]);

/// The inner loop of the fused path, per instruction set: `out[k] = bias +
/// sum_{i, j} w[i][j] * src[i][k * S + j * d]`, where every `src[i]` holds exactly
/// `(out.len() - 1) * S + (K - 1) * d + 1` floats.
pub(crate) trait Block {
    /// Safety: the CPU has the implementation's features.
    unsafe fn block<const K: usize, const S: usize>(
        out: &mut [f32],
        src: &[&[f32]; K],
        d: usize,
        bias: f32,
        w: &[[f32; K]; K],
    );
}

/// The portable inner loop; `FMA` picks `mul_add` (one instruction where the target has FMA,
/// a slow libm call where it does not: x86-64's baseline).
pub(crate) struct Portable<const FMA: bool>;

impl<const FMA: bool> Block for Portable<FMA> {
    #[inline(always)]
    unsafe fn block<const K: usize, const S: usize>(
        out: &mut [f32],
        src: &[&[f32]; K],
        d: usize,
        bias: f32,
        w: &[[f32; K]; K],
    ) {
        block::<FMA, K, S>(out, src, d, bias, w)
    }
}

/// The generic kernel: plain multiply and add.
pub(crate) unsafe fn plane_generic(
    p: &Plane,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    // SAFETY: forwarded contract; no CPU features needed.
    unsafe {
        plane::<false, Portable<false>, PortableLanes<false>, PortableLanes<false>>(
            p, x, w, out, buf,
        )
    }
}

/// Floats of the work buffer of one plane: the zero-padded input plane and the output
/// stream of the padded path.
pub(crate) fn buffer_len(s: &Conv2dShape) -> usize {
    let (ph, pw) = (
        s.in_h + s.pad_top + s.pad_bottom,
        s.in_w + s.pad_left + s.pad_right,
    );
    let fast = rows::Geometry::new(s).map_or(0, |g| g.buffer_len);
    ((ph + s.out_h()) * pw).max(fast)
}

/// Kernels whose taps all fit (3x3 or 5x5 at stride 1 or 2): the plane is copied into a
/// zero-padded buffer, so no output needs edge handling. At stride 1 every output row is then
/// part of one stream over the flattened padded plane (the columns past the output width are
/// computed and dropped), so even a 7x7 plane runs in full vectors with a single call.
#[inline(always)]
fn padded<B: Block>(p: &Plane, x: &[f32], w: &[f32], out: &mut [f32], buf: &mut [f32]) {
    let s = p.shape;
    let (h, iw, oh, ow) = (s.in_h, s.in_w, s.out_h(), s.out_w());
    let (ph, pw) = (h + s.pad_top + s.pad_bottom, iw + s.pad_left + s.pad_right);
    let (pad, stream) = buf[..(ph + oh) * pw].split_at_mut(ph * pw);
    pad.fill(0.0);
    for (y, row) in x.chunks_exact(iw).enumerate() {
        let at = (y + s.pad_top) * pw + s.pad_left;
        pad[at..at + iw].copy_from_slice(row);
    }
    let pad = &*pad;
    if s.stride_h == 1 && s.stride_w == 1 {
        let n = (oh - 1) * pw + ow;
        let srcs = |i: usize| &pad[i * s.dilation_h * pw..];
        block_at::<B>(s, &mut stream[..n], srcs, p.bias, w);
        for (oy, row) in out.chunks_exact_mut(ow).enumerate() {
            row.copy_from_slice(&stream[oy * pw..oy * pw + ow]);
        }
    } else {
        for (oy, row) in out.chunks_exact_mut(ow).enumerate() {
            let srcs = |i: usize| &pad[(oy * s.stride_h + i * s.dilation_h) * pw..];
            block_at::<B>(s, row, srcs, p.bias, w);
        }
    }
}

/// One channel; `FMA` picks `mul_add` (a single instruction where the target has FMA).
///
/// Output rows whose kernel rows all lie inside the input ("full rows") take the fused path:
/// edges tap by tap, the inner part with every tap in registers. At stride 1 with rows as wide
/// as the input, the inner parts of consecutive full rows are one stream over the flattened
/// plane (long vectors even for 7x7 planes), whose positions that wrap across a row edge are
/// recomputed afterwards. Other rows add one kernel row at a time.
///
/// 3x3 and 5x5 kernels at stride 1 or 2 without dilation take the fast path of `rows` with
/// `Wide` lanes (`Narrow` ones for rows narrower than a `Wide` vector).
///
/// Safety: see [`DepthwiseKernel`]; the CPU also has the features of both lane types.
#[inline(always)]
pub(crate) unsafe fn plane<
    const FMA: bool,
    B: Block,
    Wide: DepthwiseLanes,
    Narrow: DepthwiseLanes,
>(
    p: &Plane,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    if let Some(g) = p.plan.fast.as_ref().filter(|g| buf.len() >= g.buffer_len) {
        // SAFETY: forwarded contract; the buffer is long enough (checked).
        unsafe { rows::plane::<Wide, Narrow>(g, p, x, w, out, buf) };
        return;
    }
    if p.plan.inner.is_some() && buf.len() >= buffer_len(p.shape) {
        padded::<B>(p, x, w, out, buf);
        // SAFETY: the caller guarantees the CPU features of the table the kernel came from.
        unsafe { (p.act_kernel)(out, p.act) };
        return;
    }
    let s = p.shape;
    let (oh, ow, h, iw, kh) = (s.out_h(), s.out_w(), s.in_h, s.in_w, s.kernel_h);
    let top = |oy: usize| (oy * s.stride_h) as isize - s.pad_top as isize;
    let span = ((kh - 1) * s.dilation_h) as isize;
    let full = |oy: usize| top(oy) >= 0 && top(oy) + span < h as isize;
    let first_full = (0..oh).find(|&oy| full(oy)).unwrap_or(oh);
    let end_full = (first_full..oh).find(|&oy| !full(oy)).unwrap_or(oh);
    let fused = p.plan.inner.as_ref().filter(|_| first_full < end_full);
    let (first_full, end_full) = if fused.is_some() {
        (first_full, end_full)
    } else {
        (oh, oh)
    };
    for oy in (0..first_full).chain(end_full..oh) {
        row_by_kernel_rows::<FMA>(p, x, w, oy, &mut out[oy * ow..(oy + 1) * ow]);
    }
    if let Some((inner, x0)) = fused {
        let stream = s.stride_w == 1 && s.stride_h == 1 && iw == ow;
        if stream {
            let r0 = first_full;
            let (a, b) = (r0 * ow + inner.start, (end_full - 1) * ow + inner.end);
            let base = (top(r0) as usize) * iw + x0;
            let srcs = |i: usize| &x[base + i * s.dilation_h * iw..];
            block_at::<B>(s, &mut out[a..b], srcs, p.bias, w);
            for oy in first_full..end_full {
                for ox in (0..inner.start).chain(inner.end..ow) {
                    out[oy * ow + ox] = single::<FMA>(s, x, w, oy, ox, p.bias);
                }
            }
        } else {
            for oy in first_full..end_full {
                let row = &mut out[oy * ow..(oy + 1) * ow];
                row.fill(p.bias);
                let base = top(oy) as usize * iw;
                let src = |i: usize| &x[base + i * s.dilation_h * iw..][..iw];
                add_edges::<FMA>(p, w, inner, src, row);
                let srcs = |i: usize| &src(i)[*x0..];
                block_at::<B>(s, &mut row[inner.clone()], srcs, p.bias, w);
            }
        }
    }
    // SAFETY: the caller guarantees the CPU features of the table the kernel came from.
    unsafe { (p.act_kernel)(out, p.act) };
}

/// Dispatches [`block`] on the kernel width and stride (3 or 5, 1 or 2: what `RowPlan` fuses).
#[inline(always)]
fn block_at<'a, B: Block>(
    s: &Conv2dShape,
    out: &mut [f32],
    srcs: impl Fn(usize) -> &'a [f32],
    bias: f32,
    w: &[f32],
) {
    match (s.kernel_w, s.stride_w) {
        (3, 1) => dispatch::<B, 3, 1>(s, out, srcs, bias, w),
        (3, 2) => dispatch::<B, 3, 2>(s, out, srcs, bias, w),
        (5, 1) => dispatch::<B, 5, 1>(s, out, srcs, bias, w),
        (5, 2) => dispatch::<B, 5, 2>(s, out, srcs, bias, w),
        _ => unreachable!("RowPlan fuses 3 or 5 taps at stride 1 or 2"),
    }
}

/// Cuts the sources to their exact extent and the weights to a `K x K` array for `B::block`.
#[inline(always)]
fn dispatch<'a, B: Block, const K: usize, const S: usize>(
    s: &Conv2dShape,
    out: &mut [f32],
    srcs: impl Fn(usize) -> &'a [f32],
    bias: f32,
    w: &[f32],
) {
    let d = s.dilation_w;
    let need = (out.len() - 1) * S + (K - 1) * d + 1;
    let mut src: [&[f32]; K] = [&[]; K];
    let mut wk = [[0f32; K]; K];
    for i in 0..K {
        src[i] = &srcs(i)[..need];
        wk[i].copy_from_slice(&w[i * K..(i + 1) * K]);
    }
    // SAFETY: the plane kernel that inlines this runs only where `B`'s features exist.
    unsafe { B::block::<K, S>(out, &src, d, bias, &wk) }
}

/// Adds, tap by tap, the outputs of a full row that lie outside the inner range.
#[inline(always)]
fn add_edges<'a, const FMA: bool>(
    p: &Plane,
    w: &[f32],
    inner: &Range<usize>,
    src: impl Fn(usize) -> &'a [f32],
    row: &mut [f32],
) {
    let (kw, st) = (p.shape.kernel_w, p.shape.stride_w);
    for i in 0..p.shape.kernel_h {
        let src = src(i);
        for (j, (xs, xj)) in p.plan.cols.iter().enumerate() {
            let wj = w[i * kw + j];
            let left = xs.start..inner.start.max(xs.start);
            let right = inner.end.min(xs.end)..xs.end;
            if !left.is_empty() {
                axpy::<FMA>(&mut row[left], &src[*xj..], st, wj);
            }
            if !right.is_empty() {
                let at = xj + (right.start - xs.start) * st;
                axpy::<FMA>(&mut row[right], &src[at..], st, wj);
            }
        }
    }
}

/// One output row, one kernel row at a time (rows near the top and bottom edges).
#[inline(always)]
fn row_by_kernel_rows<const FMA: bool>(
    p: &Plane,
    x: &[f32],
    w: &[f32],
    oy: usize,
    row: &mut [f32],
) {
    let s = p.shape;
    let (h, iw, kw) = (s.in_h as isize, s.in_w, s.kernel_w);
    row.fill(p.bias);
    for i in 0..s.kernel_h {
        let iy = (oy * s.stride_h + i * s.dilation_h) as isize - s.pad_top as isize;
        if iy < 0 || iy >= h {
            continue;
        }
        let src = &x[iy as usize * iw..][..iw];
        for (j, (xs, xj)) in p.plan.cols.iter().enumerate() {
            if !xs.is_empty() {
                axpy::<FMA>(&mut row[xs.clone()], &src[*xj..], s.stride_w, w[i * kw + j]);
            }
        }
    }
}

/// One output computed on its own, taps in row-major order.
#[inline(always)]
fn single<const FMA: bool>(
    s: &Conv2dShape,
    x: &[f32],
    w: &[f32],
    oy: usize,
    ox: usize,
    bias: f32,
) -> f32 {
    let mut acc = bias;
    for i in 0..s.kernel_h {
        let iy = (oy * s.stride_h + i * s.dilation_h) as isize - s.pad_top as isize;
        if iy < 0 || iy >= s.in_h as isize {
            continue;
        }
        for j in 0..s.kernel_w {
            let ix = (ox * s.stride_w + j * s.dilation_w) as isize - s.pad_left as isize;
            if ix >= 0 && ix < s.in_w as isize {
                let xv = x[iy as usize * s.in_w + ix as usize];
                acc = madd::<FMA>(xv, w[i * s.kernel_w + j], acc);
            }
        }
    }
    acc
}

#[inline(always)]
fn madd<const FMA: bool>(x: f32, w: f32, acc: f32) -> f32 {
    if FMA {
        x.mul_add(w, acc)
    } else {
        acc + x * w
    }
}

/// `out[k] = bias + sum_{i, j} w[i][j] * src[i][k * S + j * d]` for a `K x K` kernel whose
/// rows are all inside the input: eight outputs at a time with every tap accumulated in
/// registers; a ragged end is covered by one more group of eight that overlaps the previous
/// one (same values rewritten), so only outputs shorter than eight go one by one.
#[inline(always)]
fn block<const FMA: bool, const K: usize, const S: usize>(
    out: &mut [f32],
    src: &[&[f32]; K],
    d: usize,
    bias: f32,
    w: &[[f32; K]; K],
) {
    const L: usize = 8;
    let n = out.len();
    if n < L {
        for (k, o) in out.iter_mut().enumerate() {
            let mut acc = bias;
            for i in 0..K {
                for j in 0..K {
                    acc = madd::<FMA>(src[i][k * S + j * d], w[i][j], acc);
                }
            }
            *o = acc;
        }
        return;
    }
    let mut k0 = 0;
    while k0 + L <= n {
        group::<FMA, K, S, L>(&mut out[k0..k0 + L], src, k0 * S, d, bias, w);
        k0 += L;
    }
    if k0 < n {
        group::<FMA, K, S, L>(&mut out[n - L..], src, (n - L) * S, d, bias, w);
    }
}

/// `L` outputs of [`block`] from input offset `x0`. (A function, not a closure: closures do
/// not inherit the caller's target features, and an `fmaf` libm call per tap is 50x slower.)
// Index loops over the const-sized tap arrays read as the math.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn group<const FMA: bool, const K: usize, const S: usize, const L: usize>(
    out: &mut [f32],
    src: &[&[f32]; K],
    x0: usize,
    d: usize,
    bias: f32,
    w: &[[f32; K]; K],
) {
    let mut acc = [bias; L];
    for i in 0..K {
        for j in 0..K {
            let at = x0 + j * d;
            let xs = &src[i][at..at + (L - 1) * S + 1];
            for l in 0..L {
                acc[l] = madd::<FMA>(xs[l * S], w[i][j], acc[l]);
            }
        }
    }
    out[..L].copy_from_slice(&acc);
}

/// `out[k] += w * src[k * stride]`.
#[inline(always)]
fn axpy<const FMA: bool>(out: &mut [f32], src: &[f32], stride: usize, w: f32) {
    match stride {
        1 => {
            for (o, &x) in out.iter_mut().zip(src) {
                *o = madd::<FMA>(x, w, *o);
            }
        }
        _ => {
            for (o, &x) in out.iter_mut().zip(src.iter().step_by(stride)) {
                *o = madd::<FMA>(x, w, *o);
            }
        }
    }
}

/// Runs the convolution: planes (image, channel) are split across threads, each computed
/// whole by one thread, so results do not depend on the thread count.
pub(crate) fn run(
    pc: &PackedConv,
    input: &[f32],
    output: &mut [f32],
    threads: usize,
) -> Result<()> {
    let s = &pc.shape;
    let (in_plane, out_plane) = (s.in_h * s.in_w, s.out_h() * s.out_w());
    let planes = s.batch * s.in_channels;
    if planes == 0 || out_plane == 0 {
        return Ok(());
    }
    let kk = s.kernel_h * s.kernel_w;
    let flops = 2 * s.macs();
    let t = parallel::threads_for(flops, threads, pc.table.min_flops_per_thread / 4);
    let plan = pc
        .row_plan
        .as_ref()
        .expect("depthwise layers have a row plan");
    if let Some(g) = &plan.blocked {
        return run_blocked(pc, g, input, output, t);
    }
    let ranges = parallel::split_1d(planes, 1, t);
    let mut work = parallel::Parts::new();
    let mut rest = output;
    for r in ranges {
        let (mine, tail) = rest.split_at_mut(r.len() * out_plane);
        rest = tail;
        work.push((r, mine));
    }
    let kernel = pc.table.depthwise;
    let buf_len = buffer_len(s);
    parallel::run(work, |(range, out)| {
        with_workspace(|ws| {
            let buf = ws.b.get(buf_len);
            for (q, out) in range.zip(out.chunks_exact_mut(out_plane)) {
                let c = q % s.in_channels;
                let p = Plane {
                    shape: s,
                    plan,
                    bias: pc.bias.as_ref().map_or(0.0, |b| b[c]),
                    act: pc.activation,
                    act_kernel: pc.table.act,
                };
                let x = &input[q * in_plane..(q + 1) * in_plane];
                let w = &pc.weights[c * kk..(c + 1) * kk];
                // SAFETY: slices cut to the contract's lengths; the table's kernels run here.
                unsafe { kernel(&p, x, w, out, buf) };
            }
        })
    });
    Ok(())
}

/// The small-plane path: runs of planes (whole vectors of channels, so each block is filled)
/// split across `threads`, each run computed whole by one thread.
fn run_blocked(
    pc: &PackedConv,
    g: &blocked::Blocked,
    input: &[f32],
    output: &mut [f32],
    threads: usize,
) -> Result<()> {
    let s = &pc.shape;
    let (in_plane, out_plane) = (s.in_h * s.in_w, s.out_h() * s.out_w());
    let planes = s.batch * s.in_channels;
    let mut work = parallel::Parts::new();
    let mut rest = output;
    for r in parallel::split_1d(planes, blocked::MAX_LANES, threads) {
        let (mine, tail) = rest.split_at_mut(r.len() * out_plane);
        rest = tail;
        work.push((r, mine));
    }
    let kernel = pc.table.depthwise_block;
    let buf_len = g.buffer_len();
    parallel::run(work, |(range, out)| {
        with_workspace(|ws| {
            let buf = ws.b.get(buf_len);
            let p = DepthwiseChannels {
                geometry: g,
                first: range.start,
                channels: s.in_channels,
                weights: &pc.weights,
                bias: pc.bias.as_deref(),
                act: pc.activation,
                act_kernel: pc.table.act,
            };
            let x = &input[range.start * in_plane..range.end * in_plane];
            // SAFETY: slices cut to the run's planes; the table's kernels run here.
            unsafe { kernel(&p, x, out, buf) };
        })
    });
    Ok(())
}
