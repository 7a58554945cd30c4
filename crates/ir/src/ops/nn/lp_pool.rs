//! LpPool: `(sum |x|^p)^(1/p)` over sliding windows (padding contributes zeros).
//! Spec: <https://onnx.ai/onnx/operators/onnx__LpPool.html>
//!
//! Attributes: `kernel_shape` (required), `p` (2; a float in opset 1, an int from opset 2),
//! `auto_pad`, `pads`, `strides`, `ceil_mode` and `dilations` (opset 18+).
//! Input/output: `X` `[N, C, D1...]` -> `Y` `[N, C, O1...]`, float types.
//! Opsets: 1, 2, 11, 18, 22.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::pooling::{pool_f64, PoolAttrs};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Attrs, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct LpPool {
    pub pool: PoolAttrs,
    /// `p` as written (float in opset 1, int after), kept for export.
    pub p: Option<Attribute>,
}

/// Reads `p` as written (an int, or a float in opset 1) and its value (default 2).
pub fn read_p(op: &str, a: &mut Attrs) -> Result<(Option<Attribute>, f64)> {
    let attr = a.take("p");
    let v = match &attr {
        None => 2.0,
        Some(Attribute::Int(v)) => *v as f64,
        Some(Attribute::Float(v)) => *v as f64,
        Some(other) => bail!(
            "{op}: attribute 'p' should be an int, found {}",
            other.kind()
        ),
    };
    if !(v > 0.0 && v.is_finite()) {
        bail!("{op}: p must be positive, got {v}");
    }
    Ok((attr, v))
}

pub fn p_value(p: &Option<Attribute>) -> f64 {
    match p {
        Some(Attribute::Int(v)) => *v as f64,
        Some(Attribute::Float(v)) => *v as f64,
        _ => 2.0,
    }
}

/// `(sum |v|^p)^(1/p)`, with exact paths for the common p = 1 and p = 2.
pub fn lp_norm(vals: &mut dyn Iterator<Item = f64>, p: f64) -> f64 {
    if p == 1.0 {
        vals.map(f64::abs).sum()
    } else if p == 2.0 {
        vals.map(|v| v * v).sum::<f64>().sqrt()
    } else {
        vals.map(|v| v.abs().powf(p)).sum::<f64>().powf(1.0 / p)
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let pool = PoolAttrs::parse("LpPool", ctx.attrs, ctx.opset >= 18)?;
    let (p, _) = read_p("LpPool", ctx.attrs)?;
    Ok(Box::new(LpPool { pool, p }))
}

impl Op for LpPool {
    fn op_type(&self) -> &str {
        "LpPool"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![self.pool.infer("LpPool", &ctx.tensor(0), None)?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let p = p_value(&self.p);
        let y = pool_f64("LpPool", &self.pool, inputs.tensor(0)?, false, |vals, _| {
            lp_norm(vals, p)
        })?;
        Ok(vec![y.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut l = self.pool.export(AttrList::default());
        if let Some(p) = &self.p {
            l.0.push(("p".into(), p.clone()));
        }
        l.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::nn::common::WindowAttrs;
    use crate::ops::testing::{assert_close, eval1};
    use edgeopt_tensor::Tensor;

    #[test]
    fn p2_and_p3_with_padding() {
        let window = WindowAttrs {
            kernel_shape: Some(vec![2]),
            pads: Some(vec![1, 0]),
            ..Default::default()
        };
        let x = Tensor::from_vec(vec![1, 1, 3], vec![3f32, -4., 1.]).unwrap();
        let o = LpPool {
            pool: PoolAttrs {
                window: window.clone(),
                ceil_mode: None,
            },
            p: None,
        };
        let y = eval1(&o, &[Some(x.clone())]).unwrap();
        // Windows: [pad, 3], [3, -4], [-4, 1] -> 3, 5, sqrt(17).
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[3.0, 5.0, 17f32.sqrt()],
            1e-6,
            1e-6,
        );
        let o = LpPool {
            pool: PoolAttrs {
                window,
                ceil_mode: None,
            },
            p: Some(Attribute::Int(3)),
        };
        let y = eval1(&o, &[Some(x)]).unwrap();
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[3.0, 91f32.cbrt(), 65f32.cbrt()],
            1e-6,
            1e-6,
        );
    }
}
