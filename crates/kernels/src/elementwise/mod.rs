//! Element-wise fp32 operators: unary maps and binary operations with the broadcast patterns
//! of CNN graphs (same shape, scalar, per channel of NCHW), in place or not.
//!
//! The loops are portable Rust that the compiler vectorizes (transcendental functions are the
//! branch-free approximations of `math`); the AVX2 + FMA table compiles the same loops with
//! those features enabled, 8 lanes wide. Results match the f64 definitions within the
//! tolerances stated in `math` (exact for the piecewise-linear operators).

pub(crate) mod math;
pub mod split;

use crate::{kernels, KernelError, Kernels, Result};

/// A unary operator (ONNX semantics and default parameters where they have any).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unary {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, min), max)`.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `x` if `x >= 0`, else `alpha * x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * max(0, min(1, x / 6 + 1 / 2))`.
    HardSwish,
    /// `tanh x`.
    Tanh,
    /// `e^x`.
    Exp,
    /// The error function.
    Erf,
    /// `x / 2 * (1 + erf(x / sqrt 2))`.
    Gelu,
    /// `-x`.
    Neg,
    /// `|x|`.
    Abs,
}

impl Unary {
    /// The f64 definition, the reference the tests compare against (`erf` by its series).
    pub fn apply_f64(self, x: f64) -> f64 {
        match self {
            Unary::Relu => x.max(0.0),
            Unary::Clip { min, max } => x.max(min as f64).min(max as f64),
            Unary::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha as f64 * x
                }
            }
            Unary::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Unary::HardSigmoid { alpha, beta } => (alpha as f64 * x + beta as f64).clamp(0.0, 1.0),
            Unary::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Unary::Tanh => x.tanh(),
            Unary::Exp => x.exp(),
            Unary::Erf => erf_f64(x),
            Unary::Gelu => 0.5 * x * (1.0 + erf_f64(x / std::f64::consts::SQRT_2)),
            Unary::Neg => -x,
            Unary::Abs => x.abs(),
        }
    }

    fn validate(self) -> Result<()> {
        let ok = match self {
            Unary::Clip { min, max } => min <= max,
            Unary::LeakyRelu { alpha } => !alpha.is_nan(),
            Unary::HardSigmoid { alpha, beta } => !alpha.is_nan() && !beta.is_nan(),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(KernelError::BadConv {
                shape: format!("elementwise {self:?}"),
                reason: "invalid parameters".into(),
            })
        }
    }
}

/// `erf` in f64: its Maclaurin series below |x| = 4 (terms stop below 1e-17 relative; the
/// cancellation loses at most 7 of 16 digits), `+-1` beyond (erfc(4) = 1.5e-8 is below half
/// an f32 ulp of 1).
fn erf_f64(x: f64) -> f64 {
    if x.abs() >= 4.0 {
        return x.signum();
    }
    let (z, mut term, mut sum) = (x * x, x, x);
    for n in 1..200 {
        term *= -z / n as f64;
        let add = term / (2 * n + 1) as f64;
        sum += add;
        if add.abs() < 1e-17 * sum.abs() {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
    /// `max(a, b)` (NaN if either is NaN, as ONNX Max).
    Max,
    /// `min(a, b)` (NaN if either is NaN).
    Min,
}

impl Binary {
    /// The scalar definition.
    #[inline(always)]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Max => {
                if a.is_nan() || b.is_nan() {
                    f32::NAN
                } else {
                    a.max(b)
                }
            }
            Binary::Min => {
                if a.is_nan() || b.is_nan() {
                    f32::NAN
                } else {
                    a.min(b)
                }
            }
        }
    }
}

/// The right-hand side of a binary operation on a left-hand side `a` of `len` elements.
#[derive(Debug, Clone, Copy)]
pub enum Rhs<'a> {
    /// `len` values: `a[i] op b[i]`.
    Same(&'a [f32]),
    /// `a[i] op s`.
    Scalar(f32),
    /// `s op a[i]` (a scalar on the left: `1 - x`, `6 / x`).
    ScalarFirst(f32),
    /// `a` is `[outer, values.len(), inner]` (NCHW with `inner = H * W`): `a[i] op values[c]`
    /// for the channel `c` of element `i`.
    PerChannel {
        /// One value per channel.
        values: &'a [f32],
        /// Elements per channel (H * W).
        inner: usize,
    },
}

/// The operand of a binary kernel call (per-channel calls are split into scalar ones).
#[derive(Clone, Copy)]
pub(crate) enum Operand<'a> {
    Slice(&'a [f32]),
    Scalar(f32),
    ScalarFirst(f32),
}

/// `out[i] = op(x[i])` with the process's table.
pub fn unary(op: Unary, x: &[f32], out: &mut [f32]) -> Result<()> {
    kernels().unary(op, x, out)
}

/// `xs[i] = op(xs[i])` with the process's table.
pub fn unary_inplace(op: Unary, xs: &mut [f32]) -> Result<()> {
    kernels().unary_inplace(op, xs)
}

