//! AVX2 int8 kernels, installed when the CPU reports AVX2.
//!
//! The micro-kernel is 6x16 like the fp32 one: 12 i32 accumulators, 2 registers for a pair-row
//! of the activation panel and 1 broadcast weight pair; each `vpmaddwd` does 16 exact
//! multiply-adds (i16 x i16 pairs summed into i32). The other kernels are the portable bodies
//! compiled for AVX2, which the compiler vectorizes to 256 bits.

use std::arch::x86_64::*;

use super::super::requant::RowParams;
use super::super::{Int8Kernels, QElem};
use super::{portable, QuantKernels, StoreKernels};

const MR: usize = 6;
const NR: usize = 16;

pub(crate) fn plug(table: &mut Int8Kernels) {
    if !is_x86_feature_detected!("avx2") {
        return;
    }
    table.name = "x86_64_avx2";
    table.mr = MR;
    table.nr = NR;
    table.tile = tile;
    table.pack_u8 = pack_u8;
    table.pack_i8 = pack_i8;
    table.store = StoreKernels {
        u8: store_q::<u8>,
        i8: store_q::<i8>,
        i32: store_i32,
        f32: store_f32,
    };
    table.depthwise_row = depthwise_row;
    table.quant = QuantKernels {
        quantize_u8: quantize::<u8>,
        quantize_i8: quantize::<i8>,
        dequantize_u8: dequantize::<u8>,
        dequantize_i8: dequantize::<i8>,
    };
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

#[target_feature(enable = "avx2")]
unsafe fn store_q<T: QElem>(acc: &[i32], p: &RowParams, dst: *mut T, cs: usize) {
    unsafe { portable::store_q(acc, p, dst, cs) }
}

#[target_feature(enable = "avx2")]
unsafe fn store_i32(acc: &[i32], p: &RowParams, dst: *mut i32, cs: usize) {
    unsafe { portable::store_i32(acc, p, dst, cs) }
}

#[target_feature(enable = "avx2")]
unsafe fn store_f32(acc: &[i32], p: &RowParams, dst: *mut f32, cs: usize) {
    unsafe { portable::store_f32(acc, p, dst, cs) }
}

#[target_feature(enable = "avx2")]
unsafe fn depthwise_row(rows: [*const i16; 3], w: &[i32; 9], s: usize, acc: &mut [i32]) {
    unsafe { portable::depthwise_row(rows, w, s, acc) }
}

#[target_feature(enable = "avx2")]
unsafe fn quantize<T: QElem>(x: &[f32], scale: f32, zp: i32, out: &mut [T]) {
    unsafe { portable::quantize(x, scale, zp, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn dequantize<T: QElem>(x: &[T], scale: f32, zp: i32, out: &mut [f32]) {
    unsafe { portable::dequantize(x, scale, zp, out) }
}
