//! Winograd minimal filtering for 3x3 stride-1 convolutions (Lavin & Gray 2015), in two
//! sizes: F(2x2, 3x3) (4x4 input tiles, 16 multiplies per 2x2 outputs instead of 36: 2.25x
//! fewer) and F(4x4, 3x3) (6x6 input tiles, 36 per 4x4 outputs instead of 144: 4x fewer).
//!
//! Per image, the input is transposed to HWC; then, one block of output tiles at a time (sized
//! so that the block's transformed inputs and products stay in L2), the tiles are transformed
//! (`V = B^T d B`, vectorized across channels) into `A^2` matrices `V_xi` (tiles x channels),
//! multiplied by the weights transformed at pack time (`U = G g G^T`, `A^2` prepacked
//! `in x out` right-hand sides) with the table's GEMM, and transformed back (`Y = A^T M A`)
//! with bias (and ReLU/Clip) into NCHW. Blocks are independent, so with two threads each
//! takes every other block. The transforms are plain Rust compiled once per table with its
//! target features (`Transforms`). F(2x2) stays within a few roundings of the direct sum;
//! F(4x4)'s constants (up to 8 and 1/24) cost about one more decimal digit (see the tests).

use std::ops::Range;
use std::sync::Mutex;

use super::shape::Conv2dShape;
use super::PackedConv;
use crate::gemm::parallel;
use crate::{Activation, GemmParams, Kernels, MatMut, MatRef, PackedB, Result};

/// Whether Winograd computes this shape: a 3x3 kernel, unit strides and dilations, one group.
pub(crate) fn applies(s: &Conv2dShape) -> bool {
    (
        s.kernel_h,
        s.kernel_w,
        s.stride_h,
        s.stride_w,
        s.dilation_h,
        s.dilation_w,
        s.groups,
    ) == (3, 3, 1, 1, 1, 1, 1)
}

/// The output tile `Auto` uses for a shape: 4x4 where the image has at least 16 output
/// rows and columns (ResNet-18 at 56 and 28: fewer multiplies and less transform traffic per
/// output), 2x2 below (at 14 and 7, 4x4 tiles waste a third of the work on padding and leave
/// too few tiles for the GEMM's rows). Measured with `benches/conv.rs`.
pub(crate) fn pick_tile(s: &Conv2dShape) -> usize {
    if s.out_h() >= 16 && s.out_w() >= 16 {
        4
    } else {
        2
    }
}

/// Workers that may run blocks at the same time; the scratch holds one block per worker.
const WORKERS: usize = 2;

/// Bytes of transformed inputs and products per block: with the `A^2` weight matrices of a
/// narrow layer this fills about half of a 1.25 MiB L2.
const BLOCK_BYTES: usize = 384 << 10;

/// Layout of one layer's Winograd computation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    /// Output tile side (2 or 4); the input tile side is `m + 2`.
    pub m: usize,
    cin: usize,
    cout: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    pad_top: usize,
    pad_left: usize,
    /// Tiles per row and in all.
    tw: usize,
    tiles: usize,
    /// Tiles per block (a multiple of the table's `mr` unless it is all of them).
    block: usize,
}

impl Geometry {
    pub(crate) fn new(table: &Kernels, s: &Conv2dShape, m: usize) -> Geometry {
        let (th, tw) = (s.out_h().div_ceil(m), s.out_w().div_ceil(m));
        let tiles = th * tw;
        let a2 = (m + 2) * (m + 2);
        let per_tile = a2 * (s.in_channels + s.out_channels) * 4;
        // Each block streams all `A^2` weight matrices once: when they outweigh the
        // transformed inputs and products of the whole image (deep layers on small images),
        // one block of every tile moves the fewest bytes.
        let weights_dominate =
            s.in_channels * s.out_channels >= tiles * (s.in_channels + s.out_channels);
        let budget = if weights_dominate {
            tiles
        } else {
            (BLOCK_BYTES / per_tile.max(1)).max(1)
        };
        let blocks = tiles.div_ceil(budget).max(1);
        let mr = table.mr.max(1);
        let block = tiles.div_ceil(blocks).div_ceil(mr) * mr;
        Geometry {
            m,
            cin: s.in_channels,
            cout: s.out_channels,
            h: s.in_h,
            w: s.in_w,
            oh: s.out_h(),
            ow: s.out_w(),
            pad_top: s.pad_top,
            pad_left: s.pad_left,
            tw,
            tiles,
            block: block.min(tiles).max(1),
        }
    }

    fn a2(&self) -> usize {
        (self.m + 2) * (self.m + 2)
    }

