//! Tensor-level conversion between any two dtypes, shared by Cast, CastLike and the
//! quantization ops. Values go through a wide intermediate (f64 for floats, i128 for integers)
//! so each source and target type is handled once instead of once per pair.
//!
//! Semantics are numpy's `astype` as the ONNX reference uses it: int -> int wraps, float -> int
//! truncates toward zero (out-of-range values saturate here; ONNX leaves them undefined),
//! anything -> bool is `!= 0`, strings follow `numstr`, and the encoded types follow `convert`.

use super::convert::{
    self, decode, decode_int, encode, encode_int, encode_int_from_float, RoundMode,
};
use super::numstr::{numpy_float_str, parse_float, parse_int, positional_bound, shortest_e};
use crate::{bail, dispatch_float, Result};
use edgeopt_tensor::{bf16, f16, DType, Elem, Numeric, Tensor};

/// The attributes that change how values convert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CastOpts {
    /// Clamp out-of-range values and infinities to the largest finite 8-bit float value.
    pub saturate: bool,
    /// Rounding toward E8M0.
    pub round_mode: RoundMode,
}

impl Default for CastOpts {
    fn default() -> Self {
        CastOpts {
            saturate: true,
            round_mode: RoundMode::Up,
        }
    }
}

enum Wide<'a> {
    F(Vec<f64>),
    I(Vec<i128>),
    B(Vec<bool>),
    S(&'a [String]),
}

fn widen(x: &Tensor) -> Result<Wide<'_>> {
    let dt = x.dtype();
    Ok(match dt {
        DType::String => Wide::S(x.as_strings()?),
        DType::Bool => Wide::B(x.to_vec::<bool>()?),
        DType::U64 => Wide::I(x.as_slice::<u64>()?.iter().map(|&v| v as i128).collect()),
        DType::F32 | DType::F64 | DType::F16 | DType::BF16 => Wide::F(x.to_f64_vec()?),
        d if convert::int_bits(d).is_some() => Wide::I(
            x.as_bytes()
                .iter()
                .map(|&c| decode_int(d, c) as i128)
                .collect(),
        ),
        d if d.is_encoded() => Wide::F(x.as_bytes().iter().map(|&c| decode(d, c) as f64).collect()),
        _ => Wide::I(x.to_i64_vec()?.into_iter().map(|v| v as i128).collect()),
    })
}

/// f64 -> f32 rounding to odd: a later RNE rounding to f16/bf16 is then correctly rounded
/// (half's own f64 conversions drop the low mantissa bits).
fn to_f32_odd(x: f64) -> f32 {
    let mut t = x as f32;
    if !x.is_finite() || t as f64 == x {
        return t;
    }
    if (t as f64).abs() > x.abs() {
        t = f32::from_bits(t.to_bits() - 1);
    }
    f32::from_bits(t.to_bits() | 1)
}

/// One conversion per kind of source value.
struct Conv<F, I, B, S> {
    f: F,
    i: I,
    b: B,
    s: S,
}

fn build<T, F, I, B, S>(w: Wide, c: Conv<F, I, B, S>) -> Result<Vec<T>>
where
    F: Fn(f64) -> T,
    I: Fn(i128) -> T,
    B: Fn(bool) -> T,
    S: Fn(&str) -> Result<T>,
{
    Ok(match w {
        Wide::F(v) => v.into_iter().map(c.f).collect(),
        Wide::I(v) => v.into_iter().map(c.i).collect(),
        Wide::B(v) => v.into_iter().map(c.b).collect(),
        Wide::S(v) => v.iter().map(|s| (c.s)(s)).collect::<Result<_>>()?,
    })
}

fn plain<T: Elem + bytemuck::NoUninit>(shape: &[usize], v: Vec<T>) -> Result<Tensor> {
    Ok(Tensor::from_vec(shape.to_vec(), v)?)
}

fn float_target<T: Numeric + bytemuck::NoUninit>(
    shape: &[usize],
    w: Wide,
    from: impl Fn(f64) -> T + Copy,
) -> Result<Tensor> {
    let c = Conv {
        f: from,
        i: move |v: i128| from(v as f64),
        b: move |b: bool| from(b as u8 as f64),
        s: move |s: &str| parse_float(s).map(from),
    };
    plain(shape, build(w, c)?)
}

macro_rules! int_target {
    ($shape:expr, $w:expr, $T:ty) => {{
        let c = Conv {
            f: |x: f64| x as $T,
            i: |v: i128| v as $T,
            b: |b: bool| b as $T,
            s: |s: &str| {
                parse_int(s, <$T>::MIN as i128, <$T>::MAX as i128, stringify!($T)).map(|v| v as $T)
            },
        };
        plain($shape, build($w, c)?)
    }};
}

