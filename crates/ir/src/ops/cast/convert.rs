//! Scalar encode/decode for the dtypes stored as one encoded byte per element
//! ([`DType::is_encoded`]): the 8-bit floats (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0), the 4-bit
//! float E2M1 and the 4/2-bit integers. Codes are kept in the low bits of the byte (the ONNX
//! packing order), so an I4 of -1 is stored as 0x0F.
//!
//! Semantics follow the ONNX reference (`onnx.reference.ops.op_cast.cast_to`, which uses
//! ml_dtypes): round-to-nearest-even, `saturate` clamps out-of-range values and infinities to the
//! largest finite value of the 8-bit float types, E8M0 follows `onnx.numpy_helper.to_float8e8m0`.
//! The tests check every code and a grid of 196,608 f32 inputs against golden data generated from
//! that reference by `testdata/gen_golden.py`.

use edgeopt_tensor::DType;

/// How a small float format spends its top exponent and its negative zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Special {
    /// IEEE-like: infinities and NaNs in the top exponent (E5M2).
    Ieee,
    /// No infinities; only S.1111.111 is NaN (E4M3FN).
    Fn,
    /// No infinities and no negative zero: 0x80 is the only NaN (the FNUZ types).
    Fnuz,
    /// Neither infinities nor NaNs (F4E2M1).
    Finite,
}

#[derive(Clone, Copy, Debug)]
struct MiniFloat {
    exp_bits: u32,
    man_bits: u32,
    bias: i32,
    special: Special,
}

fn format_of(dt: DType) -> Option<MiniFloat> {
    let f = |exp_bits, man_bits, bias, special| {
        Some(MiniFloat {
            exp_bits,
            man_bits,
            bias,
            special,
        })
    };
    match dt {
        DType::F8E4M3FN => f(4, 3, 7, Special::Fn),
        DType::F8E4M3FNUZ => f(4, 3, 8, Special::Fnuz),
        DType::F8E5M2 => f(5, 2, 15, Special::Ieee),
        DType::F8E5M2FNUZ => f(5, 2, 16, Special::Fnuz),
        DType::F4E2M1 => f(2, 1, 1, Special::Finite),
        _ => None,
    }
}

/// Rounding of f32 to E8M0 (the `round_mode` attribute of Cast).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RoundMode {
    #[default]
    Up,
    Nearest,
    Down,
}

impl RoundMode {
    pub fn parse(s: &str) -> Option<RoundMode> {
        match s {
            "up" => Some(RoundMode::Up),
            "nearest" => Some(RoundMode::Nearest),
            "down" => Some(RoundMode::Down),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RoundMode::Up => "up",
            RoundMode::Nearest => "nearest",
            RoundMode::Down => "down",
        }
    }
}

impl MiniFloat {
    fn sign_shift(&self) -> u32 {
        self.exp_bits + self.man_bits
    }

    fn max_exp_field(&self) -> u32 {
        (1 << self.exp_bits) - 1
    }

    fn decode(&self, code: u8) -> f32 {
        let sign = (code >> self.sign_shift()) & 1 == 1;
        let exp = ((code >> self.man_bits) as u32) & self.max_exp_field();
        let man = (code as u32) & ((1 << self.man_bits) - 1);
        let nan = match self.special {
            Special::Ieee => exp == self.max_exp_field() && man != 0,
            Special::Fn => exp == self.max_exp_field() && man == (1 << self.man_bits) - 1,
            Special::Fnuz => sign && exp == 0 && man == 0,
            Special::Finite => false,
        };
        let mag = if nan {
            f32::NAN
        } else if self.special == Special::Ieee && exp == self.max_exp_field() {
            f32::INFINITY
        } else if exp == 0 {
            man as f32 * pow2(1 - self.bias - self.man_bits as i32)
        } else {
            (((1 << self.man_bits) + man) as f32)
                * pow2(exp as i32 - self.bias - self.man_bits as i32)
        };
        if sign {
            -mag
        } else {
            mag
        }
    }

    /// The largest finite magnitude.
    fn max_finite(&self) -> f64 {
        let (top_exp, top_man) = match self.special {
            Special::Ieee => (self.max_exp_field() - 1, (1 << self.man_bits) - 1),
            Special::Fn => (self.max_exp_field(), (1 << self.man_bits) - 2),
            Special::Fnuz | Special::Finite => (self.max_exp_field(), (1 << self.man_bits) - 1),
        };
        ((1u64 << self.man_bits) + top_man as u64) as f64
            * pow2_f64(top_exp as i32 - self.bias - self.man_bits as i32)
    }

