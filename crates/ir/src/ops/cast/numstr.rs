//! Numbers to and from strings the way the ONNX reference does it: numpy's `astype(str)` for
//! numbers (shortest round-trip digits, positional between 1e-4 and a per-type bound, otherwise
//! `1e-05`-style scientific), and Python's `float()` / `int()` parsing for strings.

use crate::{bail, Result};

/// numpy prints floats positionally when `1e-4 <= |x| < bound` (numpy 2.x `astype(str)`):
/// 1e3 for float16, 1e6 for float32, 1e16 for float64.
pub fn positional_bound(bits: u32) -> f64 {
    match bits {
        16 => 1e3,
        64 => 1e16,
        _ => 1e6,
    }
}

/// Formats `x` numpy-style, given its shortest round-trip digits in Rust's `{:e}` form
/// (`1.2345679e8`, `-1e-5`, `0e0`).
pub fn numpy_float_str(x: f64, shortest_e: &str, bound: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let (neg, body) = match shortest_e.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, shortest_e),
    };
    let (mant, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    let a = x.abs();
    if a == 0.0 || (1e-4..bound).contains(&a) {
        format!("{sign}{}", positional(&digits, exp))
    } else {
        let frac = if digits.len() > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{frac}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

/// `d1.d2d3... x 10^exp` written positionally with at least one fractional digit.
fn positional(digits: &str, exp: i32) -> String {
    if exp < 0 {
        return format!("0.{}{digits}", "0".repeat((-exp - 1) as usize));
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
    } else {
        format!("{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// Shortest digits of a value of a narrow float type (`{:e}` form): the fewest significant
/// digits whose correctly rounded decimal converts back to the same value through `back`.
pub fn shortest_e(x: f64, back: impl Fn(f64) -> f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x:e}");
    }
    for p in 0..17 {
        let s = format!("{x:.p$e}");
        if s.parse::<f64>().map(&back).ok() == Some(x) {
            return s;
        }
    }
    format!("{x:e}")
}

/// Python's relaxed number syntax: surrounding whitespace and digit-group underscores.
fn clean(s: &str) -> String {
    s.trim().replace('_', "")
}

/// Parses like Python's `float()` (accepts `inf`, `-Infinity`, `NaN`, ` 1e3 `).
pub fn parse_float(s: &str) -> Result<f64> {
    match clean(s).parse::<f64>() {
        Ok(v) => Ok(v),
        Err(_) => bail!("Cast: could not convert string to float: '{s}'"),
    }
}

/// Parses like Python's `int()` and checks the range `lo..=hi` of the target type.
pub fn parse_int(s: &str, lo: i128, hi: i128, target: &str) -> Result<i128> {
    let v = match clean(s).parse::<i128>() {
        Ok(v) => v,
        Err(_) => bail!("Cast: invalid literal for an integer: '{s}'"),
    };
    if v < lo || v > hi {
        bail!("Cast: integer {v} from string '{s}' is out of range for {target}");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_str(v: f32) -> String {
        numpy_float_str(v as f64, &format!("{v:e}"), positional_bound(32))
    }

    #[test]
    fn float32_like_numpy() {
        // Expected strings from numpy 2.4: np.array([...], np.float32).astype(str).
        let cases = [
            (1e-5f32, "1e-05"),
            (1e16, "1e+16"),
            (123456789.0, "1.2345679e+08"),
            (0.0001, "1e-04"),
            (1e-7, "1e-07"),
            (1.5e20, "1.5e+20"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (f32::NAN, "nan"),
            (f32::NEG_INFINITY, "-inf"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.00012345, "0.00012345"),
            (3.4028235e38, "3.4028235e+38"),
            (1e-45, "1e-45"),
            (123456.7, "123456.7"),
            (1234567.0, "1.234567e+06"),
            (1234.5678, "1234.5677"),
        ];
        for (v, want) in cases {
            assert_eq!(f32_str(v), want, "{v}");
        }
    }

    #[test]
    fn float64_and_float16_bounds() {
        let f64_str = |v: f64| numpy_float_str(v, &format!("{v:e}"), positional_bound(64));
        assert_eq!(f64_str(9998999545184256.0), "9998999545184256.0");
        assert_eq!(f64_str(1e16), "1e+16");
        assert_eq!(f64_str(0.10000000149011612), "0.10000000149011612");
        let h = |v: f64| {
            let x = half::f16::from_f64(v).to_f64();
            numpy_float_str(
                x,
                &shortest_e(x, |y| half::f16::from_f64(y).to_f64()),
                positional_bound(16),
            )
        };
        // numpy: np.array([...], np.float16).astype(str)
        assert_eq!(h(0.1), "0.1");
        assert_eq!(h(4096.5), "4.096e+03");
        assert_eq!(h(65504.0), "6.55e+04");
        assert_eq!(h(0.00012345), "0.0001235");
        assert_eq!(h(100.0), "100.0");
    }

    #[test]
    fn parsing_like_python() {
        assert_eq!(parse_float(" 2 ").unwrap(), 2.0);
        assert!(parse_float("INF").unwrap().is_infinite());
        assert!(parse_float("-Infinity").unwrap() < 0.0);
        assert!(parse_float("NaN").unwrap().is_nan());
        assert_eq!(parse_float("1_0").unwrap(), 10.0);
        assert!(parse_float("abc").is_err());
        assert_eq!(parse_int("+4", -128, 127, "i8").unwrap(), 4);
        assert!(parse_int("300", -128, 127, "i8").is_err());
        assert!(parse_int("1.5", -128, 127, "i8").is_err());
    }
}