fn encoded_target(shape: &[usize], w: Wide, to: DType, o: CastOpts) -> Result<Tensor> {
    let codes: Vec<u8> = if let Some(bits) = convert::int_bits(to) {
        let (lo, hi) = if to.is_signed_int() {
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        } else {
            (0, (1 << bits) - 1)
        };
        let c = Conv {
            f: |x: f64| encode_int_from_float(to, x),
            i: |v: i128| encode_int(to, v),
            b: |b: bool| b as u8,
            s: |s: &str| parse_int(s, lo, hi, to.name()).map(|v| encode_int(to, v)),
        };
        build(w, c)?
    } else {
        let enc = |x: f64| encode(to, x, o.saturate, o.round_mode);
        let c = Conv {
            f: enc,
            i: |v: i128| enc(v as f64),
            b: |b: bool| enc(b as u8 as f64),
            s: |s: &str| parse_float(s).map(enc),
        };
        build(w, c)?
    };
    Ok(Tensor::from_bytes(to, shape.to_vec(), codes.into())?)
}

/// Strings of every element, formatted as numpy's `astype(str)`.
fn to_strings(x: &Tensor) -> Result<Vec<String>> {
    let dt = x.dtype();
    let float_strs = |vals: Vec<f64>, back: &dyn Fn(f64) -> f64, bound: f64| -> Vec<String> {
        vals.into_iter()
            .map(|v| numpy_float_str(v, &shortest_e(v, back), bound))
            .collect()
    };
    Ok(match dt {
        DType::String => x.as_strings()?.to_vec(),
        DType::Bool => x
            .as_slice::<bool>()?
            .iter()
            .map(|&b| if b { "True" } else { "False" }.to_string())
            .collect(),
        DType::F32 => x
            .as_slice::<f32>()?
            .iter()
            .map(|&v| numpy_float_str(v as f64, &format!("{v:e}"), 1e6))
            .collect(),
        DType::F64 => x
            .as_slice::<f64>()?
            .iter()
            .map(|&v| numpy_float_str(v, &format!("{v:e}"), 1e16))
            .collect(),
        DType::F16 => float_strs(
            x.to_f64_vec()?,
            &|y| f16::from_f32(to_f32_odd(y)).to_f64(),
            positional_bound(16),
        ),
        DType::BF16 => float_strs(
            x.to_f64_vec()?,
            &|y| bf16::from_f32(to_f32_odd(y)).to_f64(),
            positional_bound(32),
        ),
        d if convert::int_bits(d).is_some() => x
            .as_bytes()
            .iter()
            .map(|&c| decode_int(d, c).to_string())
            .collect(),
        // numpy cannot print these; their exact values read best as float32.
        d if d.is_encoded() => x
            .as_bytes()
            .iter()
            .map(|&c| decode(d, c))
            .map(|v| numpy_float_str(v as f64, &format!("{v:e}"), 1e6))
            .collect(),
        DType::U64 => x.as_slice::<u64>()?.iter().map(|v| v.to_string()).collect(),
        _ => x.to_i64_vec()?.iter().map(|v| v.to_string()).collect(),
    })
}

/// Converts `x` to dtype `to`.
pub fn cast_tensor(x: &Tensor, to: DType, o: CastOpts) -> Result<Tensor> {
    if x.dtype() == to {
        return Ok(x.clone());
    }
    let shape = x.shape();
    if to == DType::String {
        return Ok(Tensor::from_strings(shape.to_vec(), to_strings(x)?)?);
    }
    let w = widen(x)?;
    match to {
        DType::Bool => {
            let c = Conv {
                f: |x: f64| x != 0.0,
                i: |v: i128| v != 0,
                b: |b: bool| b,
                s: |s: &str| Ok(!s.is_empty()),
            };
            plain(shape, build(w, c)?)
        }
        DType::F32 => float_target::<f32>(shape, w, |x| x as f32),
        DType::F64 => float_target::<f64>(shape, w, |x| x),
        DType::F16 => float_target::<f16>(shape, w, |x| f16::from_f32(to_f32_odd(x))),
        DType::BF16 => float_target::<bf16>(shape, w, |x| bf16::from_f32(to_f32_odd(x))),
        DType::I8 => int_target!(shape, w, i8),
        DType::U8 => int_target!(shape, w, u8),
        DType::I16 => int_target!(shape, w, i16),
        DType::U16 => int_target!(shape, w, u16),
        DType::I32 => int_target!(shape, w, i32),
        DType::U32 => int_target!(shape, w, u32),
        DType::I64 => int_target!(shape, w, i64),
        DType::U64 => int_target!(shape, w, u64),
        d if d.is_encoded() => encoded_target(shape, w, d, o),
        d => bail!("Cast: cannot convert to {d}"),
    }
}

