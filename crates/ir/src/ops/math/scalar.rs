//! Per-dtype scalar semantics shared by the element-wise math ops: integers wrap, integer
//! division and remainder by zero give 0, floats follow IEEE, half types compute in f32.

use edgeopt_tensor::{bf16, f16, Numeric};

/// Scalar arithmetic with ONNX semantics: integers wrap, integer division or remainder by zero
/// gives 0 (the spec leaves it undefined), floats follow IEEE and propagate NaN through max/min.
pub trait Scalar: Numeric + bytemuck::NoUninit {
    const IS_FLOAT: bool;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Integer division truncates toward zero (C semantics).
    fn div(self, o: Self) -> Self;
    /// Remainder with the dividend's sign (C `fmod`).
    fn fmod(self, o: Self) -> Self;
    /// Remainder with the divisor's sign (Python/numpy `%`).
    fn pymod(self, o: Self) -> Self;
    fn max_nan(self, o: Self) -> Self;
    fn min_nan(self, o: Self) -> Self;
    fn is_nan(self) -> bool;
    /// Two's-complement view used by integer accumulators (einsum, integer pow).
    fn to_i64_wrapping(self) -> i64;
    fn from_i64_wrapping(v: i64) -> Self;
}

macro_rules! int_scalar {
    ($signed:expr; $($t:ty),*) => { $(impl Scalar for $t {
        const IS_FLOAT: bool = false;
        fn add(self, o: Self) -> Self { self.wrapping_add(o) }
        fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
        fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
        fn div(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
        fn fmod(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_rem(o) } }
        fn pymod(self, o: Self) -> Self {
            if o == 0 {
                return 0;
            }
            let r = self.wrapping_rem(o);
            let zero: Self = 0;
            if $signed && r != 0 && ((r < zero) != (o < zero)) { r.wrapping_add(o) } else { r }
        }
        fn max_nan(self, o: Self) -> Self { Ord::max(self, o) }
        fn min_nan(self, o: Self) -> Self { Ord::min(self, o) }
        fn is_nan(self) -> bool { false }
        fn to_i64_wrapping(self) -> i64 { self as i64 }
        fn from_i64_wrapping(v: i64) -> Self { v as $t }
    })* };
}
int_scalar!(true; i8, i16, i32, i64);
int_scalar!(false; u8, u16, u32, u64);

/// numpy's float `%`: fmod, moved into the divisor's sign; exact zeros take the divisor's sign.
fn pymod_f64(a: f64, b: f64) -> f64 {
    let m = a % b;
    if b == 0.0 || m.is_nan() {
        m
    } else if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m + b
        } else {
            m
        }
    } else {
        0f64.copysign(b)
    }
}

macro_rules! float_scalar {
    ($($t:ty),*) => { $(impl Scalar for $t {
        const IS_FLOAT: bool = true;
        fn add(self, o: Self) -> Self { self + o }
        fn sub(self, o: Self) -> Self { self - o }
        fn mul(self, o: Self) -> Self { self * o }
        fn div(self, o: Self) -> Self { self / o }
        fn fmod(self, o: Self) -> Self { self % o }
        fn pymod(self, o: Self) -> Self { pymod_f64(self as f64, o as f64) as $t }
        fn max_nan(self, o: Self) -> Self {
            if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.max(o) }
        }
        fn min_nan(self, o: Self) -> Self {
            if self.is_nan() || o.is_nan() { <$t>::NAN } else { self.min(o) }
        }
        fn is_nan(self) -> bool { <$t>::is_nan(self) }
        fn to_i64_wrapping(self) -> i64 { self as i64 }
        fn from_i64_wrapping(v: i64) -> Self { v as $t }
    })* };
}
float_scalar!(f32, f64);

// Half types compute in f32 and round once, as numpy does for float16.
macro_rules! half_scalar {
    ($($t:ty),*) => { $(impl Scalar for $t {
        const IS_FLOAT: bool = true;
        fn add(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() + o.to_f32()) }
        fn sub(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() - o.to_f32()) }
        fn mul(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() * o.to_f32()) }
        fn div(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() / o.to_f32()) }
        fn fmod(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() % o.to_f32()) }
        fn pymod(self, o: Self) -> Self { <$t>::from_f64(pymod_f64(self.to_f64(), o.to_f64())) }
        fn max_nan(self, o: Self) -> Self { <$t>::from_f32(self.to_f32().max_nan(o.to_f32())) }
        fn min_nan(self, o: Self) -> Self { <$t>::from_f32(self.to_f32().min_nan(o.to_f32())) }
        fn is_nan(self) -> bool { <$t>::is_nan(self) }
        fn to_i64_wrapping(self) -> i64 { self.to_f32() as i64 }
        fn from_i64_wrapping(v: i64) -> Self { <$t>::from_f64(v as f64) }
    })* };
}
half_scalar!(f16, bf16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_semantics() {
        assert_eq!((-7i32).pymod(3), 2);
        assert_eq!(7i32.pymod(-3), -2);
        assert_eq!((-7i32).fmod(3), -1);
        assert_eq!(5i8.div(0), 0);
        assert_eq!(i32::MIN.div(-1), i32::MIN);
        assert_eq!((-3i32).div(2), -1);
        assert_eq!(200u8.add(100), 44);
    }

    #[test]
    fn float_mod_matches_numpy() {
        // np.mod edge cases (test_mod_float_edge_cases_fmod_0).
        assert_eq!(pymod_f64(-3.0, f64::INFINITY), f64::INFINITY);
        assert_eq!(pymod_f64(-1.0, f64::NEG_INFINITY), -1.0);
        assert_eq!(pymod_f64(1.0, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(pymod_f64(0.0, -2.0).is_sign_negative());
        assert!(pymod_f64(1.0, 0.0).is_nan());
        assert_eq!(pymod_f64(-7.0, 3.0), 2.0);
    }
}
