//! The int8 GEMM driver: `out = requant(W * (X - x_zp))` with W prepacked (zero points already
//! subtracted), X any strided 8-bit view, the requantization fused into the tile store.

use std::cell::RefCell;

use super::arch::{DotTileU8Kernel, StoreKernel, MAX_TILE};
use super::error::{param_err, shape_err, view_len, QResult};
use super::gemm_dot;
use super::pack::Packed;
use super::requant::{QOutput, Requant, RowParams};
use super::{Int8Kernels, PackedWeights, QElem};
use crate::gemm::parallel;
use std::ops::Range;

/// A strided `rows x cols` 8-bit matrix (the activations, `K x N`) and its zero point:
/// element `(p, j)` is `data[p * row_stride + j * col_stride]`.
#[derive(Debug, Clone, Copy)]
pub struct QInput<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// Rows (the product's depth K).
    pub rows: usize,
    /// Columns (the product's N).
    pub cols: usize,
    /// Distance between rows, in elements.
    pub row_stride: usize,
    /// Distance between columns, in elements.
    pub col_stride: usize,
    /// The quantized zero.
    pub zero_point: i32,
}

impl<'a, T> QInput<'a, T> {
    /// A contiguous row-major view.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize, zero_point: i32) -> Self {
        QInput {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
            zero_point,
        }
    }
}

