//! AveragePool: mean over sliding windows.
//! Spec: <https://onnx.ai/onnx/operators/onnx__AveragePool.html>
//!
//! Attributes: `kernel_shape` (required), `auto_pad`, `pads`, `strides`, `count_include_pad`
//! (opset 7+, default 0: divide by the number of input elements in the window; 1: also count
//! explicit padding, but never the extra cells a ceil_mode window reaches past it),
//! `ceil_mode` (opset 10+), `dilations` (opset 19+).
//! Input/output: `X` `[N, C, D1...]` -> `Y` `[N, C, O1...]`, float types.
//! Opsets: 1, 7, 10, 11, 19, 22.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::pooling::{pool_f64, PoolAttrs};
use crate::registry::BuildCtx;
use crate::{Attribute, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct AveragePool {
    pub pool: PoolAttrs,
    pub count_include_pad: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let pool = PoolAttrs::parse("AveragePool", ctx.attrs, ctx.opset >= 19)?;
    Ok(Box::new(AveragePool {
        pool,
        count_include_pad: ctx.attrs.int("count_include_pad")?,
    }))
}

impl Op for AveragePool {
    fn op_type(&self) -> &str {
        "AveragePool"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![self.pool.infer(
            "AveragePool",
            &ctx.tensor(0),
            None,
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let include = self.count_include_pad.unwrap_or(0) != 0;
        let y = pool_f64(
            "AveragePool",
            &self.pool,
            inputs.tensor(0)?,
            include,
            |vals, n| {
                if n == 0 {
                    0.0
                } else {
                    vals.sum::<f64>() / n as f64
                }
            },
        )?;
        Ok(vec![y.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.pool
            .export(AttrList::default())
            .opt_int("count_include_pad", self.count_include_pad)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::nn::common::WindowAttrs;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    fn op(kernel: &[i64], f: impl FnOnce(&mut AveragePool)) -> AveragePool {
        let window = WindowAttrs {
            kernel_shape: Some(kernel.to_vec()),
            ..Default::default()
        };
        let mut o = AveragePool {
            pool: PoolAttrs {
                window,
                ceil_mode: None,
            },
            count_include_pad: None,
        };
        f(&mut o);
        o
    }

    fn x55() -> Tensor {
        Tensor::from_vec(vec![1, 1, 5, 5], (1..=25).map(|v| v as f32).collect()).unwrap()
    }

    #[test]
    fn spec_precomputed_pads_with_and_without_count_include_pad() {
        // test_averagepool_2d_precomputed_pads(_count_include_pad): kernel 5, pads 2.
        let o = op(&[5, 5], |o| o.pool.window.pads = Some(vec![2; 4]));
        let y = eval1(&o, &[Some(x55())]).unwrap();
        assert_eq!(&y.as_slice::<f32>().unwrap()[..3], &[7.0, 7.5, 8.0]);
        let o = op(&[5, 5], |o| {
            o.pool.window.pads = Some(vec![2; 4]);
            o.count_include_pad = Some(1);
        });
        let y = eval1(&o, &[Some(x55())]).unwrap();
        let want = [2.52, 3.6, 4.8];
        crate::ops::testing::assert_close(&y.as_slice::<f32>().unwrap()[..3], &want, 1e-6, 1e-6);
    }

    #[test]
    fn spec_same_upper_and_ceil() {
        // test_averagepool_2d_precomputed_same_upper: kernel 3, stride 2 -> 3x3.
        let o = op(&[3, 3], |o| {
            o.pool.window.strides = Some(vec![2, 2]);
            o.pool.window.auto_pad = Some("SAME_UPPER".into());
        });
        let y = eval1(&o, &[Some(x55())]).unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[4., 5.5, 7., 11.5, 13., 14.5, 19., 20.5, 22.]
        );
        // test_averagepool_2d_ceil: 4x4, kernel 3, stride 2 -> [6, 7.5, 12, 13.5].
        let x = Tensor::from_vec(vec![1, 1, 4, 4], (1..=16).map(|v| v as f32).collect()).unwrap();
        let o = op(&[3, 3], |o| {
            o.pool.window.strides = Some(vec![2, 2]);
            o.pool.ceil_mode = Some(1);
        });
        let y = eval1(&o, &[Some(x)]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[6., 7.5, 12., 13.5]);
    }
}
