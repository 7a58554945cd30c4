//! Quantized (8-bit) kernels: an int8 GEMM with requantization fused into its store, int8
//! convolution (im2col + GEMM, 1x1 as a plain GEMM, a direct depthwise 3x3), and the
//! quantize / dequantize vector kernels, each with a naive twin in [`reference`].
//!
//! **Arithmetic.** Every product is `(x - x_zp) * (w - w_zp)` with both differences in
//! `[-255, 255]`, summed in i32 with wrapping adds (exact below `K = 33025`, and the same wrap as
//! ORT beyond). The zero points are subtracted while packing, when the 8-bit values are widened
//! to i16, so the multiply-add (`vpmaddwd` on AVX2: two i16 products summed into i32) can never
//! saturate and no row/column-sum correction is needed. That is why this crate does not use
//! `vpmaddubsw`: its u8 x s8 pair sums saturate at i16 (255 * 127 * 2 > 32767) unless weights
//! are limited to 7 bits (ORT's `reduce_range`, which changes the model's quantization), and
//! it gains no throughput here: it needs a second `vpmaddwd` by ones to widen to i32, so both
//! schemes issue one multiply per 16 MACs.
//!
//! **Requantization** ([`Requant`]): `y = clamp(round_half_even((acc + bias) as f32 * scale) +
//! zp, lo, hi)` with the product in f32, exactly as ONNX QuantizeLinear rounds; every kernel
//! table computes the same bits as [`reference`], which the tests check exactly.
//!
//! Kernel tables are picked at run time like the fp32 ones ([`Int8Kernels::native`]; the
//! environment variable `EDGEOPT_KERNELS=generic` forces the portable table).

mod arch;
mod conv;
mod depthwise;
mod error;
mod gemm;
mod pack;
mod quantize;
pub mod reference;
mod requant;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::OnceLock;

pub use conv::{qconv, ConvGeometry, PackedConv};
pub use error::{QError, QResult};
pub use gemm::{qgemm, QInput};
pub use pack::{PackedWeights, WeightsRef};
pub use quantize::{dequantize, dynamic_quantize, quantize, DynamicQuant};
pub use requant::{QOutput, Requant, Scale};

/// A table of int8 kernels for one instruction set; entries are only installed on CPUs that
/// run them, which makes calling the `unsafe fn` pointers sound.
#[derive(Clone)]
pub struct Int8Kernels {
    pub(crate) name: &'static str,
    /// Register tile: `mr` output rows (weight rows) by `nr` output columns.
    pub(crate) mr: usize,
    pub(crate) nr: usize,
    pub(crate) tile: arch::TileKernel,
    pub(crate) pack_u8: arch::PackKernel<u8>,
    pub(crate) pack_i8: arch::PackKernel<i8>,
    pub(crate) store: arch::StoreKernels,
    pub(crate) depthwise_row: arch::DepthwiseRowKernel,
    pub(crate) quant: arch::QuantKernels,
}

impl fmt::Debug for Int8Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Int8Kernels")
            .field("name", &self.name)
            .field("tile", &(self.mr, self.nr))
            .finish()
    }
}

/// The int8 table this process uses: [`Int8Kernels::native`] unless `EDGEOPT_KERNELS=generic`.
pub fn int8_kernels() -> &'static Int8Kernels {
    static SELECTED: OnceLock<&'static Int8Kernels> = OnceLock::new();
    SELECTED.get_or_init(|| Int8Kernels::select(std::env::var("EDGEOPT_KERNELS").ok().as_deref()))
}

impl Int8Kernels {
    /// The portable table.
    pub fn generic() -> &'static Int8Kernels {
        static GENERIC: OnceLock<Int8Kernels> = OnceLock::new();
        GENERIC.get_or_init(arch::generic::table)
    }

    /// The fastest table this CPU supports.
    pub fn native() -> &'static Int8Kernels {
        static NATIVE: OnceLock<Int8Kernels> = OnceLock::new();
        NATIVE.get_or_init(|| {
            let mut table = arch::generic::table();
            arch::plug_native(&mut table);
            table
        })
    }

    /// Every distinct table usable here, generic first (what tests iterate over).
    pub fn available() -> Vec<&'static Int8Kernels> {
        let mut all = vec![Int8Kernels::generic()];
        if Int8Kernels::native().name != Int8Kernels::generic().name {
            all.push(Int8Kernels::native());
        }
        all
    }

    /// The table named by a value of `EDGEOPT_KERNELS` (`generic`, or anything else: native).
    pub fn select(value: Option<&str>) -> &'static Int8Kernels {
        match value.map(str::trim) {
            Some("generic") => Int8Kernels::generic(),
            _ => Int8Kernels::native(),
        }
    }

    /// Name of the table: `generic`, `x86_64_avx2` or `aarch64_neon`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Register tile `(mr, nr)` of the GEMM micro-kernel.
    pub fn tile(&self) -> (usize, usize) {
        (self.mr, self.nr)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for i8 {}
}

/// An 8-bit quantized element type: `u8` or `i8`.
pub trait QElem: Copy + Default + Send + Sync + fmt::Debug + 'static + sealed::Sealed {
    /// Smallest value, as i32.
    const MIN: i32;
    /// Largest value, as i32.
    const MAX: i32;
    /// Widens to i32.
    fn to_i32(self) -> i32;
    /// Narrows a value already inside `[MIN, MAX]`.
    fn from_i32(v: i32) -> Self;
    #[doc(hidden)]
    fn pack_kernel(table: &Int8Kernels) -> arch::PackKernel<Self>;
}

impl QElem for u8 {
    const MIN: i32 = 0;
    const MAX: i32 = 255;
    #[inline(always)]
    fn to_i32(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn from_i32(v: i32) -> Self {
        v as u8
    }
    fn pack_kernel(table: &Int8Kernels) -> arch::PackKernel<Self> {
        table.pack_u8
    }
}

impl QElem for i8 {
    const MIN: i32 = -128;
    const MAX: i32 = 127;
    #[inline(always)]
    fn to_i32(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn from_i32(v: i32) -> Self {
        v as i8
    }
    fn pack_kernel(table: &Int8Kernels) -> arch::PackKernel<Self> {
        table.pack_i8
    }
}
