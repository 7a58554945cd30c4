//! GlobalAveragePool, GlobalMaxPool, GlobalLpPool: one reduction over all spatial axes,
//! `X` `[N, C, D1...]` -> `Y` `[N, C, 1, 1...]`. Float types.
//! Spec: <https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html>,
//! <https://onnx.ai/onnx/operators/onnx__GlobalMaxPool.html>,
//! <https://onnx.ai/onnx/operators/onnx__GlobalLpPool.html>
//!
//! Attributes: none, except GlobalLpPool's `p` (2; a float in opset 1, an int from opset 2).
//! Opsets: 1, 2 (GlobalLpPool), 22 (bf16).

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::lp_pool::{lp_norm, p_value, read_p};
use crate::ops::nn::pooling::global_shape;
use crate::registry::{BuildCtx, Registry};
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalKind {
    Average,
    Max,
    Lp,
}

#[derive(Clone, Debug)]
pub struct GlobalPool {
    pub kind: GlobalKind,
    /// GlobalLpPool's `p` as written.
    pub p: Option<Attribute>,
}

impl GlobalPool {
    fn name(&self) -> &'static str {
        match self.kind {
            GlobalKind::Average => "GlobalAveragePool",
            GlobalKind::Max => "GlobalMaxPool",
            GlobalKind::Lp => "GlobalLpPool",
        }
    }

    fn reduce(&self, v: &[f64]) -> f64 {
        match self.kind {
            GlobalKind::Average => v.iter().sum::<f64>() / v.len() as f64,
            // NaN-propagating max, like a reduction in numpy.
            GlobalKind::Max => {
                v.iter().copied().fold(
                    f64::NEG_INFINITY,
                    |a, b| if b > a || b.is_nan() { b } else { a },
                )
            }
            GlobalKind::Lp => lp_norm(&mut v.iter().copied(), p_value(&self.p)),
        }
    }
}

fn build_kind(ctx: &mut BuildCtx, kind: GlobalKind) -> Result<Box<dyn Op>> {
    let p = if kind == GlobalKind::Lp {
        read_p("GlobalLpPool", ctx.attrs)?.0
    } else {
        None
    };
    Ok(Box::new(GlobalPool { kind, p }))
}

pub fn register(r: &mut Registry) {
    r.register("", "GlobalAveragePool", |c| {
        build_kind(c, GlobalKind::Average)
    });
    r.register("", "GlobalMaxPool", |c| build_kind(c, GlobalKind::Max));
    r.register("", "GlobalLpPool", |c| build_kind(c, GlobalKind::Lp));
}

impl Op for GlobalPool {
    fn op_type(&self) -> &str {
        self.name()
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        if let Some(s) = &x.shape {
            if s.len() < 3 {
                bail!(
                    "{}: input must be [N, C, D1, ...], got rank {}",
                    self.name(),
                    s.len()
                );
            }
        }
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape: x.shape.as_deref().map(global_shape),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let s = x.shape();
        if s.len() < 3 || !x.dtype().is_float() {
            bail!(
                "{}: input must be a float [N, C, D1, ...] tensor, got {} {s:?}",
                self.name(),
                x.dtype()
            );
        }
        let plane: usize = s[2..].iter().product();
        let xv = x.to_f64_vec()?;
        let y: Vec<f64> = if plane == 0 {
            vec![f64::NAN; s[0] * s[1]]
        } else {
            xv.chunks(plane).map(|c| self.reduce(c)).collect()
        };
        let shape: Vec<usize> = s
            .iter()
            .enumerate()
            .map(|(i, &d)| if i < 2 { d } else { 1 })
            .collect();
        Ok(vec![Tensor::from_f64s(x.dtype(), shape, &y)?.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.p
            .iter()
            .map(|p| ("p".to_string(), p.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::DType;

    #[test]
    fn spec_precomputed() {
        // test_globalaveragepool_precomputed / test_globalmaxpool_precomputed: 3x3 arange+1.
        let x = Tensor::from_vec(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect()).unwrap();
        let avg = GlobalPool {
            kind: GlobalKind::Average,
            p: None,
        };
        assert_eq!(
            eval1(&avg, &[Some(x.clone())])
                .unwrap()
                .as_slice::<f32>()
                .unwrap(),
            &[5.0]
        );
        let max = GlobalPool {
            kind: GlobalKind::Max,
            p: None,
        };
        let y = eval1(&max, &[Some(x.clone())]).unwrap();
        assert_eq!(
            (y.shape(), y.as_slice::<f32>().unwrap()),
            (&[1usize, 1, 1, 1][..], &[9.0f32][..])
        );
        let lp = GlobalPool {
            kind: GlobalKind::Lp,
            p: Some(Attribute::Int(1)),
        };
        assert_eq!(
            eval1(&lp, &[Some(x.clone())])
                .unwrap()
                .as_slice::<f32>()
                .unwrap(),
            &[45.0]
        );
        assert_eq!(
            infer(&avg, &[Some(x)], 1).unwrap()[0],
            ValueType::known(DType::F32, &[1, 1, 1, 1])
        );
    }
}