/// The elements of a float-valued tensor of any float or encoded dtype as f32 (for kernels that
/// compute in f32, e.g. dequantization).
pub fn to_f32_vec(x: &Tensor) -> Result<Vec<f32>> {
    match x.dtype() {
        DType::F32 => Ok(x.to_vec::<f32>()?),
        d if d.is_encoded() && convert::int_bits(d).is_none() => {
            Ok(x.as_bytes().iter().map(|&c| decode(d, c)).collect())
        }
        d if d.is_float() => {
            dispatch_float!(d, T => Ok(x.as_slice::<T>()?.iter().map(|v| v.as_f64() as f32).collect()))
        }
        d => bail!("expected a float tensor, got {d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast(x: &Tensor, to: DType) -> Tensor {
        cast_tensor(x, to, CastOpts::default()).unwrap()
    }

    #[test]
    fn ints_wrap_and_floats_truncate() {
        // numpy: np.array([300, -1], np.int32).astype(np.uint8) == [44, 255]
        let y = cast(&Tensor::vec1(vec![300i32, -1]), DType::U8);
        assert_eq!(y.as_slice::<u8>().unwrap(), &[44, 255]);
        let y = cast(&Tensor::vec1(vec![2.7f32, -2.7]), DType::I32);
        assert_eq!(y.as_slice::<i32>().unwrap(), &[2, -2]);
        let y = cast(&Tensor::vec1(vec![u64::MAX]), DType::F64);
        assert_eq!(y.as_slice::<f64>().unwrap(), &[18446744073709551615.0]);
    }

    #[test]
    fn f64_to_f16_is_correctly_rounded() {
        // 1 + 2^-11 + 2^-40 is just above the f16 midpoint between 1 and 1 + 2^-10.
        let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        let y = cast(&Tensor::vec1(vec![x]), DType::F16);
        assert_eq!(
            y.as_slice::<f16>().unwrap()[0].to_f64(),
            1.0 + 2f64.powi(-10)
        );
    }

    #[test]
    fn bool_and_strings() {
        let y = cast(&Tensor::vec1(vec![0.0f32, f32::NAN, -2.0]), DType::Bool);
        assert_eq!(y.as_slice::<bool>().unwrap(), &[false, true, true]);
        let s = Tensor::vec1(vec![true, false]);
        assert_eq!(
            cast(&s, DType::String).as_strings().unwrap(),
            &["True", "False"]
        );
        let s =
            Tensor::from_strings(vec![3], vec!["1.5".into(), " -2 ".into(), "INF".into()]).unwrap();
        let y = cast(&s, DType::F32);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.5, -2.0, f32::INFINITY]);
        let s = Tensor::from_strings(vec![2], vec!["12".into(), "".into()]).unwrap();
        assert_eq!(
            cast(&s, DType::Bool).as_slice::<bool>().unwrap(),
            &[true, false]
        );
        assert!(cast_tensor(&s, DType::I8, CastOpts::default()).is_err());
        let y = cast(&Tensor::vec1(vec![0.1f32, 1e-7]), DType::String);
        assert_eq!(y.as_strings().unwrap(), &["0.1", "1e-07"]);
    }

    #[test]
    fn encoded_round_trips() {
        // From test_cast_FLOAT_to_INT4: -9 wraps to 7, 8 to -8.
        let y = cast(&Tensor::vec1(vec![-9f32, 8.0, 3.0]), DType::I4);
        assert_eq!(y.as_bytes(), &[0x7, 0x8, 0x3]);
        assert_eq!(cast(&y, DType::I8).as_slice::<i8>().unwrap(), &[7, -8, 3]);
        let y = cast(&Tensor::vec1(vec![1000000f32, 0.47892547]), DType::F8E4M3FN);
        assert_eq!(y.as_bytes(), &[0x7E, 0x2F]);
        assert_eq!(
            cast(&y, DType::F32).as_slice::<f32>().unwrap(),
            &[448.0, 0.46875]
        );
        let y = cast(&y, DType::String);
        assert_eq!(y.as_strings().unwrap(), &["448.0", "0.46875"]);
    }
}