    /// Floats of one block's transformed inputs and products.
    fn block_len(&self) -> usize {
        self.a2() * self.block * (self.cin + self.cout)
    }
}

/// Floats of scratch: the image in HWC, and one block of `V` and `M` per worker.
pub(crate) fn scratch_len(g: &Geometry) -> usize {
    g.cin * g.h * g.w + WORKERS * g.block_len()
}

/// The transformed weight matrices `U_xi` (`in x out`), prepacked for the GEMM.
pub(crate) fn pack(table: &Kernels, s: &Conv2dShape, w: &[f32], m: usize) -> Result<Vec<PackedB>> {
    let (cin, cout) = (s.in_channels, s.out_channels);
    let a = m + 2;
    let mut u = vec![0f32; a * a * cin * cout];
    for o in 0..cout {
        for c in 0..cin {
            let g = &w[(o * cin + c) * 9..][..9];
            // G g on the columns of g, then on the rows of the result.
            let mut cols = [[0f32; 3]; 6];
            for j in 0..3 {
                let t = weight_1d(m, [g[j], g[3 + j], g[6 + j]]);
                for (i, v) in t.iter().take(a).enumerate() {
                    cols[i][j] = *v;
                }
            }
            for (i, row) in cols.iter().take(a).enumerate() {
                let t = weight_1d(m, *row);
                for (j, v) in t.iter().take(a).enumerate() {
                    u[((i * a + j) * cin + c) * cout + o] = *v;
                }
            }
        }
    }
    u.chunks_exact(cin * cout)
        .map(|mat| PackedB::with_kernels(table, MatRef::row_major(mat, cin, cout)?))
        .collect()
}

/// `G g` for one column: 4 values for F(2x2), 6 for F(4x4) (the rest zero).
fn weight_1d(m: usize, [g0, g1, g2]: [f32; 3]) -> [f32; 6] {
    if m == 2 {
        [g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2, 0.0, 0.0]
    } else {
        [
            g0 / 4.0,
            -(g0 + g1 + g2) / 6.0,
            -(g0 - g1 + g2) / 6.0,
            g0 / 24.0 + g1 / 12.0 + g2 / 6.0,
            g0 / 24.0 - g1 / 12.0 + g2 / 6.0,
            g2,
        ]
    }
}

/// C as a raw pointer shared by the workers, which write the disjoint pixels of their tiles.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(*mut f32);
// SAFETY: every output pixel belongs to exactly one tile, and every tile to one worker.
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}

/// What the output transform adds and clamps: bias per channel (or none) and the bounds of
/// a fused ReLU / Clip (infinite otherwise).
pub(crate) struct OutParams<'a> {
    bias: Option<&'a [f32]>,
    clamp: bool,
    lo: f32,
    hi: f32,
}

/// The transforms of one table: `input(g, hwc, v, tiles)` fills a block's `V` for `tiles`
/// (the block's range); `output(g, m, out, tiles, params)` writes their outputs from `M`.
///
/// Safety (`output`): `out` points to one image's `cout * oh * ow` writable floats, and no
/// other thread writes the pixels of `tiles`; both: the CPU has the features of the table.
#[derive(Clone, Copy)]
pub(crate) struct Transforms {
    pub input: unsafe fn(&Geometry, &[f32], &mut [f32], Range<usize>),
    pub output: unsafe fn(&Geometry, &[f32], OutPtr, Range<usize>, &OutParams),
}

/// Plain Rust for the baseline target.
pub(crate) const GENERIC: Transforms = Transforms {
    input: input_generic,
    output: output_generic,
};

unsafe fn input_generic(g: &Geometry, hwc: &[f32], v: &mut [f32], tiles: Range<usize>) {
    transform_input::<8>(g, hwc, v, tiles)
}

unsafe fn output_generic(g: &Geometry, m: &[f32], out: OutPtr, t: Range<usize>, p: &OutParams) {
    // SAFETY: forwarded contract.
    unsafe { transform_output::<8>(g, m, out, t, p) }
}

