//! Packing: copying blocks of A and B into the panel order the micro-kernel reads linearly.
//!
//! A block of A becomes panels of `mr` rows, each `k`-major (`mr` values per k step); a block
//! of B becomes panels of `nr` columns (`nr` values per k step). Rows or columns past the edge
//! are zero, so the micro-kernel always runs a full tile.

use super::buffer::AlignedBuf;
use super::view::MatRef;
use crate::{kernels, KernelError, Kernels, Result};

/// Packs `a[rows, k0..k0 + kc]` into `dst` as `ceil(rows.len() / mr)` panels of `kc * mr`.
pub(crate) fn pack_a(
    dst: &mut [f32],
    a: &MatRef,
    rows: std::ops::Range<usize>,
    k0: usize,
    kc: usize,
    mr: usize,
) {
    for (q, panel) in dst
        .chunks_exact_mut(kc * mr)
        .take(rows.len().div_ceil(mr))
        .enumerate()
    {
        let r0 = rows.start + q * mr;
        let valid = mr.min(rows.end - r0);
        if valid < mr {
            panel.fill(0.0);
        }
        if a.rs == 1 {
            // Transposed A: each k step is a contiguous run of rows.
            for (p, out) in panel.chunks_exact_mut(mr).enumerate() {
                let start = r0 + (k0 + p) * a.cs;
                out[..valid].copy_from_slice(&a.data[start..start + valid]);
            }
        } else if a.cs == 1 && valid == mr {
            match mr {
                4 => pack_a_rows::<4>(panel, a, r0, k0, kc),
                6 => pack_a_rows::<6>(panel, a, r0, k0, kc),
                8 => pack_a_rows::<8>(panel, a, r0, k0, kc),
                12 => pack_a_rows::<12>(panel, a, r0, k0, kc),
                14 => pack_a_rows::<14>(panel, a, r0, k0, kc),
                _ => pack_a_any(panel, a, r0, valid, k0, kc, mr),
            }
        } else {
            pack_a_any(panel, a, r0, valid, k0, kc, mr);
        }
    }
}

/// Row-major A, full panel: `MR` row slices read in step (sequential streams the prefetchers
/// follow) and written out sequentially. Slicing the rows up front removes the per-element
/// bounds checks and index arithmetic of `pack_a_any`, which made packing A a fifth of the
/// time of a 256 x 196 x 2304 product.
fn pack_a_rows<const MR: usize>(panel: &mut [f32], a: &MatRef, r0: usize, k0: usize, kc: usize) {
    let rows: [&[f32]; MR] = std::array::from_fn(|i| {
        let start = (r0 + i) * a.rs + k0;
        &a.data[start..start + kc]
    });
    for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
        let out: &mut [f32; MR] = out.try_into().expect("MR floats");
        for i in 0..MR {
            out[i] = rows[i][p];
        }
    }
}

/// Any layout, element by element.
fn pack_a_any(
    panel: &mut [f32],
    a: &MatRef,
    r0: usize,
    valid: usize,
    k0: usize,
    kc: usize,
    mr: usize,
) {
    for i in 0..valid {
        for p in 0..kc {
            panel[p * mr + i] = a.at(r0 + i, k0 + p);
        }
    }
}

/// Packs `b[k0..k0 + kc, cols]` into `dst` as `ceil(cols.len() / nr)` panels of `kc * nr`,
/// consecutive panels `panel_stride` floats apart.
pub(crate) fn pack_b(
    dst: &mut [f32],
    b: &MatRef,
    k0: usize,
    kc: usize,
    cols: std::ops::Range<usize>,
    nr: usize,
    panel_stride: usize,
) {
    let panels = cols.len().div_ceil(nr);
    // Full panels of a row-major B: copied a group of panels at a time (see `copy_rows`).
    let full = if b.cs == 1 && matches!(nr, 8 | 16 | 32 | 48 | 64) {
        cols.len() / nr
    } else {
        0
    };
    match nr {
        16 => copy_rows::<16>(dst, b, k0, kc, cols.start, full, panel_stride),
        8 => copy_rows::<8>(dst, b, k0, kc, cols.start, full, panel_stride),
        32 => copy_rows::<32>(dst, b, k0, kc, cols.start, full, panel_stride),
        48 => copy_rows::<48>(dst, b, k0, kc, cols.start, full, panel_stride),
        64 => copy_rows::<64>(dst, b, k0, kc, cols.start, full, panel_stride),
        _ => {}
    }
    for q in full..panels {
        let panel = &mut dst[q * panel_stride..q * panel_stride + kc * nr];
        let c0 = cols.start + q * nr;
        let valid = nr.min(cols.end - c0);
        if valid < nr {
            panel.fill(0.0);
        }
        for j in 0..valid {
            for p in 0..kc {
                panel[p * nr + j] = b.at(k0 + p, c0 + j);
            }
        }
    }
}

/// Copies `panels` full panels of a row-major B. Walking one panel top to bottom would touch
/// a new row (often a new page) for every 64 bytes read; instead, for a group of panels, each
/// k step reads one contiguous stretch of the row (2 KiB, which the prefetchers follow) and
/// scatters it into the group's panels (a 512 KiB destination that stays in L2). Measured
/// about 1.8x faster than panel-by-panel on a 576 x 3136 B. The fixed `NR` turns each copy
/// into a couple of vector moves instead of a memcpy call.
fn copy_rows<const NR: usize>(
    dst: &mut [f32],
    b: &MatRef,
    k0: usize,
    kc: usize,
    c0: usize,
    panels: usize,
    panel_stride: usize,
) {
    // 512 columns per group: 2 KiB of each row.
    let group = (512 / NR).max(1);
    for g in (0..panels).step_by(group) {
        let count = group.min(panels - g);
        for p in 0..kc {
            let start = (k0 + p) * b.rs + c0 + g * NR;
            let src = &b.data[start..start + count * NR];
            for (q, s) in src.chunks_exact(NR).enumerate() {
                let at = (g + q) * panel_stride + p * NR;
                let d: &mut [f32; NR] = (&mut dst[at..at + NR]).try_into().expect("NR floats");
                *d = s.try_into().expect("NR floats");
            }
        }
    }
}

