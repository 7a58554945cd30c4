//! AVX512-VNNI int8 kernels: `vpdpbusd` multiplies four u8 activations by four s8 weights and
//! adds the sum to an i32 lane, without the i16 saturation of `vpmaddubsw` and without widening:
//! 64 multiply-adds per 512-bit instruction (4x the AVX2 `vpmaddwd` scheme's 16). Two tables:
//! `x86_64_vnni512` (zmm, needs AVX-512F/BW + VNNI) and `x86_64_vnni256` (the same code on ymm
//! through AVX-512VL, for CPUs that clock down on zmm). Both start from the AVX2 table (its
//! depthwise and quantize kernels) and add the quads-layout GEMM, GEMV and a 512-bit
//! requantizing store.

use std::arch::x86_64::*;

use super::super::requant::RowParams;
use super::super::Int8Kernels;
use super::{portable, portable_dot, x86_64_avx2, x86_64_avx512_elementwise, DotKernels};

/// Rows of the micro-kernel tile (weight rows: one broadcast each per quad).
const MR: usize = 8;
/// Columns of the zmm and ymm tiles (two vectors of 16 or 8 lanes).
const NR_ZMM: usize = 32;
const NR_YMM: usize = 16;

/// Installs the VNNI kernels (zmm if `wide`) on top of an AVX2 table; says whether the CPU
/// has the features.
pub(crate) fn plug(table: &mut Int8Kernels, wide: bool) -> bool {
    let base = is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512vnni");
    if !base {
        return false;
    }
    table.mr = MR;
    table.store.u8 = store_u8;
    table.store.i8 = store_i8;
    table.depthwise_row = depthwise_row;
    table.widen_row = x86_64_avx512_elementwise::widen_row;
    table.quant.add_u8 = x86_64_avx512_elementwise::add_u8;
    table.quant.quantize_u8 = x86_64_avx512_elementwise::quantize_u8;
    table.quant.quantize_i8 = x86_64_avx512_elementwise::quantize_i8;
    table.quant.add_i8 = x86_64_avx512_elementwise::add_i8;
    if wide {
        table.name = "x86_64_vnni512";
        table.nr = NR_ZMM;
        table.dot = Some(DotKernels {
            tile: tile_zmm,
            tile_u8: Some(tile_zmm_u8),
            pack: pack_zmm,
            pack_rows: pack_rows_zmm,
            gemv,
        });
    } else {
        table.name = "x86_64_vnni256";
        table.nr = NR_YMM;
        table.dot = Some(DotKernels {
            tile: tile_ymm,
            tile_u8: None,
            pack: pack_ymm,
            pack_rows: pack_rows_ymm,
            gemv,
        });
    }
    true
}

// Safety of everything below: the contracts of `arch/mod.rs`; `plug` installs these only when
// AVX-512F/BW/VL and VNNI were detected.

/// The 8x32 accumulators of one zmm tile.
// Index loops over the register arrays read as the math.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn acc_zmm(kq: usize, a: *const i8, b: *const u8) -> [[__m512i; 2]; MR] {
    unsafe {
        let mut acc = [[_mm512_setzero_si512(); 2]; MR];
        for q in 0..kq {
            let bp = b.add(q * 4 * NR_ZMM);
            let b0 = _mm512_loadu_si512(bp as *const _);
            let b1 = _mm512_loadu_si512(bp.add(64) as *const _);
            let ap = a.add(q * 4 * MR) as *const i32;
            for i in 0..MR {
                let w = _mm512_set1_epi32(ap.add(i).read_unaligned());
                acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], b0, w);
                acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], b1, w);
            }
        }
        acc
    }
}

#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_zmm(kq: usize, a: *const i8, b: *const u8, c: *mut i32) {
    unsafe {
        let acc = acc_zmm(kq, a, b);
        for i in 0..MR {
            let ci = c.add(i * NR_ZMM);
            _mm512_storeu_si512(ci as *mut _, acc[i][0]);
            _mm512_storeu_si512(ci.add(16) as *mut _, acc[i][1]);
        }
    }
}

