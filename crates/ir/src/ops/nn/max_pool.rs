//! MaxPool: maximum over sliding windows, with optional argmax indices.
//! Spec: <https://onnx.ai/onnx/operators/onnx__MaxPool.html>
//!
//! Attributes: `kernel_shape` (required), `auto_pad`, `pads`, `strides`, `dilations` (opset
//! 10+), `ceil_mode` (opset 10+), `storage_order` (opset 8+; 0 row-major, 1 column-major
//! indices).
//! Input: `X` `[N, C, D1...]`. Outputs: `Y`, optional `Indices` (int64, opset 8+): flat
//! offsets into X, `(n * C + c) * prod(D) + offset in the plane`.
//! Opsets: 1, 8 (Indices, storage_order), 10 (ceil_mode, dilations), 11 (pads semantics),
//! 12 (int8/uint8), 22 (bf16). Padding never wins the max; NaNs are skipped unless the window
//! holds only NaNs.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::Axis;
use crate::ops::nn::pooling::{for_each_window, out_shape, PoolAttrs};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, Value, ValueType};
use edgeopt_tensor::{bf16, f16, DType, Elem, Tensor};

#[derive(Clone, Debug)]
pub struct MaxPool {
    pub pool: PoolAttrs,
    pub storage_order: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let pool = PoolAttrs::parse("MaxPool", ctx.attrs, true)?;
    let storage_order = ctx.attrs.int("storage_order")?;
    if storage_order.is_some_and(|s| s != 0 && s != 1) {
        bail!("MaxPool: storage_order must be 0 or 1, got {storage_order:?}");
    }
    Ok(Box::new(MaxPool {
        pool,
        storage_order,
    }))
}

/// NaN test for any ordered element type (only floats have unordered values).
fn is_nan<T: PartialOrd>(v: T) -> bool {
    v.partial_cmp(&v).is_none()
}

/// Row-major plane offset to the column-major one (first spatial axis fastest).
fn column_major(mut r: usize, axes: &[Axis]) -> usize {
    let mut idx = vec![0; axes.len()];
    for (d, a) in axes.iter().enumerate().rev() {
        idx[d] = r % a.input;
        r /= a.input;
    }
    let (mut off, mut stride) = (0, 1);
    for (d, a) in axes.iter().enumerate() {
        off += idx[d] * stride;
        stride *= a.input;
    }
    off
}

impl MaxPool {
    fn run<T: Elem + PartialOrd + bytemuck::NoUninit>(
        &self,
        x: &Tensor,
        lowest: T,
    ) -> Result<(Tensor, Tensor)> {
        let axes = self.pool.axes("MaxPool", x.shape())?;
        let shape = out_shape(x.shape(), &axes)?;
        let xv = x.as_slice::<T>()?;
        let planes = shape[0] * shape[1];
        let (pin, pout): (usize, usize) = (
            axes.iter().map(|a| a.input).product(),
            axes.iter().map(|a| a.output).product(),
        );
        let mut y = Vec::with_capacity(planes * pout);
        let mut idx = Vec::with_capacity(planes * pout);
        let col = self.storage_order == Some(1);
        for p in 0..planes {
            let plane = &xv[p * pin..(p + 1) * pin];
            for_each_window(&axes, |_, ins, _| {
                let mut best: Option<(T, usize)> = None;
                for &i in ins {
                    let v = plane[i];
                    let nan = is_nan(v);
                    match best {
                        None => best = Some((v, i)),
                        Some((b, _)) if !nan && (v > b || is_nan(b)) => best = Some((v, i)),
                        _ => {}
                    }
                }
                let (v, i) = best.unwrap_or((lowest, usize::MAX));
                y.push(v);
                idx.push(match i {
                    usize::MAX => -1,
                    i if col => (p * pin + column_major(i, &axes)) as i64,
                    i => (p * pin + i) as i64,
                });
            });
        }
        Ok((
            Tensor::from_vec(shape.clone(), y)?,
            Tensor::from_vec(shape, idx)?,
        ))
    }
}

