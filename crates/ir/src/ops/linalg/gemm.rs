//! Gemm: `Y = alpha * A' * B' + beta * C`, with `A'`/`B'` optionally transposed.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Gemm.html>
//!
//! Attributes: `alpha` (1.0), `beta` (1.0), `transA` (0), `transB` (0); `broadcast` (opsets 1-6,
//! 0: C must already be `[M, N]`).
//! Inputs: `A` (2-D), `B` (2-D), `C` (optional from opset 11; broadcast unidirectionally to
//! `[M, N]` from opset 7). Output: `Y` `[M, N]`.
//! Opsets: 1, 6, 7 (broadcast attribute removed), 9 (integer types), 11 (C optional), 13 (bf16).

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::ops::linalg::common::{
    count_product, f32_to_float, float_to_f32, gemm_acc, transpose, Scalar,
};
use crate::ops::util::broadcast_to;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::{broadcast_shapes, checked_numel};
use edgeopt_tensor::{DType, Numeric, Tensor};

#[derive(Clone, Debug)]
pub struct Gemm {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
    /// Only in opsets before 7.
    pub broadcast: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    Ok(Box::new(Gemm {
        alpha: a.float_or("alpha", 1.0)?,
        beta: a.float_or("beta", 1.0)?,
        trans_a: a.int_or("transA", 0)? != 0,
        trans_b: a.int_or("transB", 0)? != 0,
        broadcast: a.int("broadcast")?,
    }))
}

/// (M, K, N) from the shapes of A and B and the transposition flags.
fn dims(self_: &Gemm, a: &[usize], b: &[usize]) -> Result<(usize, usize, usize)> {
    if a.len() != 2 || b.len() != 2 {
        bail!("Gemm: A and B must be 2-D, got A {a:?} and B {b:?}");
    }
    let (m, k) = if self_.trans_a {
        (a[1], a[0])
    } else {
        (a[0], a[1])
    };
    let (k2, n) = if self_.trans_b {
        (b[1], b[0])
    } else {
        (b[0], b[1])
    };
    if k != k2 {
        bail!(
            "Gemm: inner dimensions differ: A {a:?} (transA={}), B {b:?} (transB={})",
            self_.trans_a,
            self_.trans_b
        );
    }
    Ok((m, k, n))
}

impl Gemm {
    fn product<T: Scalar + Numeric>(
        &self,
        a: &[T],
        b: &[T],
        c: Option<Vec<T>>,
        (m, k, n): (usize, usize, usize),
    ) -> Vec<T> {
        let at;
        let a = if self.trans_a {
            at = transpose(a, k, m);
            &at[..]
        } else {
            a
        };
        let bt;
        let b = if self.trans_b {
            bt = transpose(b, n, k);
            &bt[..]
        } else {
            b
        };
        let mut y = vec![T::default(); m * n];
        gemm_acc(m, n, k, a, k, b, n, &mut y, n);
        let (alpha, beta) = (self.alpha as f64, self.beta as f64);
        match c {
            Some(c) if alpha == 1.0 && beta == 1.0 => {
                let one = T::from_f64(1.0);
                y.iter_mut()
                    .zip(c)
                    .for_each(|(y, c)| *y = T::mul_add(*y, c, one));
            }
            Some(c) => {
                y.iter_mut()
                    .zip(c)
                    .for_each(|(y, c)| *y = T::from_f64(alpha * y.as_f64() + beta * c.as_f64()));
            }
            None if alpha != 1.0 => y
                .iter_mut()
                .for_each(|y| *y = T::from_f64(alpha * y.as_f64())),
            None => {}
        }
        y
    }

    fn typed<T: Scalar + Numeric + bytemuck::NoUninit>(
        &self,
        a: &Tensor,
        b: &Tensor,
        c: Option<&Tensor>,
    ) -> Result<Tensor> {
        let d = dims(self, a.shape(), b.shape())?;
        let c = match c {
            Some(c) => Some(broadcast_to::<T>(c, &[d.0, d.2])?),
            None => None,
        };
        Ok(Tensor::from_vec(
            vec![d.0, d.2],
            self.product(a.as_slice::<T>()?, b.as_slice::<T>()?, c, d),
        )?)
    }

    fn half(&self, a: &Tensor, b: &Tensor, c: Option<&Tensor>) -> Result<Tensor> {
        let d = dims(self, a.shape(), b.shape())?;
        let c = match c {
            Some(c) => {
                let wide = Tensor::from_vec(c.shape().to_vec(), float_to_f32(c)?)?;
                Some(broadcast_to::<f32>(&wide, &[d.0, d.2])?)
            }
            None => None,
        };
        let y = self.product(&float_to_f32(a)?, &float_to_f32(b)?, c, d);
        f32_to_float(a.dtype(), vec![d.0, d.2], y)
    }
}

