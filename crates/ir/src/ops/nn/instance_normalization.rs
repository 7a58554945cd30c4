//! InstanceNormalization: normalizes each channel of each image over its spatial positions,
//! `y = scale * (x - mean) / sqrt(var + epsilon) + B`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html>
//!
//! Attributes: `epsilon` (1e-5); `consumed_inputs` (opset 1, legacy, ignored).
//! Inputs: `input` `[N, C, D1...]`, `scale` `[C]`, `B` `[C]`. Output: like input.
//! Opsets: 1, 6, 22 (bf16).

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::{float_input, row_moments};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub struct InstanceNormalization {
    pub epsilon: Option<f32>,
    pub consumed_inputs: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    Ok(Box::new(InstanceNormalization {
        epsilon: a.float("epsilon")?,
        consumed_inputs: a.ints("consumed_inputs")?,
    }))
}

impl Op for InstanceNormalization {
    fn op_type(&self) -> &str {
        "InstanceNormalization"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "InstanceNormalization";
        let x = inputs.tensor(0)?;
        float_input(op, x, 3)?;
        let shape = x.shape();
        let c = shape[1];
        let (scale, bias) = (
            inputs.tensor(1)?.to_f64_vec()?,
            inputs.tensor(2)?.to_f64_vec()?,
        );
        if scale.len() != c || bias.len() != c {
            bail!(
                "{op}: scale and B must have C = {c} values, got {} and {}",
                scale.len(),
                bias.len()
            );
        }
        let spatial: usize = shape[2..].iter().product();
        let eps = self.epsilon.unwrap_or(1e-5) as f64;
        let xv = x.to_f64_vec()?;
        let mut y = Vec::with_capacity(xv.len());
        for (r, (mean, var)) in row_moments(&xv, spatial).into_iter().enumerate() {
            let (s, b) = (scale[r % c] / (var + eps).sqrt(), bias[r % c]);
            y.extend(
                xv[r * spatial..(r + 1) * spatial]
                    .iter()
                    .map(|v| (v - mean) * s + b),
            );
        }
        Ok(vec![
            Tensor::from_f64s(x.dtype(), shape.to_vec(), &y)?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_float("epsilon", self.epsilon)
            .opt_ints("consumed_inputs", self.consumed_inputs.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval1};

    #[test]
    fn spec_example() {
        // test_instancenorm_example: x = [[[[-1, 0, 1]], [[2, 3, 4]]]], s = [1, 1.5], b = [0, 1].
        let x = Tensor::from_vec(vec![1, 2, 1, 3], vec![-1f32, 0., 1., 2., 3., 4.]).unwrap();
        let op = InstanceNormalization {
            epsilon: None,
            consumed_inputs: None,
        };
        let y = eval1(
            &op,
            &[
                Some(x),
                Some(Tensor::vec1(vec![1f32, 1.5])),
                Some(Tensor::vec1(vec![0f32, 1.])),
            ],
        )
        .unwrap();
        let want = [-1.2247356, 0., 1.2247356, -0.8371035, 1., 2.8371034];
        assert_close(y.as_slice::<f32>().unwrap(), &want, 1e-6, 1e-5);
    }
}