/// A right-hand side packed once, e.g. a layer's weights at model load time, for
/// [`Kernels::gemm_prepacked`]. It holds all of K per panel, so it serves any cache blocking,
/// and any table whose tile has the same width.
pub struct PackedB {
    data: AlignedBuf,
    pub(crate) k: usize,
    pub(crate) n: usize,
    /// Panel width: the `nr` of the table it was packed for.
    pub(crate) nr: usize,
    pub(crate) kernel: &'static str,
}

impl std::fmt::Debug for PackedB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PackedB({}x{}, panels of {} for {})",
            self.k, self.n, self.nr, self.kernel
        )
    }
}

impl PackedB {
    /// Packs `b` (`K x N`) for the process's table ([`kernels`]).
    pub fn new(b: MatRef) -> Result<PackedB> {
        PackedB::with_kernels(kernels(), b)
    }

    /// Packs `b` (`K x N`) for `table`. Fails only if the packed size overflows `usize`
    /// (a broadcast view of a huge matrix).
    pub fn with_kernels(table: &Kernels, b: MatRef) -> Result<PackedB> {
        let (k, n, nr) = (b.rows, b.cols, table.nr);
        let len = n
            .div_ceil(nr)
            .checked_mul(nr)
            .and_then(|cols| cols.checked_mul(k))
            .filter(|len| len.checked_add(64).is_some())
            .ok_or(KernelError::TooLarge {
                a: (0, k),
                b: (k, n),
            })?;
        let mut data = AlignedBuf::with_len(len);
        if k > 0 {
            pack_b(data.get(len), &b, 0, k, 0..n, nr, k * nr);
        }
        Ok(PackedB {
            data,
            k,
            n,
            nr,
            kernel: table.name,
        })
    }

    /// Rows (K) of the packed matrix.
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns (N) of the packed matrix.
    pub fn cols(&self) -> usize {
        self.n
    }

    /// Panels: `ceil(n / nr)` of `k * nr` floats.
    pub(crate) fn panels(&self) -> &[f32] {
        self.data.slice(self.n.div_ceil(self.nr) * self.nr * self.k)
    }
}

/// A left-hand side packed once, e.g. a convolution's `out_channels x K` weight matrix at
/// model load time, for [`Kernels::gemm_packed_a`]. Packed exactly as the driver packs A per
/// call (depth blocks of the table's `kc`, each holding all rows as panels of `mr`), so a
/// product with it is bit-identical to one with the unpacked matrix.
pub struct PackedA {
    data: AlignedBuf,
    pub(crate) m: usize,
    pub(crate) k: usize,
    /// Panel height: the `mr` of the table it was packed for.
    pub(crate) mr: usize,
    /// Depth block: the `kc` of the table it was packed for.
    pub(crate) kc: usize,
    pub(crate) kernel: &'static str,
}

impl std::fmt::Debug for PackedA {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PackedA({}x{}, panels of {} in depth blocks of {} for {})",
            self.m, self.k, self.mr, self.kc, self.kernel
        )
    }
}

impl PackedA {
    /// Packs `a` (`M x K`) for the process's table ([`kernels`]).
    pub fn new(a: MatRef) -> Result<PackedA> {
        PackedA::with_kernels(kernels(), a)
    }

    /// Packs `a` (`M x K`) for `table`. Fails only if the packed size overflows `usize`.
    pub fn with_kernels(table: &Kernels, a: MatRef) -> Result<PackedA> {
        let (m, k, mr, kc) = (a.rows, a.cols, table.mr, table.blocking.kc.max(1));
        let rows = m.div_ceil(mr) * mr;
        let len = rows
            .checked_mul(k)
            .filter(|len| len.checked_add(64).is_some())
            .ok_or(KernelError::TooLarge {
                a: (m, k),
                b: (k, 0),
            })?;
        let mut data = AlignedBuf::with_len(len);
        let buf = data.get(len);
        for pc in (0..k).step_by(kc) {
            let kb = kc.min(k - pc);
            pack_a(&mut buf[pc * rows..][..rows * kb], &a, 0..m, pc, kb, mr);
        }
        Ok(PackedA {
            data,
            m,
            k,
            mr,
            kc,
            kernel: table.name,
        })
    }

    /// Rows (M) of the packed matrix.
    pub fn rows(&self) -> usize {
        self.m
    }

    /// Columns (K) of the packed matrix.
    pub fn cols(&self) -> usize {
        self.k
    }

    /// The panels of rows `r0..` (`r0` a multiple of `mr`) in the depth block starting at `pc`
    /// (a multiple of `kc`), `kb` deep.
    pub(crate) fn block(&self, pc: usize, kb: usize, r0: usize) -> &[f32] {
        let rows = self.m.div_ceil(self.mr) * self.mr;
        let all = self.data.slice(rows * self.k);
        &all[pc * rows + r0 * kb..pc * rows + rows * kb]
    }
}
