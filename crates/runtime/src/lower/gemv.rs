//! `y = x * W^T (+ bias)` for one row `x`, with W stored `[N, K]` row-major: a dot product
//! per output, allocation-free (the kernels crate's GEMV path allocates per call).
//!
//! Every dot product has the same arithmetic whatever the instruction set (16 independent
//! lane sums over `K` rounded down to 16, a pairwise fold of the lanes, then the ragged end
//! added in order): the AVX2 + FMA kernel holds the 16 lanes in two registers, the AVX-512
//! one in one, and the portable one in an array, with fused multiply-adds where the CPU has
//! them. Four rows go per pass (one load of `x` feeds four rows' FMAs), and rows are split
//! across threads in multiples of four, so results do not depend on the thread count.

use edgeopt_kernels::elementwise::split;

/// Lanes of independent partial sums (vectorizable without reassociating a single sum).
const LANES: usize = 16;
/// Rows per pass, and the unit of the split across threads.
const ROWS: usize = 4;

/// The fold shared by every kernel: pairwise sum of the lanes, then the ragged end in order.
#[inline(always)]
fn finish(mut acc: [f32; LANES], x: &[f32], w: &[f32]) -> f32 {
    let done = x.len() / LANES * LANES;
    let mut tail = 0f32;
    for (a, b) in x[done..].iter().zip(&w[done..]) {
        tail += a * b;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            acc[j] += acc[j + width];
        }
    }
    acc[0] + tail
}

#[inline(always)]
fn dot_body(x: &[f32], w: &[f32], fma: bool) -> f32 {
    let mut acc = [0f32; LANES];
    for (xs, ws) in x.chunks_exact(LANES).zip(w.chunks_exact(LANES)) {
        for j in 0..LANES {
            acc[j] = if fma {
                xs[j].mul_add(ws[j], acc[j])
            } else {
                acc[j] + xs[j] * ws[j]
            };
        }
    }
    finish(acc, x, w)
}

fn rows_generic(x: &[f32], w: &[f32], k: usize, y: &mut [f32]) {
    for (n, y) in y.iter_mut().enumerate() {
        *y = dot_body(x, &w[n * k..(n + 1) * k], false);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{finish, LANES, ROWS};
    use std::arch::x86_64::*;

    /// Safety: AVX2 + FMA; `w` holds `y.len()` rows of `x.len()` floats.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn rows_avx2(x: &[f32], w: &[f32], y: &mut [f32]) {
        let k = x.len();
        let chunks = k / LANES;
        let xp = x.as_ptr();
        let mut n = 0;
        while n < y.len() {
            let rows = (y.len() - n).min(ROWS);
            let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
            // SAFETY: chunk c reads floats 16c..16c + 16 < k of x and of each row.
            unsafe {
                let r: [*const f32; ROWS] =
                    std::array::from_fn(|i| w.as_ptr().add((n + i.min(rows - 1)) * k));
                for c in 0..chunks {
                    let x0 = _mm256_loadu_ps(xp.add(c * LANES));
                    let x1 = _mm256_loadu_ps(xp.add(c * LANES + 8));
                    for (a, r) in acc.iter_mut().zip(r).take(rows) {
                        a[0] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r.add(c * LANES)), a[0]);
                        a[1] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r.add(c * LANES + 8)), a[1]);
                    }
                }
                for (i, a) in acc.iter().enumerate().take(rows) {
                    let mut lanes = [0f32; LANES];
                    _mm256_storeu_ps(lanes.as_mut_ptr(), a[0]);
                    _mm256_storeu_ps(lanes.as_mut_ptr().add(8), a[1]);
                    y[n + i] = finish(lanes, x, &w[(n + i) * k..(n + i + 1) * k]);
                }
            }
            n += rows;
        }
    }

    /// Safety: AVX-512F; `w` holds `y.len()` rows of `x.len()` floats.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn rows_avx512(x: &[f32], w: &[f32], y: &mut [f32]) {
        let k = x.len();
        let chunks = k / LANES;
        let xp = x.as_ptr();
        let mut n = 0;
        while n < y.len() {
            let rows = (y.len() - n).min(ROWS);
            let mut acc = [_mm512_setzero_ps(); ROWS];
            // SAFETY: chunk c reads floats 16c..16c + 16 < k of x and of each row.
            unsafe {
                let r: [*const f32; ROWS] =
                    std::array::from_fn(|i| w.as_ptr().add((n + i.min(rows - 1)) * k));
                for c in 0..chunks {
                    let xv = _mm512_loadu_ps(xp.add(c * LANES));
                    for (a, r) in acc.iter_mut().zip(r).take(rows) {
                        *a = _mm512_fmadd_ps(xv, _mm512_loadu_ps(r.add(c * LANES)), *a);
                    }
                }
                for (i, a) in acc.iter().enumerate().take(rows) {
                    let mut lanes = [0f32; LANES];
                    _mm512_storeu_ps(lanes.as_mut_ptr(), *a);
                    y[n + i] = finish(lanes, x, &w[(n + i) * k..(n + i + 1) * k]);
                }
            }
            n += rows;
        }
    }
}

