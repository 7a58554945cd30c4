//! NEON GEMV kernels (see [`crate::arch::GemvKernel`] for the two layouts). Eight independent
//! accumulators hide the FMA latency; B is streamed once.

use std::arch::aarch64::*;

/// `y[j] = sum_p x[p] * b[p * ldb + j]`, 8 columns at a time with four k-phases.
pub(super) unsafe fn rows(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    let mut j = 0;
    while j + 8 <= n {
        let mut acc = [vdupq_n_f32(0.0); 8];
        let mut p = 0;
        while p + 4 <= k {
            for q in 0..4 {
                // SAFETY: p + q < k, and row p + q of B has columns j..j + 8 <= n.
                unsafe {
                    let xv = vdupq_n_f32(*x.add(p + q));
                    let row = b.add((p + q) * ldb + j);
                    acc[2 * q] = vfmaq_f32(acc[2 * q], xv, vld1q_f32(row));
                    acc[2 * q + 1] = vfmaq_f32(acc[2 * q + 1], xv, vld1q_f32(row.add(4)));
                }
            }
            p += 4;
        }
        while p < k {
            // SAFETY: as above, one row at a time.
            unsafe {
                let xv = vdupq_n_f32(*x.add(p));
                let row = b.add(p * ldb + j);
                acc[0] = vfmaq_f32(acc[0], xv, vld1q_f32(row));
                acc[1] = vfmaq_f32(acc[1], xv, vld1q_f32(row.add(4)));
            }
            p += 1;
        }
        // SAFETY: j + 8 <= n outputs.
        unsafe {
            let lo = vaddq_f32(vaddq_f32(acc[0], acc[2]), vaddq_f32(acc[4], acc[6]));
            let hi = vaddq_f32(vaddq_f32(acc[1], acc[3]), vaddq_f32(acc[5], acc[7]));
            vst1q_f32(y.add(j), lo);
            vst1q_f32(y.add(j + 4), hi);
        }
        j += 8;
    }
    for jj in j..n {
        let mut s = 0.0f32;
        for p in 0..k {
            // SAFETY: p < k and jj < n.
            unsafe { s += *x.add(p) * *b.add(p * ldb + jj) };
        }
        // SAFETY: jj < n.
        unsafe { *y.add(jj) = s };
    }
}

/// `y[j] = sum_p x[p] * b[j * ldb + p]`, four dot products at a time.
pub(super) unsafe fn dots(
    k: usize,
    n: usize,
    x: *const f32,
    b: *const f32,
    ldb: usize,
    y: *mut f32,
) {
    let mut j = 0;
    while j < n {
        let cols = (n - j).min(4);
        let mut acc = [vdupq_n_f32(0.0); 8];
        let mut p = 0;
        while p + 8 <= k {
            // SAFETY: p + 8 <= k floats of x and of each column j + c < n.
            unsafe {
                let (x0, x1) = (vld1q_f32(x.add(p)), vld1q_f32(x.add(p + 4)));
                for c in 0..cols {
                    let col = b.add((j + c) * ldb + p);
                    acc[2 * c] = vfmaq_f32(acc[2 * c], x0, vld1q_f32(col));
                    acc[2 * c + 1] = vfmaq_f32(acc[2 * c + 1], x1, vld1q_f32(col.add(4)));
                }
            }
            p += 8;
        }
        for c in 0..cols {
            // SAFETY: pp < k, column j + c < n, output j + c < n.
            unsafe {
                let mut s = vaddvq_f32(vaddq_f32(acc[2 * c], acc[2 * c + 1]));
                for pp in p..k {
                    s += *x.add(pp) * *b.add((j + c) * ldb + pp);
                }
                *y.add(j + c) = s;
            }
        }
        j += cols;
    }
}
