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
mod elementwise;
mod error;
mod gemm;
mod gemm_dot;
mod implicit;
mod pack;
mod quantize;
pub mod reference;
mod requant;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dot;
#[cfg(test)]
mod tests_elementwise;
#[cfg(test)]
mod tests_implicit;

use std::fmt;
use std::sync::OnceLock;

pub use conv::{qconv, ConvGeometry, PackedConv};
pub use elementwise::{add, split_even_odd, QParams};
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
    pub(crate) widen_row: arch::WidenKernel,
    pub(crate) quant: arch::QuantKernels,
    /// Dot-product kernels (quads layout); when present the GEMM uses them, not `tile`/`pack_*`.
    pub(crate) dot: Option<arch::DotKernels>,
}

impl fmt::Debug for Int8Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Int8Kernels")
            .field("name", &self.name)
            .field("tile", &(self.mr, self.nr))
            .field("dot", &self.dot.is_some())
            .finish()
    }
}

/// The int8 table this process uses: the one named by `EDGEOPT_INT8_KERNELS` when this CPU has
/// it, else [`Int8Kernels::select`] of `EDGEOPT_KERNELS` (native unless `generic`).
pub fn int8_kernels() -> &'static Int8Kernels {
    static SELECTED: OnceLock<&'static Int8Kernels> = OnceLock::new();
    SELECTED.get_or_init(|| {
        let named = std::env::var("EDGEOPT_INT8_KERNELS").ok();
        named
            .as_deref()
            .and_then(Int8Kernels::by_name)
            .unwrap_or_else(|| {
                Int8Kernels::select(std::env::var("EDGEOPT_KERNELS").ok().as_deref())
            })
    })
}

/// Every table this CPU can run, in order of preference (last = native), and the index of the
/// native one.
fn tables() -> &'static (Vec<Int8Kernels>, usize) {
    static ALL: OnceLock<(Vec<Int8Kernels>, usize)> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = vec![arch::generic::table(), arch::portable_dot::table()];
        arch::native_tables(&mut all);
        let native = if all.len() > 2 { all.len() - 1 } else { 0 };
        (all, native)
    })
}

impl Int8Kernels {
    /// The portable table.
    pub fn generic() -> &'static Int8Kernels {
        &tables().0[0]
    }

    /// The fastest table this CPU supports.
    pub fn native() -> &'static Int8Kernels {
        let (all, native) = tables();
        &all[*native]
    }

    /// Every table usable on this CPU, generic first (what tests iterate over): the portable
    /// twins of both layouts, then each instruction set's (AVX2, AVX512-VNNI 256 and 512 bits;
    /// NEON), so a VNNI machine still tests the AVX2 path.
    pub fn available() -> Vec<&'static Int8Kernels> {
        tables().0.iter().collect()
    }

    /// The table called `name` (see [`Int8Kernels::name`]), if this CPU can run it.
    pub fn by_name(name: &str) -> Option<&'static Int8Kernels> {
        tables().0.iter().find(|t| t.name == name.trim())
    }

    /// The table named by a value of `EDGEOPT_KERNELS` (`generic`, or anything else: native).
    pub fn select(value: Option<&str>) -> &'static Int8Kernels {
        match value.map(str::trim) {
            Some("generic") => Int8Kernels::generic(),
            _ => Int8Kernels::native(),
        }
    }

    /// Name of the table: `generic`, `generic_dot` (portable twin of the dot-product layout),
    /// `x86_64_avx2`, `x86_64_vnni256`, `x86_64_vnni512` or `aarch64_neon`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Register tile `(mr, nr)` of the GEMM micro-kernel.
    pub fn tile(&self) -> (usize, usize) {
        (self.mr, self.nr)
    }

    /// Whether the GEMM multiplies raw 8-bit values with a dot-product instruction (VNNI).
    pub fn is_dot(&self) -> bool {
        self.dot.is_some()
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
