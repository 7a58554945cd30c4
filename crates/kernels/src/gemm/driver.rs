//! The BLIS loop nest: for each `nc` block of B's columns and `kc` block of depth, pack B;
//! for each `mc` block of A's rows, pack A; then sweep micro-panels with the micro-kernel.
//! The epilogue (beta, bias, activation) is applied when the last `kc` block is stored.

use std::ops::Range;

use super::buffer::{with_workspace, Workspace};
use super::pack::{pack_a, pack_b, PackedA, PackedB};
use super::view::{MatMut, MatRef};
use super::{gemv, parallel, Bias, GemmParams};
use crate::arch::{Epilogue, TileBias};
use crate::conv::Im2colSource;
use crate::{Activation, Kernels};

/// Largest tile the edge buffer holds (the biggest table tile is 12 x 32; tuning variants
/// go up to 64 columns).
const MAX_TILE: usize = 32 * 64;

pub(crate) enum ASource<'a> {
    Strided(MatRef<'a>),
    /// Packed for this table's `mr` and `kc` (checked by the caller).
    Packed(&'a PackedA),
}

pub(crate) enum BSource<'a> {
    Strided(MatRef<'a>),
    /// Packed for this table's `nr` (checked by the caller).
    Packed(Panels<'a>),
    /// A convolution's column matrix, unfolded into each packed block as it is needed (so
    /// the block is written once, in L2, and never stored unfolded).
    Im2col(Im2colSource<'a>),
}

/// A [`PackedB`]'s panels: `ceil(n / nr)` of `k * nr` floats, columns past `n` zero.
#[derive(Clone, Copy)]
pub(crate) struct Panels<'a> {
    pub data: &'a [f32],
    pub nr: usize,
}

impl PackedB {
    pub(crate) fn as_panels(&self) -> Panels<'_> {
        Panels {
            data: self.panels(),
            nr: self.nr,
        }
    }
}

/// C as a raw pointer, so threads can write their disjoint blocks of it.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr {
    ptr: *mut f32,
    rs: usize,
    cs: usize,
}

// SAFETY: threads write disjoint sets of elements (disjoint row or column ranges), and a
// `MatMut` guarantees distinct elements are distinct memory locations.
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}

/// One validated GEMM call.
pub(crate) struct Job<'a> {
    pub table: &'a Kernels,
    pub a: ASource<'a>,
    pub b: BSource<'a>,
    pub c: OutPtr,
    pub k: usize,
    pub params: GemmParams<'a>,
}

/// Runs a checked call (shapes, bias and activation already validated).
pub(crate) fn run(table: &Kernels, params: &GemmParams, a: ASource, b: BSource, c: MatMut) {
    let (m, n) = (c.rows, c.cols);
    let k = match &a {
        ASource::Strided(a) => a.cols,
        ASource::Packed(pa) => pa.k,
    };
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        return epilogue_only(params, c);
    }
    if let (true, ASource::Strided(sa)) = (m == 1 || n == 1, &a) {
        if let Some(c) = gemv::try_run(table, params, sa, &b, c) {
            return run_blocked(table, params, a, b, c, k);
        }
        return;
    }
    run_blocked(table, params, a, b, c, k)
}

fn run_blocked(table: &Kernels, params: &GemmParams, a: ASource, b: BSource, c: MatMut, k: usize) {
    let (m, n) = (c.rows, c.cols);
    let out = OutPtr {
        ptr: c.data.as_mut_ptr(),
        rs: c.rs,
        cs: c.cs,
    };
    let job = Job {
        table,
        a,
        b,
        c: out,
        k,
        params: *params,
    };
    let blocks = parallel::split_2d(
        m,
        n,
        k,
        table.mr,
        table.nr,
        params.threads,
        table.min_flops_per_thread,
    );
    parallel::run(blocks, |(rows, cols)| {
        with_workspace(|ws| block(&job, rows, cols, ws))
    });
}

/// `C = act(beta * C + bias)`: the product of an empty K.
fn epilogue_only(params: &GemmParams, c: MatMut) {
    for i in 0..c.rows {
        for j in 0..c.cols {
            let x = &mut c.data[i * c.rs + j * c.cs];
            let prev = if params.beta != 0.0 {
                params.beta * *x
            } else {
                0.0
            };
            let bias = match params.bias {
                Bias::None => 0.0,
                Bias::PerRow(v) => v[i],
                Bias::PerCol(v) => v[j],
            };
            *x = params.activation.apply(prev + bias);
        }
    }
}

/// Which part of the K loop a micro-kernel call covers.
#[derive(Clone, Copy)]
struct Depth {
    kc: usize,
    /// First block: C is scaled by beta (later blocks add to it).
    first: bool,
    /// Last block: bias and activation are applied.
    last: bool,
}

