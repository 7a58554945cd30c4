//! Int8 lowerings: QLinearConv / ConvInteger and QLinearMatMul / MatMulInteger onto the int8
//! kernels of `edgeopt_kernels::int8` (weights prepacked at lowering, requantization fused into
//! the GEMM store), Quantize/Dequantize/DynamicQuantizeLinear onto the vector kernels, and
//! [`fuse_qdq`], the graph rewrite that turns the QDQ pattern
//! `DequantizeLinear(x), DequantizeLinear(w) -> Conv/MatMul/Gemm (-> Relu) -> QuantizeLinear`
//! into QLinearConv / QLinearMatMul before the session optimizes the graph.
//!
//! A lowering returns `None` (the node runs through the reference `eval`) whenever a case is
//! not covered: non-constant weights or quantization parameters, per-axis activations,
//! 1-D / 3-D convolutions, dtypes other than u8 / i8.

mod add;
mod clamped;
mod conv;
mod matmul;
mod pool;
mod qdq;
mod qdq_act;
mod qdq_add;
mod qdq_pool;
mod quantize;
#[cfg(test)]
mod tests;

pub use add::QAdd;
pub use clamped::Clamped;
pub use qdq::fuse_qdq;

use super::{LowerCtx, LoweringRegistry};
use crate::{Error, Io};
use edgeopt_kernels::int8::{QError, QOutput};
use edgeopt_tensor::{DType, Tensor};

/// The op to lower and the output clamp of a [`Clamped`] wrapper around it.
fn unwrap_clamped(op: &dyn edgeopt_ir::Op) -> (&dyn edgeopt_ir::Op, Option<(i32, i32)>) {
    match op.downcast_ref::<Clamped>() {
        Some(c) => (c.inner.as_ref(), Some((c.lo, c.hi))),
        None => (op, None),
    }
}

/// Adds the int8 lowerings to `r`.
pub(crate) fn register(r: &mut LoweringRegistry) {
    r.register(edgeopt_passes::ops::DOMAIN, "Int8Clamped", conv::lower);
    r.register(edgeopt_passes::ops::DOMAIN, "Int8Clamped", matmul::lower);
    r.register(edgeopt_passes::ops::DOMAIN, "Int8Add", add::lower);
    r.register("", "MaxPool", pool::lower);
    r.register("", "QLinearConv", conv::lower);
    r.register("", "ConvInteger", conv::lower);
    r.register("", "QLinearMatMul", matmul::lower);
    r.register("", "MatMulInteger", matmul::lower);
    r.register("", "QuantizeLinear", quantize::lower_quantize);
    r.register("", "DequantizeLinear", quantize::lower_dequantize);
    r.register("", "DynamicQuantizeLinear", quantize::lower_dynamic);
}

/// An 8-bit dtype: `Some(true)` for i8, `Some(false)` for u8.
fn signed8(dtype: DType) -> Option<bool> {
    match dtype {
        DType::I8 => Some(true),
        DType::U8 => Some(false),
        _ => None,
    }
}

/// Values of a constant scale tensor (f32), when all finite and positive.
fn scales(t: &Tensor) -> Option<Vec<f32>> {
    let v = t.as_slice::<f32>().ok()?.to_vec();
    v.iter().all(|s| s.is_finite() && *s > 0.0).then_some(v)
}

/// Values of a constant 8-bit zero point tensor (absent: one zero).
fn zero_points(t: Option<&Tensor>) -> Option<Vec<i32>> {
    match t {
        None => Some(vec![0]),
        Some(t) if signed8(t.dtype()).is_some() => {
            Some(t.to_f64_vec().ok()?.into_iter().map(|v| v as i32).collect())
        }
        _ => None,
    }
}

/// The output type of a lowered int8 product.
#[derive(Clone, Copy, Debug)]
enum OutKind {
    U8,
    I8,
    I32,
}

impl OutKind {
    fn of(dtype: DType) -> Option<OutKind> {
        match dtype {
            DType::U8 => Some(OutKind::U8),
            DType::I8 => Some(OutKind::I8),
            DType::I32 => Some(OutKind::I32),
            _ => None,
        }
    }
}

/// Output 0 of `io` as the kernel output of type `kind`.
fn output<'a>(io: &'a mut Io, kind: OutKind) -> crate::Result<QOutput<'a>> {
    let bytes = io.output_bytes(0);
    Ok(match kind {
        OutKind::U8 => QOutput::U8(bytes),
        OutKind::I8 => QOutput::I8(as_i8_mut(bytes)),
        OutKind::I32 => {
            // SAFETY: every bit pattern is an i32; align_to_mut only yields aligned middles.
            let (pre, mid, post) = unsafe { bytes.align_to_mut::<i32>() };
            if !pre.is_empty() || !post.is_empty() {
                return Err(Error::Other("int8: i32 output buffer is misaligned".into()));
            }
            QOutput::I32(mid)
        }
    })
}

fn as_i8(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size and alignment; every bit pattern is valid.
    unsafe { std::slice::from_raw_parts(b.as_ptr() as *const i8, b.len()) }
}

fn as_i8_mut(b: &mut [u8]) -> &mut [i8] {
    // SAFETY: as in `as_i8`.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr() as *mut i8, b.len()) }
}

/// A kernel error as the runtime's, naming the node.
fn node_err(node: &str, op_type: &str, e: QError) -> Error {
    Error::Node {
        node: node.to_string(),
        op_type: op_type.to_string(),
        msg: e.to_string(),
    }
}
