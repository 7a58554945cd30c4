//! Shared helpers of the gradient ops: f32 inputs, output types copied from inputs, threads.

use edgeopt_ir::{bail, InferCtx, Inputs, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Sets the number of threads the gradient ops' GEMMs use (1 = deterministic, the default).
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Threads the gradient ops use.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// A required f32 input with its shape.
pub fn f32_in<'a>(op: &str, inputs: &'a Inputs, i: usize) -> Result<(&'a [f32], &'a [usize])> {
    let t = inputs.tensor(i)?;
    if t.dtype() != DType::F32 {
        bail!(
            "{op}: input {i} must be float32 (training runs in f32), got {:?} {:?}",
            t.dtype(),
            t.shape()
        );
    }
    Ok((t.as_slice::<f32>()?, t.shape()))
}

/// An f32 tensor output.
pub fn out(shape: &[usize], data: Vec<f32>) -> Result<Value> {
    Ok(Value::Tensor(Tensor::from_vec(shape.to_vec(), data)?))
}

/// Output types: output `k` has the type of input `like[k]`.
pub fn infer_like(ctx: &InferCtx, like: &[usize]) -> Result<Vec<ValueType>> {
    Ok(like
        .iter()
        .map(|&i| match ctx.input(i) {
            ValueType::Tensor(t) => ValueType::Tensor(TensorType {
                dtype: Some(DType::F32),
                shape: t.shape.clone(),
            }),
            _ => ValueType::dtype_only(DType::F32),
        })
        .collect())
}

/// A rank-0 f32 type (losses).
pub fn scalar_type() -> ValueType {
    ValueType::known(DType::F32, &[])
}

/// Product of dims, for shapes already backed by a tensor (cannot overflow).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// `C = alpha * op(A) * op(B) + beta * C` on row-major f32 slices with the fast GEMM.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    a: &[f32],
    (ar, ac): (usize, usize),
    trans_a: bool,
    b: &[f32],
    (br, bc): (usize, usize),
    trans_b: bool,
    c: &mut [f32],
    alpha: f32,
    beta: f32,
) -> Result<()> {
    use edgeopt_kernels::{GemmParams, MatMut, MatRef};
    let err = |e: edgeopt_kernels::KernelError| edgeopt_ir::IrError::Op(e.to_string());
    let mut am = MatRef::row_major(a, ar, ac).map_err(err)?;
    if trans_a {
        am = am.t();
    }
    let mut bm = MatRef::row_major(b, br, bc).map_err(err)?;
    if trans_b {
        bm = bm.t();
    }
    let (m, n) = (am.rows(), bm.cols());
    let params = GemmParams {
        alpha,
        beta,
        threads: threads(),
        ..GemmParams::default()
    };
    edgeopt_kernels::gemm(&params, am, bm, MatMut::row_major(c, m, n).map_err(err)?).map_err(err)
}