/// Computes `C[rows, cols]`; `cols.start` is a multiple of `nr` (packed B is indexed by panel).
fn block(job: &Job, rows: Range<usize>, cols: Range<usize>, ws: &mut Workspace) {
    let t = job.table;
    let (mr, nr, bl) = (t.mr, t.nr, t.blocking);
    let Workspace {
        a: abuf,
        b: bbuf,
        c: cbuf,
    } = ws;
    let scratch = cbuf.get(MAX_TILE);
    for jc in cols.clone().step_by(bl.nc) {
        let nc = bl.nc.min(cols.end - jc);
        for pc in (0..job.k).step_by(bl.kc) {
            let kc = bl.kc.min(job.k - pc);
            let depth = Depth {
                kc,
                first: pc == 0,
                last: pc + kc == job.k,
            };
            let (bpanels, panel_stride): (&[f32], usize) = match job.b {
                BSource::Strided(ref b) => {
                    let buf = bbuf.get(nc.div_ceil(nr) * nr * kc);
                    pack_b(buf, b, pc, kc, jc..jc + nc, nr, kc * nr);
                    (buf, kc * nr)
                }
                BSource::Packed(pb) => (&pb.data[(jc / nr) * job.k * nr + pc * nr..], job.k * nr),
                BSource::Im2col(ref src) => {
                    let buf = bbuf.get(nc.div_ceil(nr) * nr * kc);
                    src.pack(buf, pc..pc + kc, jc..jc + nc, nr, kc * nr);
                    (buf, kc * nr)
                }
            };
            for ic in rows.clone().step_by(bl.mc) {
                let mc = bl.mc.min(rows.end - ic);
                let apanels: &[f32] = match job.a {
                    ASource::Strided(ref a) => {
                        let buf = abuf.get(mc.div_ceil(mr) * mr * kc);
                        pack_a(buf, a, ic..ic + mc, pc, kc, mr);
                        buf
                    }
                    ASource::Packed(pa) => {
                        debug_assert!(ic % mr == 0 && pa.kc == bl.kc);
                        pa.block(pc, kc, ic)
                    }
                };
                if job.k <= SHORT_K && mc >= 8 * mr && job.c.cs == 1 && job.c.rs >= 1024 {
                    let b = (bpanels, panel_stride);
                    rows_of_tiles(job, (ic, jc), (mc, nc), depth, apanels, b, scratch);
                    continue;
                }
                for jr in (0..nc).step_by(nr) {
                    let bp = &bpanels[(jr / nr) * panel_stride..][..kc * nr];
                    let cols = nr.min(nc - jr);
                    // Full tiles of this column of tiles in one call, then the edge tile.
                    let full = if cols == nr && job.c.cs == 1 {
                        mc / mr
                    } else {
                        0
                    };
                    if full > 0 {
                        full_tiles(
                            job,
                            (ic, jc + jr),
                            full,
                            depth,
                            &apanels[..full * mr * kc],
                            bp,
                        );
                    }
                    for ir in (full * mr..mc).step_by(mr) {
                        let ap = &apanels[(ir / mr) * mr * kc..][..kc * mr];
                        let at = (ic + ir, jc + jr);
                        let size = (mr.min(mc - ir), cols);
                        edge_tile(job, at, size, depth, ap, bp, scratch);
                    }
                }
            }
        }
    }
}

/// Depths up to which [`rows_of_tiles`] runs instead of columns of tiles (when C's rows are
/// far apart and a block has many of them).
const SHORT_K: usize = 32;

/// The `mc x nc` block at `(i0, j0)` one row of tiles at a time. With a short K each tile is
/// a few dozen cycles of FMAs but a full tile of C to store; sweeping along a row of tiles
/// writes `mr` sequential streams of C, where a column of tiles writes one cache line in each
/// of `mc` rows (a page each when N is large): measured 1.4x faster on MobileNetV2's
/// 16 -> 96 pointwise layer at 112x112 (no clear change on 24 -> 144 at 56x56, and slower on
/// 32 -> 16, with only 16 rows, at 112x112: hence the conditions). Same arithmetic per tile,
/// so the same results.
fn rows_of_tiles(
    job: &Job,
    (i0, j0): (usize, usize),
    (mc, nc): (usize, usize),
    depth: Depth,
    apanels: &[f32],
    (bpanels, panel_stride): (&[f32], usize),
    scratch: &mut [f32],
) {
    let (mr, nr, kc) = (job.table.mr, job.table.nr, depth.kc);
    for ir in (0..mc).step_by(mr) {
        let ap = &apanels[(ir / mr) * mr * kc..][..kc * mr];
        let rows = mr.min(mc - ir);
        for jr in (0..nc).step_by(nr) {
            let bp = &bpanels[(jr / nr) * panel_stride..][..kc * nr];
            let cols = nr.min(nc - jr);
            let at = (i0 + ir, j0 + jr);
            if rows == mr && cols == nr {
                full_tiles(job, at, 1, depth, ap, bp);
            } else {
                edge_tile(job, at, (rows, cols), depth, ap, bp, scratch);
            }
        }
    }
}

