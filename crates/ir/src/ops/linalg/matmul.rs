//! MatMul: numpy-style matrix product.
//! Spec: <https://onnx.ai/onnx/operators/onnx__MatMul.html>
//!
//! Inputs `A`, `B` (T); output `Y` (T). No attributes.
//! A 1-D `A` is a row vector and a 1-D `B` a column vector (the added dim is removed from the
//! result); leading (batch) dims broadcast.
//! Opsets: 1 (float types), 9 (adds int32/int64/uint32/uint64), 13 (adds bfloat16).
//! f16/bf16 are accumulated in f32.

use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::linalg::common::{count_product, f32_to_float, float_to_f32, gemm_acc, Scalar};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::{broadcast_shapes, broadcast_strides, broadcast_sym, checked_numel};
use edgeopt_tensor::{DType, Dim, Elem, Tensor};

#[derive(Clone, Debug)]
pub struct MatMul;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(MatMul))
}

/// Shapes of a matrix product after promoting 1-D operands.
pub struct Plan {
    pub batch: Vec<usize>,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub out_shape: Vec<usize>,
    /// Element offsets of each batch's A and B matrices.
    pub offsets: Vec<(usize, usize)>,
}

/// Checks the shapes of `A` and `B` and lays out the batched product.
pub fn plan(op: &str, a: &[usize], b: &[usize]) -> Result<Plan> {
    if a.is_empty() || b.is_empty() {
        bail!("{op}: inputs must have rank >= 1, got A {a:?} and B {b:?}");
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (ra, rb) = (a2.len(), b2.len());
    let (m, k, k2, n) = (a2[ra - 2], a2[ra - 1], b2[rb - 2], b2[rb - 1]);
    if k != k2 {
        bail!("{op}: inner dimensions differ: A {a:?} and B {b:?}");
    }
    let batch = broadcast_shapes(&a2[..ra - 2], &b2[..rb - 2]).map_err(|_| {
        crate::IrError::Op(format!(
            "{op}: batch dims of A {a:?} and B {b:?} do not broadcast"
        ))
    })?;
    let mut out_shape = batch.clone();
    if a.len() > 1 {
        out_shape.push(m);
    }
    if b.len() > 1 {
        out_shape.push(n);
    }
    checked_numel(&out_shape)?;
    let nb = checked_numel(&batch)?;
    // Offsets in matrices: strides of a batch dim are multiples of the matrix size.
    let sa = broadcast_strides(&a2[..ra - 2], &batch);
    let sb = broadcast_strides(&b2[..rb - 2], &batch);
    let mut offsets = Vec::with_capacity(nb);
    crate::ops::util::for_each_index2(&batch, &sa, &sb, |ia, ib| {
        offsets.push((ia * m * k, ib * k * n))
    });
    Ok(Plan {
        batch,
        m,
        k,
        n,
        out_shape,
        offsets,
    })
}

fn run<T: Scalar>(p: &Plan, a: &[T], b: &[T]) -> Vec<T> {
    let (m, k, n) = (p.m, p.k, p.n);
    let mut y = vec![T::default(); p.offsets.len() * m * n];
    for (i, &(oa, ob)) in p.offsets.iter().enumerate() {
        let c = &mut y[i * m * n..(i + 1) * m * n];
        gemm_acc(m, n, k, &a[oa..], k, &b[ob..], n, c, n);
    }
    y
}

fn run_typed<T: Scalar + Elem + bytemuck::NoUninit>(
    p: &Plan,
    a: &Tensor,
    b: &Tensor,
) -> Result<Tensor> {
    Ok(Tensor::from_vec(
        p.out_shape.clone(),
        run(p, a.as_slice::<T>()?, b.as_slice::<T>()?),
    )?)
}

/// Matrix product of two tensors of the same dtype (the kernel MatMul evaluates).
pub fn matmul(op: &str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dtype() != b.dtype() {
        bail!("{op}: A is {} but B is {}", a.dtype(), b.dtype());
    }
    let p = plan(op, a.shape(), b.shape())?;
    match a.dtype() {
        DType::F32 => run_typed::<f32>(&p, a, b),
        DType::F64 => run_typed::<f64>(&p, a, b),
        DType::I32 => run_typed::<i32>(&p, a, b),
        DType::I64 => run_typed::<i64>(&p, a, b),
        DType::U32 => run_typed::<u32>(&p, a, b),
        DType::U64 => run_typed::<u64>(&p, a, b),
        DType::F16 | DType::BF16 => {
            let y = run(&p, &float_to_f32(a)?, &float_to_f32(b)?);
            f32_to_float(a.dtype(), p.out_shape.clone(), y)
        }
        d => bail!("{op}: dtype {d} is not supported"),
    }
}

/// Multiply-accumulates of a matrix product, without laying out its batches.
fn macs(a: &[usize], b: &[usize]) -> Option<u64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let m = if a.len() > 1 { a[a.len() - 2] } else { 1 };
    let n = if b.len() > 1 { b[b.len() - 1] } else { 1 };
    let k = a[a.len() - 1];
    let batch = broadcast_shapes(
        &a[..a.len().saturating_sub(2)],
        &b[..b.len().saturating_sub(2)],
    )
    .ok()?;
    let mut f = batch;
    f.extend([m, n, k]);
    Some(count_product(&f))
}

