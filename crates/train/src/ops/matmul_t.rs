//! MatMulT: `Y = alpha * op(A) * op(B)` with optional transposes of the last two axes and
//! numpy broadcasting of the leading (batch) axes. The workhorse of Gemm/MatMul gradients.

use super::util::{f32_in, gemm, numel, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};
use edgeopt_tensor::DType;

/// `Y = alpha * op(A) * op(B)`; A `[..., ar, ac]`, B `[..., br, bc]`, batch axes broadcast.
#[derive(Clone, Debug)]
pub struct MatMulT {
    pub trans_a: bool,
    pub trans_b: bool,
    pub alpha: f32,
}

/// Numpy broadcast of two batch shapes, or `None` if they do not fit.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let da = if i + a.len() >= r {
                a[i + a.len() - r]
            } else {
                1
            };
            let db = if i + b.len() >= r {
                b[i + b.len() - r]
            } else {
                1
            };
            match (da, db) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

/// Flat offset in a (possibly broadcast) batch shape of the batch index `i` of `full`.
fn batch_offset(i: usize, full: &[usize], own: &[usize]) -> usize {
    let (mut rem, mut off, mut stride) = (i, 0, 1);
    for d in (0..full.len()).rev() {
        let idx = rem % full[d];
        rem /= full[d];
        let k = d as isize - (full.len() as isize - own.len() as isize);
        if k >= 0 {
            let od = own[k as usize];
            if od != 1 {
                off += idx * stride;
            }
            stride *= od;
        }
    }
    off
}

impl Op for MatMulT {
    fn op_type(&self) -> &str {
        "MatMulT"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let (a, b) = (ctx.tensor(0).shape, ctx.tensor(1).shape);
        let shape = match (a, b) {
            (Some(a), Some(b)) if a.len() == 2 && b.len() == 2 => Some(vec![
                a[usize::from(self.trans_a)].clone(),
                b[usize::from(!self.trans_b)].clone(),
            ]),
            _ => None,
        };
        Ok(vec![match shape {
            Some(s) => ValueType::tensor(DType::F32, s),
            None => ValueType::dtype_only(DType::F32),
        }])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, sa) = f32_in("MatMulT", inputs, 0)?;
        let (b, sb) = f32_in("MatMulT", inputs, 1)?;
        if sa.len() < 2 || sb.len() < 2 {
            bail!("MatMulT: A {sa:?} and B {sb:?} must have rank >= 2");
        }
        let (ar, ac) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (br, bc) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        let (m, ka) = if self.trans_a { (ac, ar) } else { (ar, ac) };
        let (kb, n) = if self.trans_b { (bc, br) } else { (br, bc) };
        let (ba, bb) = (&sa[..sa.len() - 2], &sb[..sb.len() - 2]);
        let Some(batch) = broadcast(ba, bb).filter(|_| ka == kb) else {
            bail!(
                "MatMulT: A {sa:?} (trans {}) and B {sb:?} (trans {}) do not fit",
                self.trans_a,
                self.trans_b
            );
        };
        let nb = numel(&batch);
        let mut y = vec![0f32; edgeopt_tensor::shape::checked_numel(&[nb, m, n])?];
        for i in 0..nb {
            let oa = batch_offset(i, &batch, ba) * ar * ac;
            let ob = batch_offset(i, &batch, bb) * br * bc;
            gemm(
                &a[oa..oa + ar * ac],
                (ar, ac),
                self.trans_a,
                &b[ob..ob + br * bc],
                (br, bc),
                self.trans_b,
                &mut y[i * m * n..(i + 1) * m * n],
                self.alpha,
                0.0,
            )?;
        }
        let mut shape = batch;
        shape.extend([m, n]);
        Ok(vec![out(&shape, y)?])
    }
}