/// Which kernel this process uses (decided once).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Isa {
    Generic,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

fn isa() -> Isa {
    use std::sync::OnceLock;
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let generic = std::env::var("EDGEOPT_KERNELS").is_ok_and(|v| v.trim() == "generic");
        #[cfg(target_arch = "x86_64")]
        if !generic && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            let avx512 = std::env::var("EDGEOPT_AVX512").map_or(true, |v| v.trim() != "0")
                && is_x86_feature_detected!("avx512f");
            return if avx512 { Isa::Avx512 } else { Isa::Avx2 };
        }
        let _ = generic;
        Isa::Generic
    })
}

pub(crate) fn has_fma() -> bool {
    isa() != Isa::Generic
}

fn rows_with(isa: Isa, x: &[f32], w: &[f32], y: &mut [f32]) {
    match isa {
        Isa::Generic => rows_generic(x, w, x.len(), y),
        // SAFETY: `isa()` only picks these where the CPU has the features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::rows_avx2(x, w, y) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { x86::rows_avx512(x, w, y) },
    }
}

/// `y[n] = dot(x, w[n*k..(n+1)*k])` for every `n < y.len()`; `w.len() >= y.len() * k`.
/// Rows are split across up to `threads` threads when there is enough work.
pub fn gemv_rows(x: &[f32], w: &[f32], k: usize, y: &mut [f32], threads: usize) {
    let (x, isa) = (&x[..k], isa());
    let work = y.len() * k;
    split::for_chunks_mut(y, 1, ROWS, work, threads, |first, y| {
        rows_with(isa, x, &w[first * k..(first + y.len()) * k], y)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(len: usize, mut s: u64) -> Vec<f32> {
        s |= 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// Every kernel this CPU has against the f64 dot products, on ragged sizes; the vector
    /// kernels agree bit for bit, and results do not depend on the thread count.
    #[test]
    fn kernels_match_the_reference_and_each_other() {
        let mut isas = vec![Isa::Generic];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                isas.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                isas.push(Isa::Avx512);
            }
        }
        for (n, k) in [(1, 1), (3, 15), (5, 16), (7, 33), (13, 100), (64, 784)] {
            let (x, w) = (random(k, n as u64), random(n * k, k as u64));
            let want: Vec<f64> = (0..n)
                .map(|i| (0..k).map(|j| x[j] as f64 * w[i * k + j] as f64).sum())
                .collect();
            let mut outs = Vec::new();
            for &isa in &isas {
                let mut y = vec![f32::NAN; n];
                rows_with(isa, &x, &w, &mut y);
                for (i, (&got, &want)) in y.iter().zip(&want).enumerate() {
                    let tol = 1e-5 * (k as f64).sqrt() + 1e-6;
                    assert!(
                        (got as f64 - want).abs() <= tol,
                        "{isa:?} n{n} k{k} row {i}"
                    );
                }
                outs.push(y);
            }
            for pair in outs[1..].windows(2) {
                assert_eq!(pair[0], pair[1], "vector kernels differ at n{n} k{k}");
            }
            let mut one = vec![0f32; n];
            let mut two = vec![0f32; n];
            gemv_rows(&x, &w, k, &mut one, 1);
            split::for_chunks_mut(&mut two, 1, ROWS, usize::MAX, 2, |first, y| {
                rows_with(isa(), &x, &w[first * k..(first + y.len()) * k], y)
            });
            assert_eq!(one, two, "thread count changed results at n{n} k{k}");
        }
    }
}
