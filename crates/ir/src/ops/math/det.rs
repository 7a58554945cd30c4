//! Det: determinant of each square matrix in a batch.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Det.html>.
//!
//! Input X: float type T, shape `[*, M, M]`; output Y: T, shape `[*]`.
//! Opset differences: 11 has f16/f32/f64; 22 adds bf16.
//! Computed by LU decomposition with partial pivoting in f64.

use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Det;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Det))
}

/// Determinant of the row-major `n x n` matrix `a` (overwritten).
fn det(a: &mut [f64], n: usize) -> f64 {
    let mut d = 1.0;
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs()))
            .unwrap_or(c);
        if a[p * n + c] == 0.0 {
            return 0.0;
        }
        if p != c {
            for k in 0..n {
                a.swap(p * n + k, c * n + k);
            }
            d = -d;
        }
        let piv = a[c * n + c];
        d *= piv;
        for r in c + 1..n {
            let f = a[r * n + c] / piv;
            for k in c..n {
                a[r * n + k] -= f * a[c * n + k];
            }
        }
    }
    d
}

impl Op for Det {
    fn op_type(&self) -> &str {
        "Det"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let shape = match &x.shape {
            Some(s) if s.len() < 2 => bail!("Det: input X must have rank >= 2, got shape {s:?}"),
            Some(s) => {
                if let (Dim::Known(a), Dim::Known(b)) = (&s[s.len() - 2], &s[s.len() - 1]) {
                    if a != b {
                        bail!("Det: matrices must be square, got {a}x{b}");
                    }
                }
                Some(s[..s.len() - 2].to_vec())
            }
            None => None,
        };
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let s = x.shape();
        if s.len() < 2 || s[s.len() - 1] != s[s.len() - 2] {
            bail!("Det: input X must be a batch of square matrices [*, M, M], got shape {s:?}");
        }
        if !x.dtype().is_float() || x.dtype().is_encoded() {
            bail!(
                "Det: input X must be f16, bf16, f32 or f64, got {}",
                x.dtype()
            );
        }
        let n = s[s.len() - 1];
        let v = x.to_f64_vec()?;
        let batch = s[..s.len() - 2].to_vec();
        let mut out = Vec::with_capacity(batch.iter().product());
        if n == 0 {
            out.resize(batch.iter().product(), 1.0);
        } else {
            for m in v.chunks(n * n) {
                out.push(det(&mut m.to_vec(), n));
            }
        }
        Ok(vec![Tensor::from_f64s(x.dtype(), batch, &out)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let n = ctx
            .input_shape(0)
            .and_then(|s| s.last().copied())
            .unwrap_or(0) as u64;
        Cost {
            flops: ctx.output_elems(0) * (2 * n * n * n / 3).max(1),
            ..ctx.movement()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn batch_of_determinants() {
        // test_det_nd: det([[1,2],[3,4]]) = -2, det([[1,2],[2,1]]) = -3, det([[1,3],[3,1]]) = -8.
        let x = Tensor::from_vec(
            vec![3, 2, 2],
            vec![1f32, 2., 3., 4., 1., 2., 2., 1., 1., 3., 3., 1.],
        )
        .unwrap();
        let y = eval1(&Det, &[Some(x)]).unwrap();
        assert_eq!(y.shape(), &[3]);
        assert_close(&y.to_vec::<f32>().unwrap(), &[-2., -3., -8.], 1e-5, 1e-5);
        // A pivot is needed here (zero in the corner), and a singular matrix gives 0.
        let x = Tensor::from_vec(vec![3, 3], vec![0f64, 1., 2., 1., 0., 3., 4., -3., 8.]).unwrap();
        assert!(
            (eval1(&Det, &[Some(x)]).unwrap().to_vec::<f64>().unwrap()[0] - -2.0).abs() < 1e-12
        );
        let x = Tensor::from_vec(vec![2, 2], vec![1f64, 2., 2., 4.]).unwrap();
        assert_eq!(
            eval1(&Det, &[Some(x)]).unwrap().to_vec::<f64>().unwrap(),
            [0.0]
        );
        assert!(eval1(
            &Det,
            &[Some(Tensor::from_vec(vec![2, 3], vec![0f32; 6]).unwrap())]
        )
        .is_err());
    }
}