thread_local! {
    /// Packed activation panels, reused across calls (a fresh 100+ KiB buffer costs page faults).
    static PANELS: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

/// Bytes of packed activations per block of columns: stays in L2 while every weight panel
/// passes over it.
const BLOCK_BYTES: usize = 192 * 1024;

/// `out[i, j] (at i * strides.0 + j * strides.1) = requant(sum_p w'[i, p] * (x[p, j] - x_zp))`
/// for packed weights `w'` (`M x K`, zero points subtracted) and `x` (`K x N`); see
/// [`Requant`] for the store of each output type. Large products are split across up to
/// `threads` threads (by columns; results do not depend on the count).
pub fn qgemm<T: QElem>(
    table: &Int8Kernels,
    w: &PackedWeights,
    x: &QInput<T>,
    rq: &Requant,
    out: QOutput,
    strides: (usize, usize),
    threads: usize,
) -> QResult<()> {
    qgemm_impl(table, w, x, None, rq, out, strides, threads)
}

/// [`qgemm`] over activations given as row pointers: row `p` of the `K x n` input is the run
/// `data[offs[p]..offs[p] + n]` (the taps of an implicit-GEMM convolution). Dot-product
/// tables only.
#[allow(clippy::too_many_arguments)]
pub(crate) fn qgemm_rows<T: QElem>(
    table: &Int8Kernels,
    w: &PackedWeights,
    (data, offs, n, zero_point): (&[T], &[usize], usize, i32),
    rq: &Requant,
    out: QOutput,
    strides: (usize, usize),
    threads: usize,
) -> QResult<()> {
    let x = QInput {
        data,
        rows: offs.len(),
        cols: n,
        row_stride: 0,
        col_stride: 1,
        zero_point,
    };
    qgemm_impl(table, w, &x, Some(offs), rq, out, strides, threads)
}

#[allow(clippy::too_many_arguments)]
fn qgemm_impl<T: QElem>(
    table: &Int8Kernels,
    w: &PackedWeights,
    x: &QInput<T>,
    offs: Option<&[usize]>,
    rq: &Requant,
    out: QOutput,
    strides: (usize, usize),
    threads: usize,
) -> QResult<()> {
    const OP: &str = "gemm";
    if w.kernel != table.name || w.mr != table.mr {
        return Err(param_err(
            OP,
            format!(
                "weights packed for table {} used with table {}",
                w.kernel, table.name
            ),
        ));
    }
    let (m, k, n) = (w.m, w.k, x.cols);
    if x.rows != k {
        return Err(shape_err(
            OP,
            format!("weights are {m}x{k} but the input is {}x{n}", x.rows),
        ));
    }
    let fits = match offs {
        None => view_len(x.rows, x.cols, x.row_stride, x.col_stride)
            .is_some_and(|len| len <= x.data.len()),
        Some(offs) => {
            table.dot.is_some()
                && offs.iter().all(|o| {
                    o.checked_add(n)
                        .is_some_and(|end| n == 0 || end <= x.data.len())
                })
        }
    };
    match fits {
        true => {}
        false => {
            return Err(shape_err(
                OP,
                format!(
                    "a {k}x{n} input with strides ({}, {}) does not fit its {} values",
                    x.row_stride,
                    x.col_stride,
                    x.data.len()
                ),
            ))
        }
    }
    if !(T::MIN..=T::MAX).contains(&x.zero_point) {
        return Err(param_err(
            OP,
            format!(
                "input zero point {} outside [{}, {}]",
                x.zero_point,
                T::MIN,
                T::MAX
            ),
        ));
    }
    let (rs, cs) = strides;
    let fits = view_len(m, n, rs, cs).is_some_and(|l| l <= out.len());
    let disjoint = m <= 1 || n <= 1 || rs >= n.saturating_mul(cs) || cs >= m.saturating_mul(rs);
    if !fits || !disjoint {
        return Err(shape_err(
            OP,
            format!(
                "a {m}x{n} output with strides ({rs}, {cs}) does not fit {} values (or overlaps)",
                out.len()
            ),
        ));
    }
    rq.validate(OP, m, out.range())?;
    let range = out.range();
    let s = &table.store;
    let job = Job {
        table,
        w,
        x,
        offs,
        rq,
        range,
        strides,
        threads,
    };
    match out {
        QOutput::U8(o) => {
            let fused = table.dot.and_then(|d| d.tile_u8);
            let dst = Dst(o.as_mut_ptr());
            job.split(dst, s.u8, fused.map(|f| (f, dst)))
        }
        QOutput::I8(o) => job.split(Dst(o.as_mut_ptr()), s.i8, None),
        QOutput::I32(o) => job.split(Dst(o.as_mut_ptr()), s.i32, None),
        QOutput::F32(o) => job.split(Dst(o.as_mut_ptr()), s.f32, None),
    }
    Ok(())
}

/// A tile kernel with the u8 store fused, and the output as u8.
pub(super) type FusedU8 = (DotTileU8Kernel, Dst<u8>);

/// The output pointer, shared by threads that write disjoint columns.
pub(super) struct Dst<O>(pub(super) *mut O);
impl<O> Clone for Dst<O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O> Copy for Dst<O> {}
// SAFETY: each thread writes only its own range of columns (see `Job::split`).
unsafe impl<O> Send for Dst<O> {}
// SAFETY: as above.
unsafe impl<O> Sync for Dst<O> {}

/// One checked product.
pub(super) struct Job<'a, 'x, T> {
    pub(super) table: &'a Int8Kernels,
    pub(super) w: &'a PackedWeights,
    pub(super) x: &'a QInput<'x, T>,
    /// Row pointers of the input (`qgemm_rows`), instead of its strides.
    pub(super) offs: Option<&'a [usize]>,
    pub(super) rq: &'a Requant<'a>,
    pub(super) range: (i32, i32),
    pub(super) strides: (usize, usize),
    pub(super) threads: usize,
}

/// Multiply-adds a thread should get before a product is split (spawning costs ~10-50 us).
pub(super) const MIN_MACS_PER_THREAD: usize = 2_000_000;

impl<T: QElem> Job<'_, '_, T> {
    /// Splits the columns across threads; each output is computed by one thread in the same
    /// way whatever the split, so results do not depend on the thread count. `fused`: the
    /// table's tile kernel with the u8 store fused and the same output as u8, when `O` is u8.
    fn split<O>(&self, dst: Dst<O>, store: StoreKernel<O>, fused: Option<FusedU8>) {
        let (m, k, n) = (self.w.m, self.w.k, self.x.cols);
        let a = match (&self.w.data, &self.table.dot) {
            (Packed::Pairs(a), None) => a,
            (Packed::Quads { data, sums, zp }, Some(dot)) => {
                return gemm_dot::split(self, dot, (data, sums, zp), dst, store, fused)
            }
            // qgemm checked that the weights were packed for this table.
            _ => unreachable!("weights packed for another layout"),
        };
        let macs = m.saturating_mul(n).saturating_mul(k);
        let t = parallel::threads_for(macs, self.threads, MIN_MACS_PER_THREAD);
        let ranges = parallel::split_1d(n, self.table.nr, t);
        let rows: Vec<_> = (0..m).map(|i| self.rq.row(i, self.range)).collect();
        parallel::run(ranges, |cols| drive(self, a, &rows, dst, store, cols));
    }
}

/// The loop nest over columns `cols`: blocks of columns (packed once), then weight panels,
/// then column panels.
fn drive<T: QElem, O>(
    job: &Job<T>,
    weights: &[i16],
    rows: &[RowParams],
    dst: Dst<O>,
    store: StoreKernel<O>,
    cols: Range<usize>,
) {
    let (table, w, x) = (job.table, job.w, job.x);
    let (rs, cs) = job.strides;
    let dst = dst.0;
    let (m, k) = (w.m, w.k);
    if m == 0 || cols.is_empty() {
        return;
    }
    let (mr, nr) = (table.mr, table.nr);
    let kp = k.div_ceil(2);
    let panel_len = kp * nr * 2;
    let nc = (BLOCK_BYTES / (panel_len * 2).max(1)).max(1) * nr;
    let pack = T::pack_kernel(table);
    let n = cols.end;
    let mut tile = [0i32; MAX_TILE];
    let mut panels = PANELS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for j0 in cols.step_by(nc) {
        let cols = nc.min(n - j0);
        let npanels = cols.div_ceil(nr);
        panels.resize(npanels * panel_len, 0);
        for q in 0..npanels {
            let c0 = j0 + q * nr;
            // SAFETY: qgemm checked that the K x N view fits `x.data`; the panel has room for
            // kp pairs of nr columns, and the table's kernels run on this CPU.
            unsafe {
                let src = x.data.as_ptr().add(c0 * x.col_stride);
                let dst = panels.as_mut_ptr().add(q * panel_len);
                pack(
                    src,
                    x.row_stride,
                    x.col_stride,
                    k,
                    nr.min(n - c0),
                    x.zero_point,
                    dst,
                    nr,
                );
            }
        }
        let a_len = kp * mr * 2;
        for t in 0..m.div_ceil(mr) {
            let a = &weights[t * a_len..(t + 1) * a_len];
            let i0 = t * mr;
            for q in 0..npanels {
                let c0 = j0 + q * nr;
                let width = nr.min(n - c0);
                // SAFETY: panel extents as packed above; the tile buffer holds mr * nr <=
                // MAX_TILE values; output rows i < m and columns < n are inside the view
                // checked by qgemm.
                unsafe {
                    (table.tile)(
                        kp,
                        a.as_ptr(),
                        panels.as_ptr().add(q * panel_len),
                        tile.as_mut_ptr(),
                    );
                    for i in i0..m.min(i0 + mr) {
                        let acc = &tile[(i - i0) * nr..(i - i0) * nr + width];
                        store(acc, &rows[i], dst.add(i * rs + c0 * cs), cs);
                    }
                }
            }
        }
    }
    PANELS.with(|p| *p.borrow_mut() = panels);
}