/// The same loops compiled for AVX2+FMA and for AVX-512F (16 channels per step).
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::*;

    /// For the AVX2+FMA table.
    pub(crate) const AVX2: Transforms = Transforms {
        input: input_avx2,
        output: output_avx2,
    };

    /// For the AVX-512 table.
    pub(crate) const AVX512: Transforms = Transforms {
        input: input_avx512,
        output: output_avx512,
    };

    #[target_feature(enable = "avx2,fma")]
    unsafe fn input_avx2(g: &Geometry, hwc: &[f32], v: &mut [f32], tiles: Range<usize>) {
        transform_input::<8>(g, hwc, v, tiles)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn output_avx2(g: &Geometry, m: &[f32], out: OutPtr, t: Range<usize>, p: &OutParams) {
        // SAFETY: forwarded contract.
        unsafe { transform_output::<8>(g, m, out, t, p) }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn input_avx512(g: &Geometry, hwc: &[f32], v: &mut [f32], tiles: Range<usize>) {
        transform_input::<16>(g, hwc, v, tiles)
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn output_avx512(g: &Geometry, m: &[f32], out: OutPtr, t: Range<usize>, p: &OutParams) {
        // SAFETY: forwarded contract.
        unsafe { transform_output::<16>(g, m, out, t, p) }
    }
}

/// Runs the convolution image by image.
pub(crate) fn run(
    pc: &PackedConv,
    g: &Geometry,
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) -> Result<()> {
    let s = &pc.shape;
    let (cin, cout, h, w) = (g.cin, g.cout, g.h, g.w);
    let (oh, ow) = (g.oh, g.ow);
    let (hwc, rest) = scratch.split_at_mut(cin * h * w);
    let (clamp, lo, hi) = match pc.activation {
        Activation::Relu => (true, 0.0, f32::INFINITY),
        Activation::Clip { min, max } => (true, min, max),
        _ => (false, f32::NEG_INFINITY, f32::INFINITY),
    };
    let fused = clamp || pc.activation == Activation::None;
    let params = OutParams {
        bias: pc.bias.as_deref(),
        clamp,
        lo,
        hi,
    };
    let blocks = g.tiles.div_ceil(g.block);
    let block_tiles = |i: usize| i * g.block..((i + 1) * g.block).min(g.tiles);
    let workers = threads.clamp(1, WORKERS).min(blocks);
    // With one block (small images), the threads go to the GEMMs instead.
    let gemm_threads = if workers > 1 { 1 } else { threads };
    for b in 0..s.batch {
        let image = &input[b * cin * h * w..(b + 1) * cin * h * w];
        to_hwc(image, cin, h * w, hwc);
        let hwc = &*hwc;
        let out = &mut output[b * cout * oh * ow..(b + 1) * cout * oh * ow];
        let ptr = OutPtr(out.as_mut_ptr());
        let mut items = parallel::Parts::new();
        for (i, region) in rest
            .chunks_exact_mut(g.block_len())
            .take(workers)
            .enumerate()
        {
            items.push((i, region));
        }
        let results: [Mutex<Result<()>>; WORKERS] = std::array::from_fn(|_| Mutex::new(Ok(())));
        parallel::run(items, |(i, region)| {
            let mut res = Ok(());
            for bi in (i..blocks).step_by(workers) {
                let tiles = block_tiles(bi);
                res = block(pc, g, hwc, region, ptr, tiles, &params, gemm_threads);
                if res.is_err() {
                    break;
                }
            }
            *results[i].lock().unwrap_or_else(|e| e.into_inner()) = res;
        });
        for r in results {
            r.into_inner().unwrap_or_else(|e| e.into_inner())?;
        }
        if !fused {
            // SAFETY: the table only holds kernels this CPU runs.
            unsafe { (pc.table.act)(out, pc.activation) };
        }
    }
    Ok(())
}

/// One block of tiles: transform, `A^2` GEMMs, transform back.
#[allow(clippy::too_many_arguments)]
fn block(
    pc: &PackedConv,
    g: &Geometry,
    hwc: &[f32],
    region: &mut [f32],
    out: OutPtr,
    tiles: Range<usize>,
    params: &OutParams,
    threads: usize,
) -> Result<()> {
    let (cin, cout, n) = (g.cin, g.cout, tiles.len());
    let (v, m) = region.split_at_mut(g.a2() * g.block * cin);
    let t = pc.table;
    // SAFETY: the table only holds transforms this CPU runs.
    unsafe { (t.winograd.input)(g, hwc, v, tiles.clone()) };
    let gp = GemmParams {
        threads,
        ..GemmParams::default()
    };
    for (xi, u) in pc.winograd.iter().enumerate() {
        let a = MatRef::row_major(&v[xi * n * cin..(xi + 1) * n * cin], n, cin)?;
        let c = MatMut::row_major(&mut m[xi * n * cout..(xi + 1) * n * cout], n, cout)?;
        t.gemm_prepacked(&gp, a, u, c)?;
    }
    // SAFETY: `out` is this image's output; this worker alone owns the block's tiles.
    unsafe { (t.winograd.output)(g, m, out, tiles, params) };
    Ok(())
}

/// One image from CHW to HWC, 16 channels at a time (16 read streams, whole-line writes).
fn to_hwc(image: &[f32], cin: usize, hw: usize, hwc: &mut [f32]) {
    for c0 in (0..cin).step_by(16) {
        let cs = 16.min(cin - c0);
        let planes: [&[f32]; 16] =
            std::array::from_fn(|i| &image[(c0 + i.min(cs - 1)) * hw..][..hw]);
        for (p, px) in hwc.chunks_exact_mut(cin).enumerate() {
            for (dst, plane) in px[c0..c0 + cs].iter_mut().zip(&planes) {
                *dst = plane[p];
            }
        }
    }
}

/// `V_xi[tile][c]` for the block's tiles (numbered from the block's start), `L` channels at a
/// time; the last `cin % L` channels one at a time.
#[inline(always)]
fn transform_input<const L: usize>(g: &Geometry, hwc: &[f32], v: &mut [f32], tiles: Range<usize>) {
    let (a, n) = (g.m + 2, tiles.len());
    for (lt, tile) in tiles.enumerate() {
        let (y0, x0) = (
            (g.m * (tile / g.tw)) as isize - g.pad_top as isize,
            (g.m * (tile % g.tw)) as isize - g.pad_left as isize,
        );
        // Offsets into `hwc` of the tile's pixels, `None` outside the input.
        let mut at = [None; 36];
        for r in 0..a {
            for k in 0..a {
                let (y, x) = (y0 + r as isize, x0 + k as isize);
                if y >= 0 && x >= 0 && y < g.h as isize && x < g.w as isize {
                    at[r * a + k] = Some((y as usize * g.w + x as usize) * g.cin);
                }
            }
        }
        let dst = (n, lt, g.cin);
        let mut c = 0;
        while c + L <= g.cin {
            if g.m == 2 {
                input_lanes::<L, 4>(hwc, &at, c, v, dst);
            } else {
                input_lanes::<L, 6>(hwc, &at, c, v, dst);
            }
            c += L;
        }
        while c < g.cin {
            if g.m == 2 {
                input_lanes::<1, 4>(hwc, &at, c, v, dst);
            } else {
                input_lanes::<1, 6>(hwc, &at, c, v, dst);
            }
            c += 1;
        }
    }
}

/// `B^T x` of one column (or row) of an `A x A` input tile, lane by lane.
#[inline(always)]
fn bt<const L: usize, const A: usize>(x: [&[f32; L]; A]) -> [[f32; L]; A] {
    let mut r = [[0f32; L]; A];
    for l in 0..L {
        if A == 4 {
            let (d0, d1, d2, d3) = (x[0][l], x[1][l], x[2][l], x[3][l]);
            r[0][l] = d0 - d2;
            r[1][l] = d1 + d2;
            r[2][l] = d2 - d1;
            r[3][l] = d1 - d3;
        } else {
            let (d0, d1, d2, d3, d4, d5) = (x[0][l], x[1][l], x[2][l], x[3][l], x[4][l], x[5][l]);
            r[0][l] = 4.0 * d0 - 5.0 * d2 + d4;
            r[1][l] = -4.0 * (d1 + d2) + (d3 + d4);
            r[2][l] = 4.0 * (d1 - d2) + (d4 - d3);
            r[3][l] = 2.0 * (d3 - d1) + (d4 - d2);
            r[4][l] = 2.0 * (d1 - d3) + (d4 - d2);
            r[5][l] = 4.0 * d1 - 5.0 * d3 + d5;
        }
    }
    r
}

/// The input transform of one tile for channels `c..c + L` (`A = m + 2`).
#[inline(always)]
fn input_lanes<const L: usize, const A: usize>(
    hwc: &[f32],
    at: &[Option<usize>; 36],
    c: usize,
    v: &mut [f32],
    (n, lt, cin): (usize, usize, usize),
) {
    let zero = [0f32; L];
    let mut d = [&zero; 36];
    for (p, px) in d.iter_mut().take(A * A).enumerate() {
        if let Some(o) = at[p] {
            *px = hwc[o + c..o + c + L].try_into().expect("L floats");
        }
    }
    // B^T d on the columns, then B on the rows.
    let mut e = [[0f32; L]; 36];
    for j in 0..A {
        let col = bt::<L, A>(std::array::from_fn(|i| d[i * A + j]));
        for (i, x) in col.into_iter().enumerate() {
            e[i * A + j] = x;
        }
    }
    for i in 0..A {
        let row = bt::<L, A>(std::array::from_fn(|j| &e[i * A + j]));
        for (j, x) in row.iter().enumerate() {
            let at = ((i * A + j) * n + lt) * cin + c;
            v[at..at + L].copy_from_slice(x);
        }
    }
}

/// `Y = A^T M A` plus bias, clamped, into NCHW, for the block's tiles, `L` channels at a time.
///
/// Safety: see [`Transforms`].
#[inline(always)]
unsafe fn transform_output<const L: usize>(
    g: &Geometry,
    m: &[f32],
    out: OutPtr,
    tiles: Range<usize>,
    p: &OutParams,
) {
    let n = tiles.len();
    for (lt, tile) in tiles.enumerate() {
        let at = (g.m * (tile / g.tw), g.m * (tile % g.tw));
        let mut o = 0;
        while o + L <= g.cout {
            // SAFETY: forwarded contract.
            unsafe {
                if g.m == 2 {
                    output_lanes::<L, 4, 2>(g, m, out, (n, lt, o), at, p);
                } else {
                    output_lanes::<L, 6, 4>(g, m, out, (n, lt, o), at, p);
                }
            }
            o += L;
        }
        while o < g.cout {
            // SAFETY: forwarded contract.
            unsafe {
                if g.m == 2 {
                    output_lanes::<1, 4, 2>(g, m, out, (n, lt, o), at, p);
                } else {
                    output_lanes::<1, 6, 4>(g, m, out, (n, lt, o), at, p);
                }
            }
            o += 1;
        }
    }
}

/// `A^T x` of one column (or row) of an `A x A` product tile: `M` outputs, lane by lane.
#[inline(always)]
fn at_<const L: usize, const A: usize, const M: usize>(x: [&[f32; L]; A]) -> [[f32; L]; M] {
    let mut r = [[0f32; L]; M];
    for l in 0..L {
        if A == 4 {
            let (m0, m1, m2, m3) = (x[0][l], x[1][l], x[2][l], x[3][l]);
            r[0][l] = m0 + m1 + m2;
            r[1][l] = m1 - m2 - m3;
        } else {
            let (m0, m5) = (x[0][l], x[5][l]);
            let (s12, d12) = (x[1][l] + x[2][l], x[1][l] - x[2][l]);
            let (s34, d34) = (x[3][l] + x[4][l], x[3][l] - x[4][l]);
            r[0][l] = m0 + s12 + s34;
            r[1][l] = d12 + 2.0 * d34;
            r[2][l] = s12 + 4.0 * s34;
            r[3][l] = d12 + 8.0 * d34 + m5;
        }
    }
    r
}

/// The output transform of one tile for channels `o..o + L`.
///
/// Safety: see [`Transforms`].
#[inline(always)]
unsafe fn output_lanes<const L: usize, const A: usize, const M: usize>(
    g: &Geometry,
    m: &[f32],
    out: OutPtr,
    (n, lt, o): (usize, usize, usize),
    (y0, x0): (usize, usize),
    p: &OutParams,
) {
    let (oh, ow, cout) = (g.oh, g.ow, g.cout);
    let mut mm = [&[0f32; L]; 36];
    for (xi, v) in mm.iter_mut().take(A * A).enumerate() {
        let at = (xi * n + lt) * cout + o;
        *v = m[at..at + L].try_into().expect("L floats");
    }
    let mut b = [0f32; L];
    if let Some(bias) = p.bias {
        b.copy_from_slice(&bias[o..o + L]);
    }
    // A^T on the columns (A x A -> M x A), then on the rows (-> M x M).
    let mut half = [[0f32; L]; 24];
    for j in 0..A {
        let col = at_::<L, A, M>(std::array::from_fn(|i| mm[i * A + j]));
        for (i, x) in col.into_iter().enumerate() {
            half[i * A + j] = x;
        }
    }
    let (rows, cols) = (M.min(oh - y0), M.min(ow - x0));
    for r in 0..rows {
        let y = at_::<L, A, M>(std::array::from_fn(|j| &half[r * A + j]));
        for (k, px) in y.iter().enumerate().take(cols) {
            for (l, &val) in px.iter().enumerate() {
                let mut val = val + b[l];
                if p.clamp {
                    val = val.max(p.lo).min(p.hi);
                }
                // SAFETY: channel o + l < cout, pixel (y0 + r, x0 + k) inside the image.
                unsafe { *out.0.add(((o + l) * oh + y0 + r) * ow + x0 + k) = val };
            }
        }
    }
}