/// `tile_zmm` and `store_u8` of its rows in one: the accumulators never leave the registers.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_zmm_u8(
    kq: usize,
    a: *const i8,
    b: *const u8,
    rows: *const RowParams,
    nrows: usize,
    dst: *mut u8,
    rs: usize,
    width: usize,
) {
    unsafe {
        let acc = acc_zmm(kq, a, b);
        let (k0, k1) = (mask16(width), mask16(width.saturating_sub(16)));
        for (i, v) in acc.iter().enumerate().take(nrows.min(MR)) {
            let (p, d) = (&*rows.add(i), dst.add(i * rs));
            _mm512_mask_cvtusepi32_storeu_epi8(d as *mut _, k0, requant16(v[0], p));
            if width > 16 {
                _mm512_mask_cvtusepi32_storeu_epi8(d.add(16) as *mut _, k1, requant16(v[1], p));
            }
        }
    }
}

#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
unsafe fn tile_ymm(kq: usize, a: *const i8, b: *const u8, c: *mut i32) {
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        for q in 0..kq {
            let bp = b.add(q * 4 * NR_YMM);
            let b0 = _mm256_loadu_si256(bp as *const __m256i);
            let b1 = _mm256_loadu_si256(bp.add(32) as *const __m256i);
            let ap = a.add(q * 4 * MR) as *const i32;
            for i in 0..MR {
                let w = _mm256_set1_epi32(ap.add(i).read_unaligned());
                acc[i][0] = _mm256_dpbusd_epi32(acc[i][0], b0, w);
                acc[i][1] = _mm256_dpbusd_epi32(acc[i][1], b1, w);
            }
        }
        for i in 0..MR {
            let ci = c.add(i * NR_YMM) as *mut __m256i;
            _mm256_storeu_si256(ci, acc[i][0]);
            _mm256_storeu_si256(ci.add(1), acc[i][1]);
        }
    }
}

/// Packs one quad of 16 contiguous columns: rows `r0..r3` (16 bytes each, XORed with `flip`)
/// interleaved into 16 runs of 4 bytes.
#[target_feature(enable = "avx2")]
unsafe fn quad16(rows: [__m128i; 4], flip: __m128i, dst: *mut u8) {
    unsafe {
        let [r0, r1, r2, r3] = rows.map(|r| _mm_xor_si128(r, flip));
        let (a, b) = (_mm_unpacklo_epi8(r0, r1), _mm_unpackhi_epi8(r0, r1));
        let (c, d) = (_mm_unpacklo_epi8(r2, r3), _mm_unpackhi_epi8(r2, r3));
        let out = dst as *mut __m128i;
        _mm_storeu_si128(out, _mm_unpacklo_epi16(a, c));
        _mm_storeu_si128(out.add(1), _mm_unpackhi_epi16(a, c));
        _mm_storeu_si128(out.add(2), _mm_unpacklo_epi16(b, d));
        _mm_storeu_si128(out.add(3), _mm_unpackhi_epi16(b, d));
    }
}