/// `out[i] = a[i] op b` (see [`Rhs`]) with the process's table.
pub fn binary(op: Binary, a: &[f32], b: Rhs, out: &mut [f32]) -> Result<()> {
    kernels().binary(op, Some(a), b, out)
}

/// `a[i] = a[i] op b` (see [`Rhs`]) with the process's table.
pub fn binary_inplace(op: Binary, a: &mut [f32], b: Rhs) -> Result<()> {
    kernels().binary(op, None, b, a)
}

fn length_error(what: &str, got: usize, want: usize) -> KernelError {
    KernelError::BadConv {
        shape: format!("elementwise {what}"),
        reason: format!("has {got} values, expected {want}"),
    }
}

impl Kernels {
    /// `out[i] = op(x[i])` with this table.
    pub fn unary(&self, op: Unary, x: &[f32], out: &mut [f32]) -> Result<()> {
        op.validate()?;
        if x.len() != out.len() {
            return Err(length_error("output", out.len(), x.len()));
        }
        // SAFETY: the table only holds kernels this CPU runs.
        unsafe { (self.unary)(op, Some(x), out) };
        Ok(())
    }

    /// `xs[i] = op(xs[i])` with this table.
    pub fn unary_inplace(&self, op: Unary, xs: &mut [f32]) -> Result<()> {
        op.validate()?;
        // SAFETY: the table only holds kernels this CPU runs.
        unsafe { (self.unary)(op, None, xs) };
        Ok(())
    }

    /// `out[i] = a[i] op b`, or in place on `out` when `a` is `None`.
    pub fn binary(&self, op: Binary, a: Option<&[f32]>, b: Rhs, out: &mut [f32]) -> Result<()> {
        let n = out.len();
        if let Some(a) = a {
            if a.len() != n {
                return Err(length_error("output", n, a.len()));
            }
        }
        let kernel = self.binary;
        let operand = match b {
            Rhs::Same(b) if b.len() != n => {
                return Err(length_error("right-hand side", b.len(), n))
            }
            Rhs::Same(b) => Operand::Slice(b),
            Rhs::Scalar(s) => Operand::Scalar(s),
            Rhs::ScalarFirst(s) => Operand::ScalarFirst(s),
            Rhs::PerChannel { .. } => Operand::Scalar(0.0),
        };
        match b {
            Rhs::Same(_) | Rhs::Scalar(_) | Rhs::ScalarFirst(_) => {
                // SAFETY: the table only holds kernels this CPU runs; lengths checked.
                unsafe { kernel(op, a, operand, out) };
                Ok(())
            }
            Rhs::PerChannel { values, inner } => {
                let block = values.len().saturating_mul(inner);
                if block == 0 || !n.is_multiple_of(block) {
                    return Err(KernelError::BadConv {
                        shape: format!("elementwise per-channel {op:?}"),
                        reason: format!("{n} values are not [outer, {}, {inner}]", values.len()),
                    });
                }
                for (q, chunk) in out.chunks_exact_mut(inner).enumerate() {
                    let s = Operand::Scalar(values[q % values.len()]);
                    let a = a.map(|a| &a[q * inner..(q + 1) * inner]);
                    // SAFETY: as above, on one channel's run of `inner` values.
                    unsafe { kernel(op, a, s, chunk) };
                }
                Ok(())
            }
        }
    }
}

/// Unary kernel `(op, src, dst)`: `dst[i] = op(src[i])`, or in place when `src` is `None`.
/// Safety: `src` has `dst.len()` values; the CPU has the kernel's features.
pub(crate) type UnaryKernel = unsafe fn(Unary, Option<&[f32]>, &mut [f32]);

/// Binary kernel `(op, a, b, dst)`: `dst[i] = a[i] op b`, `a` being `dst` when `None`.
/// Safety: slices have `dst.len()` values; the CPU has the kernel's features.
pub(crate) type BinaryKernel = unsafe fn(Binary, Option<&[f32]>, Operand, &mut [f32]);

/// A scalar function the loops below are instantiated with (a trait, not a closure:
/// closures would not inherit an arch wrapper's target features).
pub(crate) trait Map {
    fn f(&self, x: f32) -> f32;
}

macro_rules! maps {
    ($($name:ident($s:ident, $x:ident) => $body:expr;)*) => {
        $(
            struct $name(Unary);
            impl Map for $name {
                #[inline(always)]
                #[allow(unused_variables)]
                fn f(&self, $x: f32) -> f32 {
                    let $s = self.0;
                    $body
                }
            }
        )*
    };
}

