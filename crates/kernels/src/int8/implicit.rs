//! Implicit-GEMM convolution for the dot-product (quads layout) tables: no im2col matrix.
//!
//! Each group's input is copied once into a zero-point-padded buffer split into `sh x sw`
//! *phases* (phase `(a, b)` holds the padded rows `≡ a (mod sh)` and columns `≡ b (mod sw)`).
//! Output `(y, x)` becomes column `i = y * pw + x` of the product (`pw`: a phase's width), and
//! tap `(c, r, t)` reads, for every output, the byte at a fixed offset plus `i`: each row of
//! the virtual im2col matrix is a contiguous run of the buffer, which the packer reads
//! directly (`qgemm_rows`). Columns `x >= ow` of each output row are computed and dropped
//! when the result is compacted into NCHW.

use super::conv::ConvGeometry;
use super::gemm::qgemm_rows;
use super::{split_even_odd, Int8Kernels, PackedWeights, QElem, QOutput, QResult, Requant};

/// The buffer geometry and tap offsets of one convolution (computed once, at packing).
#[derive(Debug, Clone)]
pub(crate) struct Implicit {
    /// Rows and width of a phase.
    ph: usize,
    pw: usize,
    /// Bytes per input channel (all its phases).
    plane: usize,
    /// Columns of the product: `(oh - 1) * pw + ow`.
    cols: usize,
    /// Offset of each row `(c, r, t)` of the virtual im2col matrix in a group's buffer.
    offs: Vec<usize>,
}

impl Implicit {
    /// The layout for `g` with output `(oh, ow)`, or `None` where computing the dropped columns
    /// would cost more than a third of the work (im2col is used then).
    pub(crate) fn new(g: &ConvGeometry, (oh, ow): (usize, usize)) -> Option<Implicit> {
        let (sh, sw) = g.stride;
        let (dh, dw) = g.dilation;
        let (kh, kw) = g.kernel;
        let [pt, pl, pb, pr] = g.pads;
        let ph = (g.h + pt + pb).div_ceil(sh);
        let pw = (g.w + pl + pr).div_ceil(sw);
        let cols = (oh - 1) * pw + ow;
        if cols.checked_mul(3)? > oh.checked_mul(ow)?.checked_mul(4)? {
            return None;
        }
        let plane = ph.checked_mul(pw)?.checked_mul(sh * sw)?;
        plane.checked_mul(g.c_in / g.groups)?;
        let mut offs = Vec::with_capacity(g.c_in / g.groups * kh * kw);
        for c in 0..g.c_in / g.groups {
            for r in 0..kh {
                for t in 0..kw {
                    let (ry, rx) = (r * dh, t * dw);
                    let phase = (ry % sh) * sw + rx % sw;
                    offs.push(c * plane + phase * ph * pw + (ry / sh) * pw + rx / sw);
                }
            }
        }
        Some(Implicit {
            ph,
            pw,
            plane,
            cols,
            offs,
        })
    }

    /// Copies group input `x` (`cg` planes of `h x w`) into `buf` as the phases described
    /// above, padding with `pad`.
    fn fill<T: QElem>(&self, g: &ConvGeometry, x: &[T], pad: T, buf: &mut [T]) {
        let (sh, sw) = g.stride;
        let (pt, pl) = (g.pads[0], g.pads[1]);
        buf.fill(pad);
        let phase_len = self.ph * self.pw;
        for (c, src) in x.chunks_exact(g.h * g.w).enumerate() {
            let dst = &mut buf[c * self.plane..(c + 1) * self.plane];
            for (iy, line) in src.chunks_exact(g.w).enumerate() {
                let ry = iy + pt;
                let row0 = (ry % sh) * sw * phase_len + (ry / sh) * self.pw;
                if sw == 1 {
                    dst[row0 + pl..row0 + pl + g.w].copy_from_slice(line);
                    continue;
                }
                if sw == 2 {
                    // Even input columns land in phase `pl % 2` from column `pl / 2`, odd ones
                    // in the other phase from `(pl + 1) / 2`.
                    let e0 = pl % 2;
                    let (ne, no) = (g.w.div_ceil(2), g.w / 2);
                    let (lo, hi) = dst.split_at_mut(row0 + phase_len);
                    let (ev, od) = match e0 {
                        0 => (&mut lo[row0 + pl / 2..], &mut hi[pl.div_ceil(2)..]),
                        _ => (&mut hi[pl / 2..], &mut lo[row0 + pl.div_ceil(2)..]),
                    };
                    split_even_odd(line, &mut ev[..ne], &mut od[..no]);
                    continue;
                }
                // Input columns `ix0, ix0 + sw, ...` land in phase `b`, contiguously.
                for b in 0..sw {
                    let ix0 = (b + sw - pl % sw) % sw;
                    let start = row0 + b * phase_len + (ix0 + pl) / sw;
                    let src = line.iter().skip(ix0).step_by(sw);
                    for (d, &v) in dst[start..].iter_mut().zip(src) {
                        *d = v;
                    }
                }
            }
        }
    }

