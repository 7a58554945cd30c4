//! GEMV shortcuts for `M == 1` (a batch-1 fully-connected layer) and `N == 1`. Packing would
//! copy all of B to use each element once; these kernels stream B exactly once instead.

use std::ops::Range;

use super::driver::BSource;
use super::parallel::{self, split_1d, threads_for};
use super::view::{MatMut, MatRef};
use super::{Bias, GemmParams};
use crate::Kernels;

/// How the `len` outputs are read from the matrix operand.
enum Layout<'a> {
    /// `y[j] = sum_p x[p] * data[p * ld + j]`.
    Rows { data: &'a [f32], ld: usize },
    /// `y[j] = sum_p x[p] * data[j * ld + p]`.
    Dots { data: &'a [f32], ld: usize },
    /// `y[j]` from panel `j / nr` of a packed B.
    Packed {
        panels: &'a [f32],
        k: usize,
        nr: usize,
    },
}

/// Runs the product as a GEMV if it has a fast layout; otherwise hands C back.
pub(crate) fn try_run<'c>(
    table: &Kernels,
    params: &GemmParams,
    a: &MatRef,
    b: &BSource,
    c: MatMut<'c>,
) -> Option<MatMut<'c>> {
    let (m, n, k) = (c.rows, c.cols, a.cols);
    let (x, layout, len): (Vec<f32>, Layout, usize) = if m == 1 {
        let x = (0..k).map(|p| a.at(0, p)).collect();
        let layout = match b {
            BSource::Packed(pb) => Layout::Packed {
                panels: pb.data,
                k,
                nr: pb.nr,
            },
            BSource::Strided(b) if b.cs == 1 => Layout::Rows {
                data: b.data,
                ld: b.rs,
            },
            BSource::Strided(b) if b.rs == 1 => Layout::Dots {
                data: b.data,
                ld: b.cs,
            },
            BSource::Strided(_) | BSource::Im2col(_) => return Some(c),
        };
        (x, layout, n)
    } else {
        let x = match b {
            BSource::Im2col(_) => return Some(c),
            BSource::Packed(pb) => pb.data.iter().step_by(pb.nr).take(k).copied().collect(),
            BSource::Strided(b) => (0..k).map(|p| b.at(p, 0)).collect(),
        };
        let layout = if a.cs == 1 {
            Layout::Dots {
                data: a.data,
                ld: a.rs,
            }
        } else if a.rs == 1 {
            Layout::Rows {
                data: a.data,
                ld: a.cs,
            }
        } else {
            return Some(c);
        };
        (x, layout, m)
    };

    let mut y = vec![0f32; len];
    let unit = match layout {
        Layout::Packed { nr, .. } => nr,
        _ => 16,
    };
    let parts = split_1d(
        len,
        unit,
        threads_for(2 * k * len, params.threads, table.min_flops_per_thread),
    );
    let mut chunks = parallel::Parts::new();
    let mut rest = y.as_mut_slice();
    for r in parts {
        let (head, tail) = rest.split_at_mut(r.len());
        chunks.push((r, head));
        rest = tail;
    }
    parallel::run(chunks, |(r, out)| outputs(table, &x, &layout, r, out));

    finish(table, params, &mut y, c);
    None
}

/// Computes outputs `r` of the GEMV into `out`.
fn outputs(table: &Kernels, x: &[f32], layout: &Layout, r: Range<usize>, out: &mut [f32]) {
    let k = x.len();
    // SAFETY (all calls): `x` has k floats and `out` r.len(); views were checked, so every
    // B element `(p, j)` with p < k and j in `r` is inside `data` at the index the layout
    // names; the table only holds kernels this CPU runs.
    match *layout {
        // SAFETY: see above.
        Layout::Rows { data, ld } => unsafe {
            let b = data.as_ptr().add(r.start);
            (table.gemv_rows)(k, r.len(), x.as_ptr(), b, ld, out.as_mut_ptr())
        },
        // SAFETY: see above.
        Layout::Dots { data, ld } => unsafe {
            let b = data.as_ptr().add(r.start * ld);
            (table.gemv_dots)(k, r.len(), x.as_ptr(), b, ld, out.as_mut_ptr())
        },
        Layout::Packed { panels, k, nr } => {
            // `r.start` is a multiple of nr; a panel is k * nr floats, zero-padded.
            let mut tmp = vec![0f32; nr];
            for (q, dst) in out.chunks_mut(nr).enumerate() {
                let panel = &panels[(r.start / nr + q) * k * nr..][..k * nr];
                // SAFETY: `panel` is k rows of nr floats, `tmp` holds nr.
                unsafe {
                    (table.gemv_rows)(k, nr, x.as_ptr(), panel.as_ptr(), nr, tmp.as_mut_ptr())
                };
                dst.copy_from_slice(&tmp[..dst.len()]);
            }
        }
    }
}

/// Applies alpha, beta, bias and activation to the raw outputs `y` and stores them in C
/// (a single row or a single column).
fn finish(table: &Kernels, params: &GemmParams, y: &mut [f32], c: MatMut) {
    let row = c.rows == 1;
    let index = |t: usize| if row { t * c.cs } else { t * c.rs };
    for (t, v) in y.iter_mut().enumerate() {
        let mut x = params.alpha * *v;
        if params.beta != 0.0 {
            x += params.beta * c.data[index(t)];
        }
        x += match params.bias {
            Bias::None => 0.0,
            Bias::PerRow(b) => b[if row { 0 } else { t }],
            Bias::PerCol(b) => b[if row { t } else { 0 }],
        };
        *v = x;
    }
    // SAFETY: the table only holds kernels this CPU runs.
    unsafe { (table.act)(y, params.activation) };
    for (t, v) in y.iter().enumerate() {
        c.data[index(t)] = *v;
    }
}
