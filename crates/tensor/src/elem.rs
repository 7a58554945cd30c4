//! Rust element types that map one-to-one onto a [`DType`].

use crate::DType;
use half::{bf16, f16};

/// A plain-old-data element whose in-memory layout is the tensor's storage layout.
///
/// # Safety
/// Implementors must be valid for every byte pattern the tensor constructors allow for
/// `DTYPE` (bool tensors are validated to hold only 0 and 1).
pub unsafe trait Elem: Copy + Send + Sync + std::fmt::Debug + PartialEq + 'static {
    const DTYPE: DType;
}

macro_rules! elem {
    ($($t:ty => $d:ident),* $(,)?) => { $(unsafe impl Elem for $t { const DTYPE: DType = DType::$d; })* };
}
elem!(f32 => F32, f64 => F64, f16 => F16, bf16 => BF16, i8 => I8, u8 => U8, i16 => I16, u16 => U16,
      i32 => I32, u32 => U32, i64 => I64, u64 => U64, bool => Bool);

/// Numeric elements with a lossless-enough route through f64, for reference kernels that do not
/// need to be fast.
pub trait Numeric: Elem + num_traits::NumCast + PartialOrd + Default {
    fn as_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

macro_rules! numeric_int {
    ($($t:ty),*) => { $(impl Numeric for $t {
        fn as_f64(self) -> f64 { self as f64 }
        // `as` saturates, which is what ONNX's float-to-int casts leave unspecified anyway.
        fn from_f64(v: f64) -> Self { v as $t }
    })* };
}
numeric_int!(i8, u8, i16, u16, i32, u32, i64, u64);

impl Numeric for f32 {
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}
impl Numeric for f64 {
    fn as_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}
impl Numeric for f16 {
    fn as_f64(self) -> f64 {
        f16::to_f64(self)
    }
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
}
impl Numeric for bf16 {
    fn as_f64(self) -> f64 {
        bf16::to_f64(self)
    }
    fn from_f64(v: f64) -> Self {
        bf16::from_f64(v)
    }
}
