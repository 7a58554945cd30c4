//! Portable sparse x dense product: the twin of the AVX2 kernel, vectorized by the compiler.

use super::CsrMatrix;

/// Columns of X handled per pass over a row's nonzeros; the accumulators stay in registers.
const BLOCK: usize = 32;

/// `y = w * x + bias` (no activation), `x` `K x n`, `y` `M x n`, extents checked by the caller.
pub(super) fn matmul(w: &CsrMatrix, x: &[f32], n: usize, y: &mut [f32], bias: Option<&[f32]>) {
    let mut j0 = 0;
    while j0 < n {
        let width = BLOCK.min(n - j0);
        for r in 0..w.rows() {
            let b = bias.map_or(0.0, |b| b[r]);
            let mut acc = [b; BLOCK];
            let (cols, vals) = w.row(r);
            if width == BLOCK {
                for (c, v) in cols.iter().zip(vals) {
                    let xs = &x[*c as usize * n + j0..][..BLOCK];
                    for (a, xv) in acc.iter_mut().zip(xs) {
                        *a += v * xv;
                    }
                }
            } else {
                for (c, v) in cols.iter().zip(vals) {
                    let xs = &x[*c as usize * n + j0..][..width];
                    for (a, xv) in acc.iter_mut().zip(xs) {
                        *a += v * xv;
                    }
                }
            }
            y[r * n + j0..][..width].copy_from_slice(&acc[..width]);
        }
        j0 += width;
    }
}
