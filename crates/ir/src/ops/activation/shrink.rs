//! Shrink: `y = x + bias` for `x < -lambd`, `x - bias` for `x > lambd`, else 0.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Shrink.html>. Since opset 9.
//!
//! Attributes `bias` (float, default 0.0) and `lambd` (float, default 0.5).
//! Input X: any numeric type T; output Y: T, same shape. Integer inputs compute in f64 and
//! truncate back, as the ONNX reference does.

use super::common::map_float;
use crate::attr::{AttrList, Attribute};
use crate::registry::BuildCtx;
use crate::{dispatch_num, float_activation_op, Result};
use edgeopt_tensor::{Numeric, Tensor};

#[derive(Clone, Debug)]
pub struct Shrink {
    pub bias: f32,
    pub lambd: f32,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn crate::op::Op>> {
    Ok(Box::new(Shrink {
        bias: ctx.attrs.float_or("bias", 0.0)?,
        lambd: ctx.attrs.float_or("lambd", 0.5)?,
    }))
}

fn shrink(v: f64, bias: f64, lambd: f64) -> f64 {
    if v < -lambd {
        v + bias
    } else if v > lambd {
        v - bias
    } else {
        0.0
    }
}

fn map_int<T: Numeric + bytemuck::NoUninit>(x: &Tensor, bias: f64, lambd: f64) -> Result<Tensor> {
    let y = x
        .as_slice::<T>()?
        .iter()
        .map(|&v| T::from_f64(shrink(v.as_f64(), bias, lambd)))
        .collect();
    Ok(Tensor::from_vec(x.shape().to_vec(), y)?)
}

impl Shrink {
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (b, l) = (self.bias, self.lambd);
        let (b64, l64) = (b as f64, l as f64);
        if x.dtype().is_float() {
            let f = |v: f32| {
                if v < -l {
                    v + b
                } else if v > l {
                    v - b
                } else {
                    0.0
                }
            };
            return map_float("Shrink", x, f, |v| shrink(v, b64, l64));
        }
        Ok(dispatch_num!(x.dtype(), T => map_int::<T>(x, b64, l64)?))
    }

    fn attrs(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .float("bias", self.bias)
            .float("lambd", self.lambd)
            .build()
    }
}

float_activation_op!(Shrink, "Shrink", 2);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn hard_and_soft() {
        // test_shrink_hard (lambd 1.5) and test_shrink_soft (lambd 1.5, bias 1.5) on -2..=2.
        let x = || Some(Tensor::vec1(vec![-2f32, -1., 0., 1., 2.]));
        let y = eval1(
            &Shrink {
                bias: 0.0,
                lambd: 1.5,
            },
            &[x()],
        )
        .unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), [-2., 0., 0., 0., 2.]);
        let y = eval1(
            &Shrink {
                bias: 1.5,
                lambd: 1.5,
            },
            &[x()],
        )
        .unwrap();
        assert_eq!(y.to_vec::<f32>().unwrap(), [-0.5, 0., 0., 0., 0.5]);
        let y = eval1(
            &Shrink {
                bias: 1.0,
                lambd: 1.5,
            },
            &[Some(Tensor::vec1(vec![-3i32, 1, 5]))],
        )
        .unwrap();
        assert_eq!(y.to_vec::<i32>().unwrap(), [-2, 0, 4]);
    }
}