    fn nan_code(&self, negative: bool) -> u8 {
        let s = (negative as u8) << self.sign_shift();
        match self.special {
            Special::Ieee => {
                s | (((self.max_exp_field() << self.man_bits) | (1 << (self.man_bits - 1))) as u8)
            }
            Special::Fn => s | ((1u8 << self.sign_shift()) - 1),
            Special::Fnuz => 0x80,
            // No NaN: ml_dtypes yields a zero whose sign is the opposite of the NaN's.
            Special::Finite => ((!negative) as u8) << self.sign_shift(),
        }
    }

    /// Code of `mag` (finite, >= 0, already rounded to this format and within range).
    fn code_of(&self, mag: f64) -> u8 {
        if mag == 0.0 {
            return 0;
        }
        let min_exp = 1 - self.bias;
        let e = floor_log2(mag).max(min_exp);
        let q = mag / pow2_f64(e - self.man_bits as i32);
        let r = q as u32; // exact: q is an integer below 2^(man_bits + 1)
        if r < (1 << self.man_bits) {
            r as u8 // subnormal
        } else {
            ((((e + self.bias) as u32) << self.man_bits) | (r - (1 << self.man_bits))) as u8
        }
    }

    fn encode(&self, x: f64, saturate: bool) -> u8 {
        let negative = x.is_sign_negative();
        if x.is_nan() {
            return self.nan_code(negative);
        }
        let sign = (negative as u8) << self.sign_shift();
        let max = self.max_finite();
        let overflow = || match self.special {
            _ if saturate || self.special == Special::Finite => sign | self.code_of(max),
            Special::Ieee => sign | ((self.max_exp_field() << self.man_bits) as u8),
            _ => self.nan_code(negative),
        };
        let a = x.abs();
        if a.is_infinite() || a > 2.0 * max {
            return overflow();
        }
        // Round to nearest even at the quantum of a's binade (or of the subnormal range).
        let e = floor_log2(a).max(1 - self.bias);
        let quantum = pow2_f64(e - self.man_bits as i32);
        let rounded = (a / quantum).round_ties_even() * quantum;
        if rounded > max {
            return overflow();
        }
        if rounded == 0.0 && self.special == Special::Fnuz {
            return 0;
        }
        sign | self.code_of(rounded)
    }
}

fn pow2(e: i32) -> f32 {
    pow2_f64(e) as f32
}

fn pow2_f64(e: i32) -> f64 {
    2f64.powi(e)
}

/// floor(log2(a)) for a finite a > 0 (f64 subnormals report the smallest normal exponent, which
/// is far below every format here).
fn floor_log2(a: f64) -> i32 {
    (((a.to_bits() >> 52) & 0x7FF) as i32 - 1023).max(-1022)
}

/// E8M0 code of `x`, ported from `onnx.numpy_helper.to_float8e8m0`: the f32 exponent field,
/// rounded by the discarded mantissa bits; the sign is ignored; NaN and Inf give 0xFF.
pub fn encode_e8m0(x: f32, saturate: bool, mode: RoundMode) -> u8 {
    let bits = x.to_bits();
    let exp = (bits >> 23) & 0xFF;
    if exp == 0xFF {
        return 0xFF;
    }
    let round_up = match mode {
        RoundMode::Down => false,
        RoundMode::Up => bits & 0x7F_FFFF != 0,
        RoundMode::Nearest => {
            let guard = bits & 0x40_0000 != 0;
            let rest = bits & 0x3F_FFFF != 0;
            guard && (rest || exp > 0)
        }
    };
    if round_up && !(saturate && exp == 0xFE) {
        (exp + 1) as u8
    } else {
        exp as u8
    }
}

pub fn decode_e8m0(code: u8) -> f32 {
    if code == 0xFF {
        f32::NAN
    } else {
        pow2(code as i32 - 127)
    }
}

/// Bits of a sub-byte integer type, `None` for the others.
pub fn int_bits(dt: DType) -> Option<u32> {
    match dt {
        DType::U4 | DType::I4 => Some(4),
        DType::U2 | DType::I2 => Some(2),
        _ => None,
    }
}

/// The integer value of a U4/I4/U2/I2 code (sign-extended for the signed types).
pub fn decode_int(dt: DType, code: u8) -> i64 {
    let bits = int_bits(dt).unwrap_or(8);
    let v = (code as i64) & ((1 << bits) - 1);
    if dt.is_signed_int() && v >= 1 << (bits - 1) {
        v - (1 << bits)
    } else {
        v
    }
}

/// Wraps an integer into a U4/I4/U2/I2 code (two's complement, like numpy's integer casts).
pub fn encode_int(dt: DType, v: i128) -> u8 {
    let bits = int_bits(dt).unwrap_or(8);
    (v & ((1 << bits) - 1)) as u8
}