maps! {
    Relu(s, x) => x.max(0.0);
    Clip(s, x) => match s { Unary::Clip { min, max } => x.max(min).min(max), _ => x };
    Leaky(s, x) => match s {
        Unary::LeakyRelu { alpha } => x.max(0.0) + alpha * x.min(0.0),
        _ => x,
    };
    Sigmoid(s, x) => math::sigmoid(x);
    HardSigmoid(s, x) => match s {
        Unary::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
        _ => x,
    };
    HardSwish(s, x) => x * (x * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0);
    Tanh(s, x) => math::tanh(x);
    Exp(s, x) => math::exp(x);
    Erf(s, x) => math::erf(x);
    Gelu(s, x) => math::gelu(x);
    Neg(s, x) => -x;
    Abs(s, x) => x.abs();
}

#[inline(always)]
fn map<M: Map>(m: M, src: Option<&[f32]>, dst: &mut [f32]) {
    match src {
        Some(src) => {
            for (d, &x) in dst.iter_mut().zip(src) {
                *d = m.f(x);
            }
        }
        None => {
            for d in dst.iter_mut() {
                *d = m.f(*d);
            }
        }
    }
}

/// The unary loops, for the arch wrappers to instantiate with their features.
#[inline(always)]
pub(crate) fn unary_loops(op: Unary, src: Option<&[f32]>, dst: &mut [f32]) {
    match op {
        Unary::Relu => map(Relu(op), src, dst),
        Unary::Clip { .. } => map(Clip(op), src, dst),
        Unary::LeakyRelu { .. } => map(Leaky(op), src, dst),
        Unary::Sigmoid => map(Sigmoid(op), src, dst),
        Unary::HardSigmoid { .. } => map(HardSigmoid(op), src, dst),
        Unary::HardSwish => map(HardSwish(op), src, dst),
        Unary::Tanh => map(Tanh(op), src, dst),
        Unary::Exp => map(Exp(op), src, dst),
        Unary::Erf => map(Erf(op), src, dst),
        Unary::Gelu => map(Gelu(op), src, dst),
        Unary::Neg => map(Neg(op), src, dst),
        Unary::Abs => map(Abs(op), src, dst),
    }
}

/// A binary operator as a type, so each gets its own vectorized loop.
pub(crate) trait Op2 {
    fn f(a: f32, b: f32) -> f32;
}

macro_rules! ops2 {
    ($($name:ident($a:ident, $b:ident) => $body:expr;)*) => {
        $(
            struct $name;
            impl Op2 for $name {
                #[inline(always)]
                fn f($a: f32, $b: f32) -> f32 {
                    $body
                }
            }
        )*
    };
}

ops2! {
    Add(a, b) => a + b;
    Sub(a, b) => a - b;
    Mul(a, b) => a * b;
    Div(a, b) => a / b;
    // NaN-propagating, written as selects so they vectorize.
    Max(a, b) => if a.is_nan() || b.is_nan() { f32::NAN } else if a > b { a } else { b };
    Min(a, b) => if a.is_nan() || b.is_nan() { f32::NAN } else if a < b { a } else { b };
}

#[inline(always)]
fn zip2<O: Op2>(a: Option<&[f32]>, b: Operand, dst: &mut [f32]) {
    match (a, b) {
        (Some(a), Operand::Slice(b)) => {
            for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
                *d = O::f(x, y);
            }
        }
        (None, Operand::Slice(b)) => {
            for (d, &y) in dst.iter_mut().zip(b) {
                *d = O::f(*d, y);
            }
        }
        (Some(a), Operand::Scalar(s)) => {
            for (d, &x) in dst.iter_mut().zip(a) {
                *d = O::f(x, s);
            }
        }
        (None, Operand::Scalar(s)) => {
            for d in dst.iter_mut() {
                *d = O::f(*d, s);
            }
        }
        (Some(a), Operand::ScalarFirst(s)) => {
            for (d, &x) in dst.iter_mut().zip(a) {
                *d = O::f(s, x);
            }
        }
        (None, Operand::ScalarFirst(s)) => {
            for d in dst.iter_mut() {
                *d = O::f(s, *d);
            }
        }
    }
}

/// The binary loops, for the arch wrappers to instantiate with their features.
#[inline(always)]
pub(crate) fn binary_loops(op: Binary, a: Option<&[f32]>, b: Operand, dst: &mut [f32]) {
    match op {
        Binary::Add => zip2::<Add>(a, b, dst),
        Binary::Sub => zip2::<Sub>(a, b, dst),
        Binary::Mul => zip2::<Mul>(a, b, dst),
        Binary::Div => zip2::<Div>(a, b, dst),
        Binary::Max => zip2::<Max>(a, b, dst),
        Binary::Min => zip2::<Min>(a, b, dst),
    }
}

/// The portable unary kernel.
pub(crate) unsafe fn unary_generic(op: Unary, src: Option<&[f32]>, dst: &mut [f32]) {
    unary_loops(op, src, dst)
}

/// The portable binary kernel.
pub(crate) unsafe fn binary_generic(op: Binary, a: Option<&[f32]>, b: Operand, dst: &mut [f32]) {
    binary_loops(op, a, b, dst)
}
