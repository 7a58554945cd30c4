//! Portable GEMV kernels (see [`crate::arch::GemvKernel`] for the two layouts).

/// `y[j] = sum_p x[p] * b[p * ldb + j]`: one pass over B's rows, adding `x[p] * row` to y.
pub(crate) unsafe fn rows(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    // SAFETY: the caller guarantees `k` floats at `x`, `n` at `y`, and B's rows of `n` floats.
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(x, k),
            std::slice::from_raw_parts_mut(y, n),
        )
    };
    y.fill(0.0);
    for (p, &xp) in x.iter().enumerate() {
        // SAFETY: row p of B has `n` readable floats at `b + p * ldb`.
        let row = unsafe { std::slice::from_raw_parts(b.add(p * ldb), n) };
        for (yj, &bj) in y.iter_mut().zip(row) {
            *yj += xp * bj;
        }
    }
}

/// `y[j] = sum_p x[p] * b[j * ldb + p]`: one dot product per output.
pub(crate) unsafe fn dots(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    // SAFETY: as in `rows`, with B's columns of `k` floats at `b + j * ldb`.
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(x, k),
            std::slice::from_raw_parts_mut(y, n),
        )
    };
    for (j, yj) in y.iter_mut().enumerate() {
        // SAFETY: column j of B has `k` readable floats.
        let col = unsafe { std::slice::from_raw_parts(b.add(j * ldb), k) };
        // Eight partial sums break the add dependency chain and let the compiler vectorize.
        let mut acc = [0f32; 8];
        let (xc, cc) = (x.chunks_exact(8), col.chunks_exact(8));
        let (xr, cr) = (xc.remainder(), cc.remainder());
        for (xs, cs) in xc.zip(cc) {
            for l in 0..8 {
                acc[l] += xs[l] * cs[l];
            }
        }
        let mut sum = acc.iter().sum::<f32>();
        for (&xv, &cv) in xr.iter().zip(cr) {
            sum += xv * cv;
        }
        *yj = sum;
    }
}