/// The epilogue of a call: beta only on the first depth block, bias and activation only on
/// the last (earlier blocks store partial sums).
fn epilogue<'a>(job: &Job<'a>, depth: Depth) -> (f32, Activation, Bias<'a>) {
    let p = &job.params;
    let beta = if depth.first { p.beta } else { 1.0 };
    let act = if depth.last {
        p.activation
    } else {
        Activation::None
    };
    let bias = if depth.last { p.bias } else { Bias::None };
    (beta, act, bias)
}

/// `count` full tiles stacked from row `i0` at column `j0`, written in place in C (which has a
/// unit column stride): one micro-kernel call, so the call overhead is paid once per column
/// of tiles instead of once per tile (it shows with a short K).
fn full_tiles(
    job: &Job,
    (i0, j0): (usize, usize),
    count: usize,
    depth: Depth,
    ap: &[f32],
    bp: &[f32],
) {
    let t = job.table;
    let (mr, nr, c) = (t.mr, t.nr, job.c);
    let (beta, act, bias) = epilogue(job, depth);
    let bias = match bias {
        Bias::None => TileBias::None,
        Bias::PerRow(v) => TileBias::Row(v[i0..i0 + count * mr].as_ptr()),
        Bias::PerCol(v) => TileBias::Col(v[j0..j0 + nr].as_ptr()),
    };
    let epi = Epilogue {
        alpha: job.params.alpha,
        beta,
        bias,
        act,
    };
    // SAFETY: the `count * mr x nr` block at (i0, j0) lies inside C, written by this thread
    // alone; `ap` holds count * kc * mr floats and `bp` kc * nr; the bias slices were cut to
    // the block; the table's kernels only exist on CPUs that support them.
    unsafe {
        let at = c.ptr.add(i0 * c.rs + j0);
        (t.mmm)(depth.kc, ap.as_ptr(), bp.as_ptr(), at, c.rs, &epi, count)
    };
}

/// One tile at `(i0, j0)` with `size` valid rows and columns, or any tile of a C whose column
/// stride is not 1: computed in `scratch` (`MAX_TILE` floats) so that the kernel always sees
/// a full `mr x nr` tile, then copied out.
fn edge_tile(
    job: &Job,
    (i0, j0): (usize, usize),
    (rows, cols): (usize, usize),
    depth: Depth,
    ap: &[f32],
    bp: &[f32],
    scratch: &mut [f32],
) {
    let t = job.table;
    let (mr, nr, c) = (t.mr, t.nr, job.c);
    let (beta, act, bias) = epilogue(job, depth);
    assert!(
        mr * nr <= scratch.len() && mr <= 64 && nr <= 64,
        "tables keep tiles small"
    );
    let buf = scratch;
    let mut pad = [0f32; 64];
    let bias = match bias {
        Bias::None => TileBias::None,
        Bias::PerRow(v) => {
            pad[..rows].copy_from_slice(&v[i0..i0 + rows]);
            TileBias::Row(pad.as_ptr())
        }
        Bias::PerCol(v) => {
            pad[..cols].copy_from_slice(&v[j0..j0 + cols]);
            TileBias::Col(pad.as_ptr())
        }
    };
    // SAFETY (every block below): (i0, j0) + (rows, cols) lies inside C, written by this
    // thread alone; `ap`/`bp` hold kc * mr / kc * nr floats; `buf` holds mr * nr; the table's
    // kernels only exist on CPUs that support them.
    let at = unsafe { c.ptr.add(i0 * c.rs + j0 * c.cs) };
    if beta != 0.0 {
        for i in 0..rows {
            for j in 0..cols {
                // SAFETY: (i, j) is inside the tile, inside C.
                buf[i * nr + j] = unsafe { *at.add(i * c.rs + j * c.cs) };
            }
        }
    }
    let epi = Epilogue {
        alpha: job.params.alpha,
        beta,
        bias,
        act,
    };
    // SAFETY: see above; the kernel writes the full mr x nr tile into `buf`.
    unsafe {
        (t.mmm)(
            depth.kc,
            ap.as_ptr(),
            bp.as_ptr(),
            buf.as_mut_ptr(),
            nr,
            &epi,
            1,
        )
    };
    for i in 0..rows {
        for j in 0..cols {
            // SAFETY: (i, j) is inside the tile, inside C.
            unsafe { *at.add(i * c.rs + j * c.cs) = buf[i * nr + j] };
        }
    }
}
