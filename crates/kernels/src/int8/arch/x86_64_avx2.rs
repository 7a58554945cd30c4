//! AVX2 int8 kernels, installed when the CPU reports AVX2.
//!
//! The micro-kernel is 6x16 like the fp32 one: 12 i32 accumulators, 2 registers for a pair-row
//! of the activation panel and 1 broadcast weight pair; each `vpmaddwd` does 16 exact
//! multiply-adds (i16 x i16 pairs summed into i32). The other kernels are the portable bodies
//! compiled for AVX2, which the compiler vectorizes to 256 bits.

use std::arch::x86_64::*;

use super::super::elementwise::AddParams;
use super::super::requant::RowParams;
use super::super::{Int8Kernels, QElem};
use super::{portable, QuantKernels, StoreKernels};

const MR: usize = 6;
const NR: usize = 16;

/// Installs the AVX2 kernels when the CPU has AVX2; says whether it did.
pub(crate) fn plug(table: &mut Int8Kernels) -> bool {
    if !is_x86_feature_detected!("avx2") {
        return false;
    }
    table.name = "x86_64_avx2";
    table.mr = MR;
    table.nr = NR;
    table.tile = tile;
    table.pack_u8 = pack_u8;
    table.pack_i8 = pack_i8;
    table.store = StoreKernels {
        u8: store_u8,
        i8: store_i8,
        i32: store_i32,
        f32: store_f32,
    };
    table.depthwise_row = depthwise_row;
    table.quant = QuantKernels {
        quantize_u8: quantize::<u8>,
        quantize_i8: quantize::<i8>,
        dequantize_u8: dequantize::<u8>,
        dequantize_i8: dequantize::<i8>,
        add_u8: add::<u8>,
        add_i8: add::<i8>,
    };
    true
}

// Safety of everything below: the contracts of `arch/mod.rs`; `plug` installs these only when
// AVX2 was detected.

// Index loops over the register arrays read as the math.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx2")]
unsafe fn tile(kp: usize, a: *const i16, b: *const i16, c: *mut i32) {
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        for p in 0..kp {
            let bp = b.add(p * 2 * NR);
            let b0 = _mm256_loadu_si256(bp as *const __m256i);
            let b1 = _mm256_loadu_si256(bp.add(16) as *const __m256i);
            let ap = a.add(p * 2 * MR) as *const i32;
            for i in 0..MR {
                let w = _mm256_set1_epi32(ap.add(i).read_unaligned());
                acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(w, b0));
                acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(w, b1));
            }
        }
        for i in 0..MR {
            let ci = c.add(i * NR) as *mut __m256i;
            _mm256_storeu_si256(ci, acc[i][0]);
            _mm256_storeu_si256(ci.add(1), acc[i][1]);
        }
    }
}

/// Interleaves two rows of 16 widened, zero-point-free values into one pair-row of the panel.
#[target_feature(enable = "avx2")]
unsafe fn store_pair(r0: __m256i, r1: __m256i, dst: *mut i16) {
    unsafe {
        let lo = _mm256_unpacklo_epi16(r0, r1);
        let hi = _mm256_unpackhi_epi16(r0, r1);
        let d = dst as *mut __m256i;
        _mm256_storeu_si256(d, _mm256_permute2x128_si256::<0x20>(lo, hi));
        _mm256_storeu_si256(d.add(1), _mm256_permute2x128_si256::<0x31>(lo, hi));
    }
}

macro_rules! pack_fn {
    ($name:ident, $t:ty, $widen:ident) => {
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = "avx2")]
        unsafe fn $name(
            src: *const $t,
            rs: usize,
            cs: usize,
            k: usize,
            cols: usize,
            zp: i32,
            dst: *mut i16,
            nr: usize,
        ) {
            if cs != 1 || cols != NR || nr != NR {
                return unsafe { portable::pack(src, rs, cs, k, cols, zp, dst, nr) };
            }
            unsafe {
                let z = _mm256_set1_epi16(zp as i16);
                let row = |p: usize| {
                    let v = _mm_loadu_si128(src.add(p * rs) as *const __m128i);
                    _mm256_sub_epi16($widen(v), z)
                };
                for pair in 0..k / 2 {
                    store_pair(row(2 * pair), row(2 * pair + 1), dst.add(pair * 2 * NR));
                }
                if k % 2 == 1 {
                    let zero = _mm256_setzero_si256();
                    store_pair(row(k - 1), zero, dst.add((k / 2) * 2 * NR));
                }
            }
        }
    };
}

pack_fn!(pack_u8, u8, _mm256_cvtepu8_epi16);
pack_fn!(pack_i8, i8, _mm256_cvtepi8_epi16);

/// Requantizes 8 accumulators: `clamp(round_even((acc + bias) * scale), lo, hi) + zp` as i32,
/// the same operations in the same order as `requant_one` (`cvtdq2ps` and `vroundps` round
/// to nearest even, as `as f32` and `round_ties_even`).
#[target_feature(enable = "avx2")]
unsafe fn requant8(acc: *const i32, p: &RowParams) -> __m256i {
    unsafe {
        let a = _mm256_add_epi32(
            _mm256_loadu_si256(acc as *const __m256i),
            _mm256_set1_epi32(p.bias),
        );
        let f = _mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(p.scale));
        let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(f);
        let r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(p.lo)), _mm256_set1_ps(p.hi));
        _mm256_add_epi32(_mm256_cvtps_epi32(r), _mm256_set1_epi32(p.zp))
    }
}