impl Op for Gemm {
    fn op_type(&self) -> &str {
        "Gemm"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (a, b) = (ctx.tensor(0), ctx.tensor(1));
        let shape = match (&a.shape, &b.shape) {
            (Some(sa), Some(sb)) => {
                if sa.len() != 2 || sb.len() != 2 {
                    bail!(
                        "Gemm: A and B must be 2-D, got ranks {} and {}",
                        sa.len(),
                        sb.len()
                    );
                }
                let m = if self.trans_a { &sa[1] } else { &sa[0] };
                let n = if self.trans_b { &sb[0] } else { &sb[1] };
                Some(vec![m.clone(), n.clone()])
            }
            _ => None,
        };
        if let (Some(s), Some(c)) = (&shape, ctx.tensor(2).concrete_shape()) {
            if let Some(mn) = edgeopt_tensor::shape::concrete(s) {
                if broadcast_shapes(&c, &mn).ok().as_deref() != Some(&mn[..]) {
                    bail!("Gemm: C {c:?} does not broadcast to the output {mn:?}");
                }
            }
        }
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: a.dtype.or(b.dtype),
            shape,
        })])
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let c = if self.beta == 0.0 {
            None
        } else {
            inputs.opt_tensor(2)?
        };
        if a.dtype() != b.dtype() || c.is_some_and(|c| c.dtype() != a.dtype()) {
            bail!(
                "Gemm: A, B and C must share a dtype, got {}, {} and {:?}",
                a.dtype(),
                b.dtype(),
                c.map(|c| c.dtype())
            );
        }
        let (m, _, n) = dims(self, a.shape(), b.shape())?;
        checked_numel(&[m, n])?;
        if let Some(c) = c {
            if ctx.opset < 7 && self.broadcast.unwrap_or(0) == 0 && c.shape() != [m, n] {
                bail!(
                    "Gemm: without broadcast, C must be [{m}, {n}], got {:?}",
                    c.shape()
                );
            }
        }
        let y = match a.dtype() {
            DType::F32 => self.typed::<f32>(a, b, c)?,
            DType::F64 => self.typed::<f64>(a, b, c)?,
            DType::I32 => self.typed::<i32>(a, b, c)?,
            DType::I64 => self.typed::<i64>(a, b, c)?,
            DType::U32 => self.typed::<u32>(a, b, c)?,
            DType::U64 => self.typed::<u64>(a, b, c)?,
            DType::F16 | DType::BF16 => self.half(a, b, c)?,
            d => bail!("Gemm: dtype {d} is not supported"),
        };
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let macs = match (ctx.input_shape(0), ctx.input_shape(1)) {
            (Some(a), Some(b)) => dims(self, &a, &b)
                .map(|(m, k, n)| count_product(&[m, k, n]))
                .unwrap_or(0),
            _ => 0,
        };
        Cost {
            macs,
            flops: ctx.output_elems(0),
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut l = AttrList::default();
        if self.alpha != 1.0 {
            l = l.float("alpha", self.alpha);
        }
        if self.beta != 1.0 {
            l = l.float("beta", self.beta);
        }
        if self.trans_a {
            l = l.int("transA", 1);
        }
        if self.trans_b {
            l = l.int("transB", 1);
        }
        l.opt_int("broadcast", self.broadcast).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, eval_opset};

    fn gemm(alpha: f32, beta: f32, ta: bool, tb: bool) -> Gemm {
        Gemm {
            alpha,
            beta,
            trans_a: ta,
            trans_b: tb,
            broadcast: None,
        }
    }

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn transposes_scales_and_broadcasts_c() {
        // numpy: a = arange(6).reshape(3,2) (so a.T is 2x3), b = arange(6).reshape(2,3) (b.T 3x2)
        // 0.5 * a.T @ b.T + 2 * [1, 2] = [[7, 18], [8.5, 24]]
        let a = t(&[3, 2], (0..6).map(|v| v as f32).collect());
        let b = t(&[2, 3], (0..6).map(|v| v as f32).collect());
        let c = t(&[2], vec![1., 2.]);
        let y = eval1(&gemm(0.5, 2.0, true, true), &[Some(a), Some(b), Some(c)]).unwrap();
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[7.0, 18.0, 8.5, 24.0]);
    }

    #[test]
    fn integer_and_half_types() {
        let a = Tensor::from_vec(vec![1, 2], vec![2i32, 3]).unwrap();
        let b = Tensor::from_vec(vec![2, 1], vec![4i32, 5]).unwrap();
        let c = Tensor::scalar(1i32);
        let y = eval1(&gemm(1.0, 1.0, false, false), &[Some(a), Some(b), Some(c)]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[24]);
        let h = |v: Vec<f32>, s: &[usize]| {
            Tensor::from_vec(
                s.to_vec(),
                v.into_iter()
                    .map(edgeopt_tensor::f16::from_f32)
                    .collect::<Vec<_>>(),
            )
            .unwrap()
        };
        let y = eval1(
            &gemm(1.0, 1.0, false, false),
            &[
                Some(h(vec![1., 2.], &[1, 2])),
                Some(h(vec![3., 4.], &[2, 1])),
                None,
            ],
        )
        .unwrap();
        assert_eq!(y.dtype(), DType::F16);
        assert_eq!(
            y.as_slice::<edgeopt_tensor::f16>().unwrap()[0].to_f32(),
            11.0
        );
    }

    #[test]
    fn shape_errors_and_old_broadcast_rule() {
        let a = t(&[2, 3], vec![0.; 6]);
        assert!(eval1(
            &gemm(1.0, 1.0, false, false),
            &[Some(a.clone()), Some(a.clone()), None]
        )
        .is_err());
        let b = t(&[3, 2], vec![0.; 6]);
        let c = t(&[2], vec![0.; 2]);
        let g = Gemm {
            broadcast: Some(0),
            ..gemm(1.0, 1.0, false, false)
        };
        assert!(eval_opset(
            &g,
            &[Some(a.clone()), Some(b.clone()), Some(c.clone())],
            1,
            6
        )
        .is_err());
        assert!(eval_opset(&g, &[Some(a), Some(b), Some(c)], 1, 13).is_ok());
    }
}