/// Symbolic output shape of a matrix product.
pub fn infer_shape(op: &str, a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>> {
    if a.is_empty() || b.is_empty() {
        bail!("{op}: inputs must have rank >= 1");
    }
    let ka = &a[a.len() - 1];
    let kb = if b.len() == 1 { &b[0] } else { &b[b.len() - 2] };
    if let (Dim::Known(x), Dim::Known(y)) = (ka, kb) {
        if x != y {
            bail!("{op}: inner dimensions differ: A has {x}, B has {y}");
        }
    }
    let ba = if a.len() > 2 {
        &a[..a.len() - 2]
    } else {
        &[][..]
    };
    let bb = if b.len() > 2 {
        &b[..b.len() - 2]
    } else {
        &[][..]
    };
    let mut out = broadcast_sym(ba, bb)?;
    if a.len() > 1 {
        out.push(a[a.len() - 2].clone());
    }
    if b.len() > 1 {
        out.push(b[b.len() - 1].clone());
    }
    Ok(out)
}

impl Op for MatMul {
    fn op_type(&self) -> &str {
        "MatMul"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (a, b) = (ctx.tensor(0), ctx.tensor(1));
        let shape = match (&a.shape, &b.shape) {
            (Some(sa), Some(sb)) => Some(infer_shape("MatMul", sa, sb)?),
            _ => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: a.dtype.or(b.dtype),
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![matmul(
            "MatMul",
            inputs.tensor(0)?,
            inputs.tensor(1)?,
        )?
        .into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let macs = match (ctx.input_shape(0), ctx.input_shape(1)) {
            (Some(a), Some(b)) => macs(&a, &b).unwrap_or(0),
            _ => 0,
        };
        Cost {
            macs,
            ..ctx.movement()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn two_d_product() {
        // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]] (by hand).
        let y = eval1(
            &MatMul,
            &[
                Some(t(&[2, 2], vec![1., 2., 3., 4.])),
                Some(t(&[2, 2], vec![5., 6., 7., 8.])),
            ],
        )
        .unwrap();
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[19., 22., 43., 50.]);
    }

    #[test]
    fn vectors_and_broadcast_batches() {
        // 1-D @ 1-D is a scalar dot product.
        let y = eval1(
            &MatMul,
            &[
                Some(Tensor::vec1(vec![1i64, 2, 3])),
                Some(Tensor::vec1(vec![4i64, 5, 6])),
            ],
        )
        .unwrap();
        assert_eq!(y.shape(), &[] as &[usize]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[32]);
        // [2,1,2,3] @ [3,3,1]: batch dims [2,1] and [3] broadcast to [2,3].
        let a = t(&[2, 1, 2, 3], (0..12).map(|v| v as f32).collect());
        let b = t(&[3, 3, 1], (0..9).map(|v| v as f32).collect());
        let y = eval1(&MatMul, &[Some(a), Some(b)]).unwrap();
        assert_eq!(y.shape(), &[2, 3, 2, 1]);
        // numpy: (np.arange(12.).reshape(2,1,2,3) @ np.arange(9.).reshape(3,3,1)).ravel()
        let want = [5., 14., 14., 50., 23., 86., 23., 32., 86., 122., 149., 212.];
        assert_eq!(y.as_slice::<f32>().unwrap(), &want);
    }

    #[test]
    fn cost_counts_batched_macs() {
        let tt = |s: &[usize]| TensorType::known(DType::F32, s);
        let (inputs, outputs) = ([tt(&[3, 1, 4, 5]), tt(&[2, 5, 6])], [tt(&[3, 2, 4, 6])]);
        let ctx = CostCtx {
            inputs: &inputs,
            outputs: &outputs,
            is_param: &[false, true],
        };
        let c = MatMul.cost(&ctx);
        assert_eq!((c.macs, c.params), (3 * 2 * 4 * 6 * 5, 60));
        let (inputs, outputs) = ([tt(&[5]), tt(&[5])], [tt(&[])]);
        let ctx = CostCtx {
            inputs: &inputs,
            outputs: &outputs,
            is_param: &[false, false],
        };
        assert_eq!(MatMul.cost(&ctx).macs, 5);
    }

    #[test]
    fn one_d_times_matrix_and_errors() {
        let y = eval1(
            &MatMul,
            &[
                Some(t(&[2], vec![1., 2.])),
                Some(t(&[2, 3], vec![1., 2., 3., 4., 5., 6.])),
            ],
        )
        .unwrap();
        assert_eq!(y.shape(), &[3]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[9., 12., 15.]);
        assert!(eval1(
            &MatMul,
            &[Some(t(&[2], vec![1., 2.])), Some(t(&[3], vec![1., 2., 3.]))]
        )
        .is_err());
        let ty = infer(
            &MatMul,
            &[
                Some(t(&[4, 2], vec![0.; 8])),
                Some(t(&[5, 2, 3], vec![0.; 30])),
            ],
            1,
        )
        .unwrap();
        assert_eq!(ty[0], ValueType::known(DType::F32, &[5, 4, 3]));
    }
}