    /// One group of one image: `out` (`mg x oh x ow`) from `x` (`cg x h x w`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run<T: QElem>(
        &self,
        table: &Int8Kernels,
        g: &ConvGeometry,
        (oh, ow): (usize, usize),
        w: &PackedWeights,
        x: &[T],
        x_zp: i32,
        rq: &Requant,
        mut out: QOutput,
        threads: usize,
    ) -> QResult<()> {
        let mg = w.shape().0;
        let mut bufs = BUFS.with(|b| std::mem::take(&mut *b.borrow_mut()));
        let (input, temp) = (&mut bufs.0, &mut bufs.1);
        // Slack past the last plane: reads of dropped columns may run a row beyond it.
        input.clear();
        input.resize(g.c_in / g.groups * self.plane + self.pw + 64, 0);
        let input = as_elems_mut::<T>(input);
        self.fill(g, x, T::from_i32(x_zp), input);
        let src = (&input[..], &self.offs[..], self.cols, x_zp);
        let result = if self.cols == oh * ow {
            qgemm_rows(table, w, src, rq, out, (self.cols, 1), threads)
        } else {
            let len = mg * self.cols;
            let geo = (self.pw, (oh, ow));
            match &mut out {
                QOutput::U8(o) => via_temp(temp, len, |t| {
                    qgemm_rows(table, w, src, rq, QOutput::U8(t), (len / mg, 1), threads)
                        .map(|_| compact(t, o, geo))
                }),
                QOutput::I8(o) => via_temp(temp, len, |t| {
                    qgemm_rows(table, w, src, rq, QOutput::I8(t), (len / mg, 1), threads)
                        .map(|_| compact(t, o, geo))
                }),
                QOutput::I32(o) => via_temp(temp, len, |t| {
                    qgemm_rows(table, w, src, rq, QOutput::I32(t), (len / mg, 1), threads)
                        .map(|_| compact(t, o, geo))
                }),
                QOutput::F32(o) => via_temp(temp, len, |t| {
                    qgemm_rows(table, w, src, rq, QOutput::F32(t), (len / mg, 1), threads)
                        .map(|_| compact(t, o, geo))
                }),
            }
        };
        BUFS.with(|b| *b.borrow_mut() = bufs);
        result
    }
}

thread_local! {
    /// The phase buffer and the uncompacted output, reused across calls.
    static BUFS: std::cell::RefCell<(Vec<u8>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Output rows `(y, x < ow)` of the `[rows, (oh - 1) * pw + ow]` product into NCHW planes.
fn compact<O: Copy>(wide: &[O], out: &mut [O], (pw, (oh, ow)): (usize, (usize, usize))) {
    let cols = (oh - 1) * pw + ow;
    for (src, dst) in wide.chunks_exact(cols).zip(out.chunks_exact_mut(oh * ow)) {
        for (y, d) in dst.chunks_exact_mut(ow).enumerate() {
            d.copy_from_slice(&src[y * pw..y * pw + ow]);
        }
    }
}

/// Runs `f` on a scratch slice of `len` values of a 4-byte-or-smaller plain type, carved from
/// `temp`.
fn via_temp<O: Plain, R>(temp: &mut Vec<u32>, len: usize, f: impl FnOnce(&mut [O]) -> R) -> R {
    temp.clear();
    temp.resize((len * std::mem::size_of::<O>()).div_ceil(4), 0);
    // SAFETY: `O` is one of u8, i8, i32, f32 (sealed `Plain`): alignment <= 4, every bit
    // pattern valid, and the buffer holds at least `len` of them.
    let t = unsafe { std::slice::from_raw_parts_mut(temp.as_mut_ptr() as *mut O, len) };
    f(t)
}

/// Element types of an output scratch buffer.
trait Plain: Copy {}
impl Plain for u8 {}
impl Plain for i8 {}
impl Plain for i32 {}
impl Plain for f32 {}

/// Bytes viewed as 8-bit elements of type `T`.
fn as_elems_mut<T: QElem>(b: &mut [u8]) -> &mut [T] {
    // SAFETY: T is u8 or i8 (sealed): same size and alignment as u8, every bit pattern valid.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr() as *mut T, b.len()) }
}