impl Op for MaxPool {
    fn op_type(&self) -> &str {
        "MaxPool"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let y = self.pool.infer("MaxPool", &ctx.tensor(0), None)?;
        let mut out = vec![y.clone()];
        if ctx.num_outputs > 1 {
            let shape = y.shape().cloned();
            out.push(ValueType::Tensor(crate::TensorType {
                dtype: Some(DType::I64),
                shape,
            }));
        }
        Ok(out)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let (y, i) = match x.dtype() {
            DType::F32 => self.run::<f32>(x, f32::NEG_INFINITY)?,
            DType::F64 => self.run::<f64>(x, f64::NEG_INFINITY)?,
            DType::F16 => self.run::<f16>(x, f16::NEG_INFINITY)?,
            DType::BF16 => self.run::<bf16>(x, bf16::NEG_INFINITY)?,
            DType::I8 => self.run::<i8>(x, i8::MIN)?,
            DType::U8 => self.run::<u8>(x, u8::MIN)?,
            d => bail!("MaxPool: dtype {d} is not supported"),
        };
        let mut out = vec![y.into()];
        if ctx.num_outputs > 1 {
            out.push(i.into());
        }
        Ok(out)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.pool
            .export(AttrList::default())
            .opt_int("storage_order", self.storage_order)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::nn::common::WindowAttrs;
    use crate::ops::testing::{eval, infer};

    fn op(kernel: &[i64], f: impl FnOnce(&mut MaxPool)) -> MaxPool {
        let window = WindowAttrs {
            kernel_shape: Some(kernel.to_vec()),
            ..Default::default()
        };
        let mut o = MaxPool {
            pool: PoolAttrs {
                window,
                ceil_mode: None,
            },
            storage_order: None,
        };
        f(&mut o);
        o
    }

    fn run(o: &MaxPool, x: Tensor) -> (Tensor, Vec<i64>) {
        let out = eval(o, &[Some(x)], 2).unwrap();
        let y = out[0].as_tensor().unwrap().clone();
        (y, out[1].as_tensor().unwrap().to_vec::<i64>().unwrap())
    }

    #[test]
    fn spec_with_argmax_precomputed_strides() {
        // test_maxpool_with_argmax_2d_precomputed_strides: 5x5 arange+1, kernel 2, stride 2.
        let x = Tensor::from_vec(vec![1, 1, 5, 5], (1..=25).map(|v| v as f32).collect()).unwrap();
        let o = op(&[2, 2], |o| {
            o.pool.window.strides = Some(vec![2, 2]);
            o.storage_order = Some(1);
        });
        let (y, i) = run(&o, x);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[7., 9., 17., 19.]);
        assert_eq!(i, vec![6, 16, 8, 18]);
    }

    #[test]
    fn spec_pads_and_ceil() {
        // test_maxpool_2d_precomputed_pads: 5x5, kernel 5, pads 2 -> first row [13,14,15,15,15].
        let x = Tensor::from_vec(vec![1, 1, 5, 5], (1..=25).map(|v| v as f32).collect()).unwrap();
        let o = op(&[5, 5], |o| o.pool.window.pads = Some(vec![2; 4]));
        let (y, i) = run(&o, x);
        assert_eq!(
            &y.as_slice::<f32>().unwrap()[..5],
            &[13., 14., 15., 15., 15.]
        );
        assert_eq!(&i[..5], &[12, 13, 14, 14, 14]);
        // test_maxpool_2d_ceil: 4x4, kernel 3, stride 2, ceil -> 2x2 [11, 12, 15, 16].
        let x = Tensor::from_vec(vec![1, 1, 4, 4], (1..=16).map(|v| v as f32).collect()).unwrap();
        let o = op(&[3, 3], |o| {
            o.pool.window.strides = Some(vec![2, 2]);
            o.pool.ceil_mode = Some(1);
        });
        let (y, _) = run(&o, x.clone());
        assert_eq!(y.as_slice::<f32>().unwrap(), &[11., 12., 15., 16.]);
        assert_eq!(
            infer(&o, &[Some(x)], 2).unwrap()[1],
            ValueType::known(DType::I64, &[1, 1, 2, 2])
        );
    }

    #[test]
    fn uint8_dilations_and_nan() {
        // test_maxpool_2d_dilations: 4x4 arange+1, kernel 2, dilation 2 -> [11, 12, 15, 16].
        let x = Tensor::from_vec(vec![1, 1, 4, 4], (1..=16u8).collect()).unwrap();
        let o = op(&[2, 2], |o| o.pool.window.dilations = Some(vec![2, 2]));
        let (y, _) = run(&o, x);
        assert_eq!(y.as_slice::<u8>().unwrap(), &[11, 12, 15, 16]);
        let x = Tensor::from_vec(vec![1, 1, 3], vec![f32::NAN, 1.0, f32::NAN]).unwrap();
        let (y, i) = run(&op(&[2], |_| {}), x);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0, 1.0]);
        assert_eq!(i, vec![1, 1]);
        assert!(eval(&op(&[2, 2], |_| {}), &[Some(Tensor::vec1(vec![1f32]))], 1).is_err());
    }
}
