//! GroupNormalization: normalizes each group of `C / num_groups` channels (with all spatial
//! positions) of each image, then applies a scale and bias.
//! Spec: <https://onnx.ai/onnx/operators/onnx__GroupNormalization.html>
//!
//! Attributes: `num_groups` (required), `epsilon` (1e-5), `stash_type` (opset 21, 1;
//! computation here is in f64).
//! Inputs: `X` `[N, C, D1...]`, `scale`, `bias`: `[num_groups]` in opset 18 (one value per
//! group), `[C]` from opset 21 (one value per channel). Output: `Y` like X.
//! Opsets: 18, 21. The layout is recognized from the length, so either form evaluates anywhere.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::{float_input, row_moments};
use crate::ops::nn::layer_normalization::stash_dtype;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct GroupNormalization {
    pub num_groups: i64,
    pub epsilon: Option<f32>,
    pub stash_type: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    let num_groups = a.req_int("num_groups")?;
    if num_groups < 1 {
        bail!("GroupNormalization: num_groups must be >= 1, got {num_groups}");
    }
    let op = GroupNormalization {
        num_groups,
        epsilon: a.float("epsilon")?,
        stash_type: a.int("stash_type")?,
    };
    stash_dtype("GroupNormalization", op.stash_type)?;
    Ok(Box::new(op))
}

impl Op for GroupNormalization {
    fn op_type(&self) -> &str {
        "GroupNormalization"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "GroupNormalization";
        let x = inputs.tensor(0)?;
        float_input(op, x, 2)?;
        let shape = x.shape();
        let (n, c, g) = (shape[0], shape[1], self.num_groups as usize);
        if c % g != 0 {
            bail!("{op}: {c} channels are not divisible into num_groups = {g}");
        }
        let (scale, bias) = (
            inputs.tensor(1)?.to_f64_vec()?,
            inputs.tensor(2)?.to_f64_vec()?,
        );
        // Per-channel (opset 21) or per-group (opset 18) parameters.
        let per_channel = |v: &[f64], name: &str| -> Result<Vec<f64>> {
            match v.len() {
                l if l == c => Ok(v.to_vec()),
                l if l == g => Ok((0..c).map(|ch| v[ch / (c / g)]).collect()),
                l => bail!("{op}: {name} has {l} values, expected C = {c} or num_groups = {g}"),
            }
        };
        let (scale, bias) = (per_channel(&scale, "scale")?, per_channel(&bias, "bias")?);
        let spatial: usize = shape[2..].iter().product();
        let eps = self.epsilon.unwrap_or(1e-5) as f64;
        let xv = x.to_f64_vec()?;
        let inner = (c / g) * spatial;
        let moments = row_moments(&xv, inner);
        let mut y = Vec::with_capacity(xv.len());
        for (i, &v) in xv.iter().enumerate() {
            let (mean, var) = moments[i / inner.max(1)];
            let ch = (i / spatial.max(1)) % c;
            y.push((v - mean) / (var + eps).sqrt() * scale[ch] + bias[ch]);
        }
        debug_assert_eq!(y.len(), n * c * spatial);
        Ok(vec![
            Tensor::from_f64s(x.dtype(), shape.to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .int("num_groups", self.num_groups)
            .opt_float("epsilon", self.epsilon)
            .opt_int("stash_type", self.stash_type)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn per_group_and_per_channel_parameters() {
        // One image, 4 channels of 1 value, 2 groups: [1, 3 | 10, 14].
        let x = Tensor::from_vec(vec![1, 4, 1], vec![1f32, 3., 10., 14.]).unwrap();
        let op = GroupNormalization {
            num_groups: 2,
            epsilon: Some(0.0),
            stash_type: None,
        };
        let y = eval1(
            &op,
            &[
                Some(x.clone()),
                Some(Tensor::vec1(vec![1f32, 2.])),
                Some(Tensor::vec1(vec![0f32, 1.])),
            ],
        )
        .unwrap();
        assert_close(
            y.as_slice::<f32>().unwrap(),
            &[-1., 1., -1., 3.],
            1e-6,
            1e-6,
        );
        let s = Tensor::vec1(vec![1f32, 1., 1., 3.]);
        let b = Tensor::vec1(vec![0f32, 0., 5., 0.]);
        let y = eval1(&op, &[Some(x.clone()), Some(s), Some(b)]).unwrap();
        assert_close(y.as_slice::<f32>().unwrap(), &[-1., 1., 4., 3.], 1e-6, 1e-6);
        let bad = GroupNormalization {
            num_groups: 3,
            epsilon: None,
            stash_type: None,
        };
        assert!(eval1(
            &bad,
            &[
                Some(x),
                Some(Tensor::vec1(vec![1f32; 3])),
                Some(Tensor::vec1(vec![0f32; 3]))
            ]
        )
        .is_err());
    }
}
