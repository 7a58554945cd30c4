//! edgeopt-kernels: the fast fp32 CPU kernels under the edgeopt runtime.
//!
//! The main design decision is **run-time kernel selection**, as in tract: a [`Kernels`] table
//! of function pointers starts out with portable Rust implementations, and `arch` modules
//! override entries after CPU feature detection (AVX2+FMA, then AVX-512F on x86-64; NEON on
//! aarch64). One binary therefore adapts to the CPU it runs on, and the portable table stays
//! available as the twin every optimized kernel is tested against. `EDGEOPT_KERNELS=generic`
//! (or `avx2`, `avx512`) forces a table for the process ([`kernels`]).
//!
//! What is here:
//! - [`Kernels::gemm`]: `C = act(alpha * A * B + beta * C + bias)` on strided fp32 matrices,
//!   BLIS-style (packed panels, MC/KC/NC cache blocking, a register-tile micro-kernel), with
//!   GEMV fast paths for `M == 1` / `N == 1` and optional multithreading.
//! - [`PackedB`]: a right-hand side packed once (weights at load time) for
//!   [`Kernels::gemm_prepacked`].
//! - [`Activation`]: activations fused into the GEMM store, also applied to plain slices.
//! - [`conv`]: fp32 2-D convolution on NCHW ([`conv::PackedConv`]: weights packed once,
//!   algorithm picked per shape: im2col + GEMM, pointwise GEMM, direct depthwise, Winograd
//!   F(2x2, 3x3) and F(4x4, 3x3)), fused bias and activation, caller-provided scratch.
//! - [`pool`], [`softmax`], [`norm`], [`elementwise`]: the other CNN operators, vectorized
//!   (AVX2 + FMA tables compile the same portable loops with those features).
//! - [`reference`]: the naive f64 twins the tests compare against.
//! - [`int8`]: the quantized kernels (int8 GEMM with fused requantization, int8 conv,
//!   quantize / dequantize), with their own run-time selected table and exact integer twins.
//!
//! The crate never panics on bad dimensions: every entry point returns a [`KernelError`] that
//! names the shapes involved.
//!
//! ```
//! use edgeopt_kernels::{gemm, Activation, Bias, GemmParams, MatMut, MatRef};
//!
//! // A fully-connected layer on a batch of 2: y = relu(x * W^T + b), with W stored [out, in].
//! let x = [1.0, 2.0, 3.0, /* second row */ -1.0, 0.0, 1.0];
//! let w = [0.5, 0.0, 1.0, /* second output */ 1.0, -1.0, 0.0];
//! let bias = [0.25, -4.0];
//! let mut y = [0.0f32; 4];
//! let params = GemmParams {
//!     bias: Bias::PerCol(&bias),
//!     activation: Activation::Relu,
//!     ..GemmParams::default()
//! };
//! let x = MatRef::row_major(&x, 2, 3)?;
//! let wt = MatRef::row_major(&w, 2, 3)?.t(); // 3 x 2, no copy
//! gemm(&params, x, wt, MatMut::row_major(&mut y, 2, 2)?)?;
//! assert_eq!(y, [3.75, 0.0, 0.75, 0.0]);
//!
//! // Shapes that do not fit are an error, not a panic.
//! let err = gemm(&params, x, x, MatMut::row_major(&mut y, 2, 2)?).unwrap_err();
//! assert!(err.to_string().contains("A is 2x3, B is 2x3"));
//! # Ok::<(), edgeopt_kernels::KernelError>(())
//! ```
#![deny(missing_docs)]

mod activation;
mod arch;
pub mod conv;
pub mod elementwise;
mod error;
pub(crate) mod gemm;
pub mod int8;
mod kernels;
pub mod norm;
pub mod pool;
pub mod reference;
pub mod softmax;
pub mod sparse;

pub use activation::Activation;
pub use error::{KernelError, Result};
pub use gemm::{
    gemm, gemm_packed_a, gemm_prepacked, Bias, GemmParams, MatMut, MatRef, PackedA, PackedB,
};
pub use kernels::{kernels, Blocking, Kernels};