/// A float to a U4/I4/U2/I2 code as ml_dtypes does on x86: truncate toward zero through i32, where
/// NaN and out-of-range values become i32::MIN, whose low bits are zero.
pub fn encode_int_from_float(dt: DType, x: f64) -> u8 {
    let t = x.trunc();
    if x.is_nan() || t < i32::MIN as f64 || t > i32::MAX as f64 {
        return 0;
    }
    encode_int(dt, t as i128)
}

/// Decodes any encoded dtype's code to f32 (exact for every code).
pub fn decode(dt: DType, code: u8) -> f32 {
    if let Some(f) = format_of(dt) {
        f.decode(code)
    } else if dt == DType::F8E8M0 {
        decode_e8m0(code)
    } else {
        decode_int(dt, code) as f32
    }
}

/// Encodes a float into an encoded dtype: RNE for the small floats (with `saturate` for the
/// 8-bit ones; F4E2M1 always saturates), `mode` for E8M0 (via f32, like the reference),
/// truncation for the integers.
pub fn encode(dt: DType, x: f64, saturate: bool, mode: RoundMode) -> u8 {
    if let Some(f) = format_of(dt) {
        f.encode(x, saturate)
    } else if dt == DType::F8E8M0 {
        encode_e8m0(x as f32, saturate, mode)
    } else {
        encode_int_from_float(dt, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = include_str!("testdata/golden.txt");

    fn dtype_named(name: &str) -> DType {
        DType::ALL
            .into_iter()
            .find(|d| d.name() == name)
            .expect("known dtype")
    }

    fn grid() -> impl Iterator<Item = f32> {
        (0u32..65536).flat_map(|k| [0, 1, 0xFFFF].map(|low| f32::from_bits((k << 16) | low)))
    }

    fn fnv1a64(codes: impl Iterator<Item = u8>) -> u64 {
        codes.fold(0xCBF2_9CE4_8422_2325, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
        })
    }

    #[test]
    fn decode_matches_reference_for_every_code() {
        let mut seen = 0;
        for line in GOLDEN.lines().filter(|l| l.starts_with("decode ")) {
            let mut it = line.split_whitespace().skip(1);
            let dt = dtype_named(it.next().unwrap());
            for (code, hex) in it.enumerate() {
                let want = f32::from_bits(u32::from_str_radix(hex, 16).unwrap());
                let got = decode(dt, code as u8);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{dt} code {code:#x}: got {got}, want {want}"
                );
            }
            seen += 1;
        }
        assert_eq!(seen, 10);
    }

    #[test]
    fn encode_matches_reference_on_the_bf16_grid() {
        let mut seen = 0;
        for line in GOLDEN.lines().filter(|l| l.starts_with("encode ")) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dt = dtype_named(f[1]);
            let saturate = f[2].starts_with("sat1");
            let mode = f[2]
                .split('_')
                .nth(1)
                .and_then(RoundMode::parse)
                .unwrap_or_default();
            let want = u64::from_str_radix(f[3], 16).unwrap();
            let got = fnv1a64(grid().map(|x| encode(dt, x as f64, saturate, mode)));
            assert_eq!(
                got, want,
                "{line}: hash differs (rerun gen_golden.py to compare codes)"
            );
            seen += 1;
        }
        assert_eq!(seen, 19);
    }

    #[test]
    fn spec_examples() {
        // Values from the ONNX Cast spec tables.
        assert_eq!(encode(DType::F8E4M3FN, 448.0, true, RoundMode::Up), 0x7E);
        assert_eq!(encode(DType::F8E4M3FN, 1e6, true, RoundMode::Up), 0x7E);
        assert_eq!(encode(DType::F8E4M3FN, 1e6, false, RoundMode::Up), 0x7F);
        assert_eq!(
            encode(DType::F8E4M3FN, f64::INFINITY, false, RoundMode::Up),
            0x7F
        );
        assert_eq!(
            encode(DType::F8E5M2, -f64::INFINITY, false, RoundMode::Up),
            0xFC
        );
        assert_eq!(encode(DType::F8E5M2FNUZ, -0.0, true, RoundMode::Up), 0x00);
        assert_eq!(encode(DType::F8E4M3FN, -0.0, true, RoundMode::Up), 0x80);
        assert_eq!(decode(DType::F8E4M3FN, 0x7E), 448.0);
        assert_eq!(decode(DType::F8E5M2, 0x7B), 57344.0);
        assert_eq!(decode(DType::F4E2M1, 0x7), 6.0);
        assert_eq!(encode(DType::I4, -9.0, true, RoundMode::Up), 0x7);
        assert_eq!(decode_int(DType::I4, 0xF), -1);
        assert_eq!(encode_e8m0(1.1, true, RoundMode::Up), 128);
        assert_eq!(decode_e8m0(127), 1.0);
    }
}