macro_rules! store_8bit {
    ($name:ident, $t:ty, $narrow:ident) => {
        #[target_feature(enable = "avx2")]
        unsafe fn $name(acc: &[i32], p: &RowParams, dst: *mut $t, cs: usize) {
            let n = acc.len();
            let mut j = 0;
            if cs == 1 {
                while j + 8 <= n {
                    unsafe {
                        let q = requant8(acc.as_ptr().add(j), p);
                        // Values are inside the type's range: the saturating packs only narrow.
                        let w = _mm_packs_epi32(
                            _mm256_castsi256_si128(q),
                            _mm256_extracti128_si256::<1>(q),
                        );
                        _mm_storel_epi64(dst.add(j) as *mut __m128i, $narrow(w, w));
                    }
                    j += 8;
                }
            }
            unsafe { portable::store_q(&acc[j..], p, dst.add(j * cs), cs) }
        }
    };
}

store_8bit!(store_u8, u8, _mm_packus_epi16);
store_8bit!(store_i8, i8, _mm_packs_epi16);

#[target_feature(enable = "avx2")]
unsafe fn store_i32(acc: &[i32], p: &RowParams, dst: *mut i32, cs: usize) {
    unsafe { portable::store_i32(acc, p, dst, cs) }
}

#[target_feature(enable = "avx2")]
unsafe fn store_f32(acc: &[i32], p: &RowParams, dst: *mut f32, cs: usize) {
    let n = acc.len();
    let mut j = 0;
    if cs == 1 {
        while j + 8 <= n {
            unsafe {
                let a = _mm256_add_epi32(
                    _mm256_loadu_si256(acc.as_ptr().add(j) as *const __m256i),
                    _mm256_set1_epi32(p.bias),
                );
                let mut f = _mm256_mul_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(p.scale));
                if p.relu {
                    f = _mm256_max_ps(f, _mm256_setzero_ps());
                }
                _mm256_storeu_ps(dst.add(j), f);
            }
            j += 8;
        }
    }
    unsafe { portable::store_f32(&acc[j..], p, dst.add(j * cs), cs) }
}

/// A broadcast pair of i16 weights `(w0, w1)` for `vpmaddwd`.
#[target_feature(enable = "avx2")]
unsafe fn pair(w0: i32, w1: i32) -> __m256i {
    _mm256_set1_epi32((w0 as u16 as u32 | (w1 as u16 as u32) << 16) as i32)
}

/// Depthwise row: taps are paired so that each `vpmaddwd` does two of them. Stride 1: 16
/// outputs per step, pairs (r, 0..2) for each row from two shifted loads, and the third column
/// of rows 0 and 1 together, of row 2 with a zero. Stride 2: 8 outputs per step, a load at
/// `2 o` already holds the pairs `(x[2o], x[2o + 1])`, and one at `2 o + 2` the third tap with
/// a zero weight on its partner.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn depthwise_row(rows: [*const i16; 3], w: &[i32; 9], s: usize, acc: &mut [i32]) {
    let n = acc.len();
    let mut o = 0;
    unsafe {
        let ld = |r: usize, off: usize| _mm256_loadu_si256(rows[r].add(off) as *const __m256i);
        if s == 1 {
            let w01: [__m256i; 3] = std::array::from_fn(|r| pair(w[3 * r], w[3 * r + 1]));
            let (w2a, w2b) = (pair(w[2], w[5]), pair(w[8], 0));
            // Reads up to x[o + 17]; rows hold n + 2 values.
            while o + 16 <= n {
                let (mut lo, mut hi) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                for r in 0..3 {
                    let (v0, v1) = (ld(r, o), ld(r, o + 1));
                    lo = _mm256_add_epi32(
                        lo,
                        _mm256_madd_epi16(_mm256_unpacklo_epi16(v0, v1), w01[r]),
                    );
                    hi = _mm256_add_epi32(
                        hi,
                        _mm256_madd_epi16(_mm256_unpackhi_epi16(v0, v1), w01[r]),
                    );
                }
                let (a, b, c) = (ld(0, o + 2), ld(1, o + 2), ld(2, o + 2));
                let z = _mm256_setzero_si256();
                lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w2a));
                hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w2a));
                lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(c, z), w2b));
                hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(c, z), w2b));
                let out = acc.as_mut_ptr().add(o) as *mut __m256i;
                _mm256_storeu_si256(out, _mm256_permute2x128_si256::<0x20>(lo, hi));
                _mm256_storeu_si256(out.add(1), _mm256_permute2x128_si256::<0x31>(lo, hi));
                o += 16;
            }
        } else if s == 2 {
            let w01: [__m256i; 3] = std::array::from_fn(|r| pair(w[3 * r], w[3 * r + 1]));
            let w2: [__m256i; 3] = std::array::from_fn(|r| pair(w[3 * r + 2], 0));
            // Reads up to x[2 o + 17]; rows hold 2 n + 1 values.
            while o + 9 <= n {
                let mut sum = _mm256_setzero_si256();
                for r in 0..3 {
                    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(ld(r, 2 * o), w01[r]));
                    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(ld(r, 2 * o + 2), w2[r]));
                }
                _mm256_storeu_si256(acc.as_mut_ptr().add(o) as *mut __m256i, sum);
                o += 8;
            }
        }
        let tail = rows.map(|r| r.add(o * s));
        portable::depthwise_row(tail, w, s, &mut acc[o..]);
    }
}

#[target_feature(enable = "avx2")]
unsafe fn quantize<T: QElem>(x: &[f32], scale: f32, zp: i32, out: &mut [T]) {
    unsafe { portable::quantize(x, scale, zp, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn dequantize<T: QElem>(x: &[T], scale: f32, zp: i32, out: &mut [f32]) {
    unsafe { portable::dequantize(x, scale, zp, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn add<T: QElem>(a: &[T], b: &[T], p: &AddParams, y: &mut [T]) {
    unsafe { portable::add(a, b, p, y) }
}