/// Contiguous full panels go through [`quad16`]; anything else through the portable packer.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pack_fast<const NR: usize>(
    src: *const u8,
    rs: usize,
    cs: usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    if cs != 1 || cols != NR || nr != NR {
        return unsafe { portable_dot::pack(src, rs, cs, k, cols, flip, dst, nr) };
    }
    unsafe {
        let f = _mm_set1_epi8(flip as i8);
        // Padding rows past k are zero after the XOR.
        let row = |p: usize, h: usize| {
            if p < k {
                _mm_loadu_si128(src.add(p * rs + 16 * h) as *const __m128i)
            } else {
                f
            }
        };
        for q in 0..k.div_ceil(4) {
            for h in 0..NR / 16 {
                let rows = std::array::from_fn(|t| row(4 * q + t, h));
                quad16(rows, f, dst.add(q * 4 * NR + 64 * h));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn pack_zmm(
    src: *const u8,
    rs: usize,
    cs: usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    unsafe { pack_fast::<NR_ZMM>(src, rs, cs, k, cols, flip, dst, nr) }
}

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn pack_ymm(
    src: *const u8,
    rs: usize,
    cs: usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    unsafe { pack_fast::<NR_YMM>(src, rs, cs, k, cols, flip, dst, nr) }
}

/// Full panels from row pointers go through [`quad16`]; partial ones through the portable
/// packer.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pack_rows_fast<const NR: usize>(
    base: *const u8,
    offs: *const usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    if cols != NR || nr != NR {
        return unsafe { portable_dot::pack_rows(base, offs, k, cols, flip, dst, nr) };
    }
    unsafe {
        let f = _mm_set1_epi8(flip as i8);
        let row = |p: usize, h: usize| {
            if p < k {
                _mm_loadu_si128(base.add(*offs.add(p) + 16 * h) as *const __m128i)
            } else {
                f
            }
        };
        for q in 0..k.div_ceil(4) {
            for h in 0..NR / 16 {
                let rows = std::array::from_fn(|t| row(4 * q + t, h));
                quad16(rows, f, dst.add(q * 4 * NR + 64 * h));
            }
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn pack_rows_zmm(
    base: *const u8,
    offs: *const usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    unsafe { pack_rows_fast::<NR_ZMM>(base, offs, k, cols, flip, dst, nr) }
}

#[target_feature(enable = "avx2")]
unsafe fn pack_rows_ymm(
    base: *const u8,
    offs: *const usize,
    k: usize,
    cols: usize,
    flip: u8,
    dst: *mut u8,
    nr: usize,
) {
    unsafe { pack_rows_fast::<NR_YMM>(base, offs, k, cols, flip, dst, nr) }
}

/// Matrix-vector product over one panel of 8 rows: one ymm `vpdpbusd` per quad (the panel's 8
/// rows x 4 depths are 32 contiguous bytes), four accumulators to cover the latency.
#[target_feature(enable = "avx512f,avx512vl,avx512vnni")]
unsafe fn gemv(kq: usize, a: *const i8, x: *const u8, out: *mut i32) {
    unsafe {
        let mut acc = [_mm256_setzero_si256(); 4];
        let xq = x as *const i32;
        let mut q = 0;
        while q + 4 <= kq {
            for (u, s) in acc.iter_mut().enumerate() {
                let xv = _mm256_set1_epi32(xq.add(q + u).read_unaligned());
                let w = _mm256_loadu_si256(a.add((q + u) * 4 * MR) as *const __m256i);
                *s = _mm256_dpbusd_epi32(*s, xv, w);
            }
            q += 4;
        }
        while q < kq {
            let xv = _mm256_set1_epi32(xq.add(q).read_unaligned());
            let w = _mm256_loadu_si256(a.add(q * 4 * MR) as *const __m256i);
            acc[0] = _mm256_dpbusd_epi32(acc[0], xv, w);
            q += 1;
        }
        let s = _mm256_add_epi32(
            _mm256_add_epi32(acc[0], acc[1]),
            _mm256_add_epi32(acc[2], acc[3]),
        );
        _mm256_storeu_si256(out as *mut __m256i, s);
    }
}

/// Requantizes 16 accumulators: the operations of `requant_one` (`vcvtdq2ps` rounds to nearest
/// even like `as f32`). The clamp comes before the rounding conversion here: the bounds are
/// integers, so clamping then rounding equals rounding then clamping, and `max` first turns a
/// NaN into `lo` as `f32::max` does.
#[target_feature(enable = "avx512f")]
unsafe fn requant16(acc: __m512i, p: &RowParams) -> __m512i {
    let a = _mm512_add_epi32(acc, _mm512_set1_epi32(p.bias));
    let f = _mm512_mul_ps(_mm512_cvtepi32_ps(a), _mm512_set1_ps(p.scale));
    let r = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(p.lo)), _mm512_set1_ps(p.hi));
    let r = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(r);
    _mm512_add_epi32(r, _mm512_set1_epi32(p.zp))
}

/// Lanes `0..n` set (n <= 16).
pub(super) fn mask16(n: usize) -> __mmask16 {
    if n >= 16 {
        0xffff
    } else {
        (1u16 << n) - 1
    }
}

macro_rules! store_8bit {
    ($name:ident, $t:ty, $narrow:ident) => {
        /// Requantized row, 16 lanes at a time with a masked tail.
        #[target_feature(enable = "avx512f")]
        unsafe fn $name(acc: &[i32], p: &RowParams, dst: *mut $t, cs: usize) {
            if cs != 1 {
                return unsafe { portable::store_q(acc, p, dst, cs) };
            }
            let n = acc.len();
            let mut j = 0;
            while j < n {
                let k = mask16(n - j);
                // SAFETY: lanes outside the mask are neither read nor written.
                unsafe {
                    let a = _mm512_maskz_loadu_epi32(k, acc.as_ptr().add(j));
                    // Values are inside the type's range: the saturating narrowing only narrows.
                    $narrow(dst.add(j) as *mut _, k, requant16(a, p));
                }
                j += 16;
            }
        }
    };
}

store_8bit!(store_u8, u8, _mm512_mask_cvtusepi32_storeu_epi8);
store_8bit!(store_i8, i8, _mm512_mask_cvtsepi32_storeu_epi8);

/// A broadcast pair of i16 weights `(w0, w1)` for `vpmaddwd`.
#[target_feature(enable = "avx512f")]
unsafe fn pair(w0: i32, w1: i32) -> __m512i {
    _mm512_set1_epi32((w0 as u16 as u32 | (w1 as u16 as u32) << 16) as i32)
}

/// Depthwise row, the AVX2 scheme (see `x86_64_avx2::depthwise_row`) on 512-bit registers:
/// 32 outputs per step at stride 1 (the 128-bit-lane interleave undone by one two-source
/// permute per 16 outputs), 16 at stride 2; the rest goes to the AVX2 kernel.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx512f,avx512bw,avx2")]
unsafe fn depthwise_row(rows: [*const i16; 3], w: &[i32; 9], s: usize, acc: &mut [i32]) {
    let n = acc.len();
    let mut o = 0;
    unsafe {
        let ld = |r: usize, off: usize| _mm512_loadu_si512(rows[r].add(off) as *const _);
        let w01: [__m512i; 3] = std::array::from_fn(|r| pair(w[3 * r], w[3 * r + 1]));
        if s == 1 {
            let (w2a, w2b) = (pair(w[2], w[5]), pair(w[8], 0));
            let z = _mm512_setzero_si512();
            let first = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
            let second = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
            // Reads up to x[o + 33]; rows hold n + 2 values.
            while o + 32 <= n {
                let (mut lo, mut hi) = (z, z);
                for r in 0..3 {
                    let (v0, v1) = (ld(r, o), ld(r, o + 1));
                    let l = _mm512_madd_epi16(_mm512_unpacklo_epi16(v0, v1), w01[r]);
                    let h = _mm512_madd_epi16(_mm512_unpackhi_epi16(v0, v1), w01[r]);
                    lo = _mm512_add_epi32(lo, l);
                    hi = _mm512_add_epi32(hi, h);
                }
                let (a, b, c) = (ld(0, o + 2), ld(1, o + 2), ld(2, o + 2));
                lo = _mm512_add_epi32(lo, _mm512_madd_epi16(_mm512_unpacklo_epi16(a, b), w2a));
                hi = _mm512_add_epi32(hi, _mm512_madd_epi16(_mm512_unpackhi_epi16(a, b), w2a));
                lo = _mm512_add_epi32(lo, _mm512_madd_epi16(_mm512_unpacklo_epi16(c, z), w2b));
                hi = _mm512_add_epi32(hi, _mm512_madd_epi16(_mm512_unpackhi_epi16(c, z), w2b));
                let out = acc.as_mut_ptr().add(o);
                _mm512_storeu_si512(out as *mut _, _mm512_permutex2var_epi64(lo, first, hi));
                _mm512_storeu_si512(
                    out.add(16) as *mut _,
                    _mm512_permutex2var_epi64(lo, second, hi),
                );
                o += 32;
            }
        } else if s == 2 {
            let w2: [__m512i; 3] = std::array::from_fn(|r| pair(w[3 * r + 2], 0));
            // Reads up to x[2 o + 33]; rows hold 2 n + 1 values.
            while o + 17 <= n {
                let mut sum = _mm512_setzero_si512();
                for r in 0..3 {
                    sum = _mm512_add_epi32(sum, _mm512_madd_epi16(ld(r, 2 * o), w01[r]));
                    sum = _mm512_add_epi32(sum, _mm512_madd_epi16(ld(r, 2 * o + 2), w2[r]));
                }
                _mm512_storeu_si512(acc.as_mut_ptr().add(o) as *mut _, sum);
                o += 16;
            }
        }
        let tail = rows.map(|r| r.add(o * s));
        x86_64_avx2::depthwise_row(tail, w, s, &mut acc[o..]);
    }
}
