//! The GEMM driver of dot-product tables (quads layout, VNNI `vpdpbusd`): the micro-kernel
//! multiplies raw s8 weights `w'` by u8 activations `x'` (s8 activations shifted by +128, which
//! shifts their zero point alike), and the zero points are applied afterwards:
//!
//! `sum_p (w' - zw)(x' - zx) = sum_p w' x' - zx * sum_p w' - zw * (sum_p x' - K zx)`
//!
//! The middle term is per output row and constant: folded into the row's bias (`sum_p w'` is
//! precomputed at packing). The last one only exists for asymmetric weights (`zw != 0`, rare):
//! then the column sums of `x'` are taken from the packed panels. All of it in wrapping i32,
//! which is exact modulo 2^32 like the reference's sum.

use std::cell::RefCell;
use std::ops::Range;

use super::arch::{DotKernels, StoreKernel, MAX_TILE};
use super::gemm::{Dst, FusedU8, Job, MIN_MACS_PER_THREAD};
use super::requant::RowParams;
use super::QElem;
use crate::gemm::parallel;

thread_local! {
    /// Packed activation panels and their column sums, reused across calls.
    static PANELS: RefCell<(Vec<u8>, Vec<i32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Bytes of packed activations per block of columns (stays in L2 while the weights pass).
const BLOCK_BYTES: usize = 192 * 1024;

/// What the loops need besides the job.
struct Dot<'a> {
    kernels: &'a DotKernels,
    /// Packed weights, their per-row zero points (empty: all zero), the rows' store parameters
    /// with `-zx * sum_p w'` folded into the bias.
    data: &'a [i8],
    zp: &'a [i32],
    rows: Vec<RowParams>,
    /// XOR applied to activation bytes (0x80 for s8) and the zero point of the result.
    flip: u8,
    zx: i32,
}

/// The product with packed weights `(data, sums, zp)` (see `Packed::Quads`).
pub(super) fn split<T: QElem, O>(
    job: &Job<T>,
    kernels: &DotKernels,
    (data, sums, zp): (&[i8], &[i32], &[i32]),
    dst: Dst<O>,
    store: StoreKernel<O>,
    fused: Option<FusedU8>,
) {
    let (m, k, n) = (job.w.m, job.w.k, job.x.cols);
    let signed = T::MIN < 0;
    let zx = job.x.zero_point + if signed { 128 } else { 0 };
    let rows = (0..m)
        .map(|i| {
            let mut r = job.rq.row(i, job.range);
            r.bias = r.bias.wrapping_sub(zx.wrapping_mul(sums[i]));
            r
        })
        .collect();
    let dot = Dot {
        kernels,
        data,
        zp,
        rows,
        flip: if signed { 0x80 } else { 0 },
        zx,
    };
    if n == 1 {
        return gemv(job, &dot, dst, store);
    }
    let macs = m.saturating_mul(n).saturating_mul(k);
    let t = parallel::threads_for(macs, job.threads, MIN_MACS_PER_THREAD);
    let ranges = parallel::split_1d(n, job.table.nr, t);
    // The fused store writes contiguous rows and knows nothing of asymmetric weights.
    let fused = fused.filter(|_| job.strides.1 == 1 && dot.zp.is_empty());
    parallel::run(ranges, |cols| drive(job, &dot, dst, store, fused, cols));
}

/// `acc[j] -= zw * (colsum[j] - K zx)` for a row with an asymmetric weight zero point.
fn correct(acc: &mut [i32], zw: i32, colterm: &[i32]) {
    for (a, c) in acc.iter_mut().zip(colterm) {
        *a = a.wrapping_sub(zw.wrapping_mul(*c));
    }
}

/// The loop nest over columns `cols`: blocks of columns (packed once), then weight panels,
/// then column panels.
fn drive<T: QElem, O>(
    job: &Job<T>,
    dot: &Dot,
    dst: Dst<O>,
    store: StoreKernel<O>,
    fused: Option<FusedU8>,
    cols: Range<usize>,
) {
    let (table, x) = (job.table, job.x);
    let (rs, cs) = job.strides;
    let dst = dst.0;
    let (m, k) = (job.w.m, job.w.k);
    if m == 0 || cols.is_empty() {
        return;
    }
    let (mr, nr) = (table.mr, table.nr);
    let kq = k.div_ceil(4);
    let (panel_len, a_len) = (kq * nr * 4, kq * mr * 4);
    let nc = (BLOCK_BYTES / panel_len.max(1)).max(1) * nr;
    let n = cols.end;
    let kzx = (k as i32).wrapping_mul(dot.zx);
    let mut tile = [0i32; MAX_TILE];
    let (mut panels, mut colterm) = PANELS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for j0 in cols.step_by(nc) {
        let npanels = nc.min(n - j0).div_ceil(nr);
        panels.resize(npanels * panel_len, 0);
        for q in 0..npanels {
            let c0 = j0 + q * nr;
            // SAFETY: qgemm checked that the K x N view (or every row run) fits `x.data` (u8
            // and i8 have the same layout); the panel has room for kq quads of nr columns; the
            // kernels run here.
            unsafe {
                if let Some(offs) = job.offs {
                    (dot.kernels.pack_rows)(
                        x.data.as_ptr().add(c0) as *const u8,
                        offs.as_ptr(),
                        k,
                        nr.min(n - c0),
                        dot.flip,
                        panels.as_mut_ptr().add(q * panel_len),
                        nr,
                    );
                    continue;
                }
                (dot.kernels.pack)(
                    x.data.as_ptr().add(c0 * x.col_stride) as *const u8,
                    x.row_stride,
                    x.col_stride,
                    k,
                    nr.min(n - c0),
                    dot.flip,
                    panels.as_mut_ptr().add(q * panel_len),
                    nr,
                );
            }
        }
        if !dot.zp.is_empty() {
            colterm.clear();
            colterm.extend((0..npanels * nr).map(|c| {
                let (q, j) = (c / nr, c % nr);
                let panel = &panels[q * panel_len..(q + 1) * panel_len];
                let s = (0..kq * 4).fold(0i32, |s, p| {
                    s.wrapping_add(panel[(p / 4) * nr * 4 + j * 4 + p % 4] as i32)
                });
                s.wrapping_sub(kzx)
            }));
        }
        for t in 0..m.div_ceil(mr) {
            let a = &dot.data[t * a_len..(t + 1) * a_len];
            let i0 = t * mr;
            for q in 0..npanels {
                let c0 = j0 + q * nr;
                let width = nr.min(n - c0);
                let b = panels[q * panel_len..].as_ptr();
                if let Some((tile_u8, out)) = fused {
                    // SAFETY: as below; `out` is the output as u8, rows `i0..i0 + nrows` and
                    // columns `c0..c0 + width` are inside the view checked by qgemm.
                    unsafe {
                        let rows = dot.rows[i0..].as_ptr();
                        let d = out.0.add(i0 * rs + c0);
                        tile_u8(kq, a.as_ptr(), b, rows, m.min(i0 + mr) - i0, d, rs, width);
                    }
                    continue;
                }
                // SAFETY: panel extents as packed above; the tile buffer holds mr * nr <=
                // MAX_TILE values; output rows i < m and columns < n are inside the view
                // checked by qgemm.
                unsafe {
                    (dot.kernels.tile)(
                        kq,
                        a.as_ptr(),
                        panels.as_ptr().add(q * panel_len),
                        tile.as_mut_ptr(),
                    );
                    for i in i0..m.min(i0 + mr) {
                        let acc = &mut tile[(i - i0) * nr..(i - i0) * nr + width];
                        if let Some(&zw) = dot.zp.get(i).filter(|z| **z != 0) {
                            correct(acc, zw, &colterm[q * nr..]);
                        }
                        store(acc, &dot.rows[i], dst.add(i * rs + c0 * cs), cs);
                    }
                }
            }
        }
    }
    PANELS.with(|p| *p.borrow_mut() = (panels, colterm));
}

/// One column (a batch-1 fully connected layer): the vector is packed once, then each weight
/// panel is one matrix-vector kernel call; single-threaded (memory-bound on the weights).
fn gemv<T: QElem, O>(job: &Job<T>, dot: &Dot, dst: Dst<O>, store: StoreKernel<O>) {
    let (table, x) = (job.table, job.x);
    let (m, k) = (job.w.m, job.w.k);
    let (rs, cs) = job.strides;
    let mr = table.mr;
    let kq = k.div_ceil(4);
    let a_len = kq * mr * 4;
    let (mut xv, mut acc) = PANELS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    xv.clear();
    xv.extend((0..k).map(|p| {
        // SAFETY: u8 and i8 have the same layout; the view was checked by qgemm.
        let at = job.offs.map_or(p * x.row_stride, |o| o[p]);
        let v: u8 = unsafe { *(x.data.as_ptr().add(at) as *const u8) };
        v ^ dot.flip
    }));
    xv.resize(kq * 4, 0);
    let mut colterm = 0i32;
    if !dot.zp.is_empty() {
        let s = xv.iter().fold(0i32, |s, &v| s.wrapping_add(v as i32));
        colterm = s.wrapping_sub((k as i32).wrapping_mul(dot.zx));
    }
    acc.resize(mr, 0);
    for t in 0..m.div_ceil(mr) {
        let a = &dot.data[t * a_len..(t + 1) * a_len];
        // SAFETY: the panel holds kq quads of mr rows, xv kq quads, acc mr values; the output
        // rows i < m of column 0 are inside the view checked by qgemm.
        unsafe {
            (dot.kernels.gemv)(kq, a.as_ptr(), xv.as_ptr(), acc.as_mut_ptr());
            for i in t * mr..m.min(t * mr + mr) {
                let v = &mut acc[i - t * mr..i - t * mr + 1];
                if let Some(&zw) = dot.zp.get(i).filter(|z| **z != 0) {
                    correct(v, zw, &[colterm]);
                }
                store(v, &dot.rows[i], dst.0.add(i * rs), cs);
            }
        }
    }
    PANELS.with(|p| *p.borrow_mut() = (xv, acc));
}
