//! Shared machinery for activations: an element-wise map over float tensors that computes in
//! f32 (f32, f16, bf16: half types round once, at the end) or f64, and the attribute-free
//! boilerplate of a one-input, same-type op.

use crate::registry::BuildCtx;
use crate::{bail, Result};
use edgeopt_tensor::{bf16, f16, DType, Tensor};

/// `f32` / `f64` versions of one scalar function, applied by input dtype. Errors name `op`.
pub fn map_float(
    op: &str,
    x: &Tensor,
    f32: impl Fn(f32) -> f32,
    f64: impl Fn(f64) -> f64,
) -> Result<Tensor> {
    let shape = x.shape().to_vec();
    let y = match x.dtype() {
        DType::F32 => Tensor::from_vec(
            shape,
            x.as_slice::<f32>()?.iter().map(|&v| f32(v)).collect(),
        )?,
        DType::F64 => Tensor::from_vec(
            shape,
            x.as_slice::<f64>()?.iter().map(|&v| f64(v)).collect(),
        )?,
        DType::F16 => Tensor::from_vec(
            shape,
            x.as_slice::<f16>()?
                .iter()
                .map(|&v| f16::from_f32(f32(v.to_f32())))
                .collect(),
        )?,
        DType::BF16 => Tensor::from_vec(
            shape,
            x.as_slice::<bf16>()?
                .iter()
                .map(|&v| bf16::from_f32(f32(v.to_f32())))
                .collect(),
        )?,
        d => bail!("{op}: input X must be f16, bf16, f32 or f64, got {d}"),
    };
    Ok(y)
}

/// Drops `consumed_inputs`, an opset-1 attribute with no meaning today.
pub fn skip_consumed_inputs(ctx: &mut BuildCtx) -> Result<()> {
    if ctx.opset < 6 {
        let _ = ctx.attrs.ints("consumed_inputs")?;
    }
    Ok(())
}

/// Implements the `Op` items every one-input, same-type float activation shares, given a
/// `fn apply(&self, x: &Tensor) -> Result<Tensor>` and an attribute list.
#[macro_export]
macro_rules! float_activation_op {
    ($ty:ty, $name:expr, $flops:expr) => {
        impl $crate::op::Op for $ty {
            fn op_type(&self) -> &str {
                $name
            }
            fn infer(&self, ctx: &$crate::op::InferCtx) -> $crate::Result<Vec<$crate::ValueType>> {
                Ok(vec![$crate::ops::util::same_as(ctx.inputs, 0)])
            }
            fn eval(
                &self,
                _ctx: &$crate::op::EvalCtx,
                inputs: &$crate::op::Inputs,
            ) -> $crate::Result<Vec<$crate::Value>> {
                Ok(vec![self.apply(inputs.tensor(0)?)?.into()])
            }
            fn cost(&self, ctx: &$crate::op::CostCtx) -> $crate::op::Cost {
                ctx.elementwise($flops)
            }
            fn attributes(&self) -> Vec<(String, $crate::attr::Attribute)> {
                self.attrs()
            }
        }
    };
}

/// The `axis` attribute of Softmax, LogSoftmax and Hardmax, whose meaning changed in opset 13:
/// before, the input is flattened to 2-D at `axis` (default 1) and each row of the trailing
/// block is one group; from 13, the groups run along the single axis `axis` (default -1).
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxAxis {
    pub axis: i64,
    pub coerce_2d: bool,
}

impl SoftmaxAxis {
    pub fn parse(ctx: &mut BuildCtx) -> Result<Self> {
        let coerce_2d = ctx.opset < 13;
        Ok(SoftmaxAxis {
            axis: ctx.attrs.int_or("axis", if coerce_2d { 1 } else { -1 })?,
            coerce_2d,
        })
    }

    /// `(outer, n, inner)`: element `i` of group `(o, k)` sits at `(o * n + i) * inner + k`.
    pub fn split(&self, op: &str, shape: &[usize]) -> Result<(usize, usize, usize)> {
        let r = shape.len() as i64;
        if r == 0 {
            return Ok((1, 1, 1));
        }
        // Opset < 13 also accepts axis == rank (an empty trailing block).
        let hi = if self.coerce_2d { r } else { r - 1 };
        if self.axis < -r || self.axis > hi {
            bail!(
                "{op}: axis {} is out of range for input of shape {shape:?}",
                self.axis
            );
        }
        let a = if self.axis < 0 {
            self.axis + r
        } else {
            self.axis
        } as usize;
        let outer = shape[..a].iter().product();
        Ok(if self.coerce_2d {
            (outer, shape[a..].iter().product(), 1)
        } else {
            (outer, shape[a], shape[a + 1..].iter().product())
        })
    }
}
