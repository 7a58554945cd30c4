//! Direct depthwise 3x3 convolution (stride 1 or 2): each channel's input is copied once into
//! a zero-padded i16 plane with the zero point subtracted, then the whole plane is one call of
//! the row kernel (9 multiply-adds per output over three "rows" one pitch apart) and one call
//! of the fused requantizing store.

use super::arch::StoreKernel;
use super::conv::ConvGeometry;
use super::error::{param_err, QResult};
use super::requant::RowParams;
use super::{Int8Kernels, QElem, QOutput, Requant, WeightsRef};
use crate::gemm::parallel;

/// Per-channel 3x3 weights minus their zero points.
#[derive(Debug, Clone)]
pub(crate) struct DepthwiseWeights(Vec<[i32; 9]>);

impl DepthwiseWeights {
    pub(crate) fn new(w: WeightsRef, zero_points: &[i32]) -> QResult<Self> {
        let (vals, range): (Vec<i32>, _) = match w {
            WeightsRef::I8(v) => (v.iter().map(|&x| x as i32).collect(), (-128, 127)),
            WeightsRef::U8(v) => (v.iter().map(|&x| x as i32).collect(), (0, 255)),
        };
        if let Some(z) = zero_points
            .iter()
            .find(|z| !(range.0..=range.1).contains(*z))
        {
            return Err(param_err(
                "conv",
                format!("weight zero point {z} outside {range:?}"),
            ));
        }
        let chans = vals
            .chunks_exact(9)
            .enumerate()
            .map(|(c, k)| {
                let zp = zero_points[if zero_points.len() == 1 { 0 } else { c }];
                std::array::from_fn(|i| k[i] - zp)
            })
            .collect();
        Ok(DepthwiseWeights(chans))
    }
}

/// Runs the depthwise convolution; `qconv` checked every length and parameter.
#[allow(clippy::too_many_arguments)]
pub(crate) fn depthwise<T: QElem>(
    table: &Int8Kernels,
    g: &ConvGeometry,
    out_hw: (usize, usize),
    w: &DepthwiseWeights,
    x: &[T],
    x_zp: i32,
    rq: &Requant,
    out: QOutput,
    threads: usize,
) -> QResult<()> {
    let range = out.range();
    let rows: Vec<RowParams> = (0..g.c_out).map(|c| rq.row(c, range)).collect();
    let job = Job {
        table,
        g,
        out_hw,
        w,
        x,
        x_zp,
        rows: &rows,
        threads,
    };
    let s = &table.store;
    match out {
        QOutput::U8(o) => job.split(o, s.u8),
        QOutput::I8(o) => job.split(o, s.i8),
        QOutput::I32(o) => job.split(o, s.i32),
        QOutput::F32(o) => job.split(o, s.f32),
    }
    Ok(())
}

struct Job<'a, T> {
    table: &'a Int8Kernels,
    g: &'a ConvGeometry,
    out_hw: (usize, usize),
    w: &'a DepthwiseWeights,
    x: &'a [T],
    x_zp: i32,
    rows: &'a [RowParams],
    threads: usize,
}

/// Multiply-adds a thread should get before the planes are split.
const MIN_MACS_PER_THREAD: usize = 1_000_000;

impl<T: QElem> Job<'_, T> {
    /// Splits the (image, channel) planes into contiguous runs, one per thread.
    fn split<O: Send>(&self, out: &mut [O], store: StoreKernel<O>) {
        let (oh, ow) = self.out_hw;
        let (plane_in, plane_out) = (self.g.h * self.g.w, oh * ow);
        let planes = self.g.batch * self.g.c_in;
        let t = parallel::threads_for(planes * plane_out * 9, self.threads, MIN_MACS_PER_THREAD);
        let per = planes.div_ceil(t.max(1)).max(1);
        let work: parallel::Parts<_> = out
            .chunks_mut(per * plane_out)
            .enumerate()
            .map(|(i, o)| (i * per, &self.x[i * per * plane_in..], o))
            .collect();
        parallel::run(work, |(first, x, o)| self.run(first, x, o, store));
    }
}

impl<T: QElem> Job<'_, T> {
    /// Planes `first..` (as many as `out` holds) of the input planes starting at `x`.
    fn run<O>(&self, first: usize, x: &[T], out: &mut [O], store: StoreKernel<O>) {
        let (table, g, w, x_zp, rows) = (self.table, self.g, self.w, self.x_zp, self.rows);
        let (oh, ow) = self.out_hw;
        let [pt, pl, pb, pr] = g.pads;
        let (ph, pw) = (g.h + pt + pb, g.w + pl + pr);
        let s = g.stride.0;
        // The padded plane is one long row: output `i = y * pw + x` reads input
        // `s * i + r * pw + t` = row `s * y + r`, column `s * x + t`, so one kernel call covers
        // the plane (no per-row tails); columns `x >= ow` are computed and dropped.
        let n = (oh - 1) * pw + ow;
        // s8 inputs are read as u8 shifted by 128, which shifts the zero point alike.
        let (flip, zp) = if T::MIN < 0 {
            (0x80, x_zp + 128)
        } else {
            (0, x_zp)
        };
        // Rounded up so that the vector loops run to the end (every table's step divides 32;
        // the one extra output is what the widest stride-2 loop needs to take the last step):
        // the outputs past `n` read the plane's zero slack and are dropped.
        let n_pad = n.next_multiple_of(32) + 1;
        let mut plane = vec![0i16; ph * pw + s * (n_pad - n)];
        let mut acc = vec![0i32; n_pad];
        for (bc, (src, dst)) in x
            .chunks_exact(g.h * g.w)
            .zip(out.chunks_exact_mut(oh * ow))
            .enumerate()
        {
            let c = (first + bc) % g.c_in;
            for (y, line) in src.chunks_exact(g.w).enumerate() {
                let row = &mut plane[(y + pt) * pw + pl..(y + pt) * pw + pl + g.w];
                // SAFETY: `line` and `row` hold g.w values; u8 and i8 have the same layout;
                // `zp` is in [0, 255]; the table's kernels run here.
                unsafe {
                    let src = line.as_ptr() as *const u8;
                    (table.widen_row)(src, g.w, flip, zp, row.as_mut_ptr());
                }
            }
            // SAFETY: output `n - 1` reads `s * (n - 1) + 2 * pw + 2 < ph * pw` (ph >= s * (oh
            // - 1) + 3 and pw >= s * (ow - 1) + 3, by how oh and ow were derived), so output
            // `n_pad - 1` reads inside the plane's `s * (n_pad - n)` slack: each row pointer has
            // `(n_pad - 1) * s + 3` readable values; the table's kernels run here.
            unsafe {
                let r0 = plane.as_ptr();
                (table.depthwise_row)([r0, r0.add(pw), r0.add(2 * pw)], &w.0[c], s, &mut acc);
            }
            if pw != ow {
                for y in 1..oh {
                    acc.copy_within(y * pw..y * pw + ow, y * ow);
                }
            }
            // SAFETY: `dst` holds the plane's oh * ow outputs.
            unsafe { store(&acc[..oh * ow], &rows[c], dst.as_mut_ptr(), 1) };
        }
    }
}
