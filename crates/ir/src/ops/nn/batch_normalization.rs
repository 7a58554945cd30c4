//! BatchNormalization: `y = scale * (x - mean) / sqrt(var + epsilon) + B` per channel.
//! Spec: <https://onnx.ai/onnx/operators/onnx__BatchNormalization.html>
//!
//! Attributes: `epsilon` (1e-5), `momentum` (0.9), `training_mode` (opset 14+, 0),
//! `spatial` (opsets 1-8, 1; 0 = parameters per channel *and* position), `is_test` (opsets
//! 1-6), `consumed_inputs` (opset 1; legacy, ignored).
//! Inputs: `X` `[N, C, D1...]`, `scale`, `B`, `mean`, `var` (`[C]`, or `[C, D1...]` when
//! `spatial` = 0).
//! Outputs, inference: `Y`. Training (opset 14+ `training_mode` = 1; before, when more than one
//! output is requested and `is_test` is not set): Y uses the batch statistics, and
//! `running_mean/var = input * momentum + batch * (1 - momentum)` (population variance).
//! Opsets 14+ output `Y, running_mean, running_var`; earlier ones `Y, mean, var, saved_mean,
//! saved_var` (saved = the batch mean and variance).
//! Opsets: 1, 6, 7, 9, 14, 15.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::nn::common::float_input;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug, Default)]
pub struct BatchNormalization {
    pub epsilon: Option<f32>,
    pub momentum: Option<f32>,
    pub training_mode: Option<i64>,
    pub spatial: Option<i64>,
    pub is_test: Option<i64>,
    pub consumed_inputs: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    Ok(Box::new(BatchNormalization {
        epsilon: a.float("epsilon")?,
        momentum: a.float("momentum")?,
        training_mode: a.int("training_mode")?,
        spatial: a.int("spatial")?,
        is_test: a.int("is_test")?,
        consumed_inputs: a.ints("consumed_inputs")?,
    }))
}

impl BatchNormalization {
    fn training(&self, opset: i64, num_outputs: usize) -> bool {
        if opset >= 14 {
            self.training_mode.unwrap_or(0) != 0
        } else {
            num_outputs > 1 && self.is_test.unwrap_or(0) == 0
        }
    }
}

/// Batch mean and population variance of each of `groups` parameter slots: element `i` of
/// the input belongs to slot `slot(i)`.
fn batch_moments(x: &[f64], groups: usize, slot: impl Fn(usize) -> usize) -> (Vec<f64>, Vec<f64>) {
    let (mut sum, mut count) = (vec![0.0; groups], vec![0usize; groups]);
    for (i, v) in x.iter().enumerate() {
        sum[slot(i)] += v;
        count[slot(i)] += 1;
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &c)| s / c.max(1) as f64)
        .collect();
    let mut sq = vec![0.0; groups];
    for (i, v) in x.iter().enumerate() {
        let d = v - mean[slot(i)];
        sq[slot(i)] += d * d;
    }
    let var = sq
        .iter()
        .zip(&count)
        .map(|(s, &c)| s / c.max(1) as f64)
        .collect();
    (mean, var)
}

impl Op for BatchNormalization {
    fn op_type(&self) -> &str {
        "BatchNormalization"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let mut out = vec![ctx.input(0).clone()];
        let stat = ctx.tensor(3);
        let stat_shape = stat.shape.clone().or_else(|| {
            ctx.tensor(0)
                .shape
                .map(|s| vec![s.get(1).cloned().unwrap_or(Dim::Unknown)])
        });
        for _ in 1..ctx.num_outputs {
            out.push(ValueType::Tensor(TensorType {
                dtype: stat.dtype.or(ctx.tensor(0).dtype),
                shape: stat_shape.clone(),
            }));
        }
        Ok(out)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let op = "BatchNormalization";
        let x = inputs.tensor(0)?;
        float_input(op, x, 2)?;
        let shape = x.shape();
        let c = shape[1];
        let inner: usize = shape[2..].iter().product();
        let params: Vec<Vec<f64>> = (1..5)
            .map(|i| Ok(inputs.tensor(i)?.to_f64_vec()?))
            .collect::<Result<_>>()?;
        // Parameter slots: one per channel, or one per (channel, position) for spatial = 0.
        let slots = params[0].len();
        if params.iter().any(|p| p.len() != slots) || (slots != c && slots != c * inner) {
            let lens: Vec<usize> = params.iter().map(|p| p.len()).collect();
            bail!("{op}: scale, B, mean and var must have C = {c} values (or C * spatial), got {lens:?}");
        }
        let slot = |i: usize| {
            if slots == c {
                (i / inner.max(1)) % c
            } else {
                i % (c * inner)
            }
        };
        let xv = x.to_f64_vec()?;
        let eps = self.epsilon.unwrap_or(1e-5) as f64;
        let training = self.training(ctx.opset, ctx.num_outputs);
        let (mean, var) = if training {
            batch_moments(&xv, slots, slot)
        } else {
            (params[2].clone(), params[3].clone())
        };
        let (scale, bias) = (&params[0], &params[1]);
        let k: Vec<f64> = (0..slots)
            .map(|s| scale[s] / (var[s] + eps).sqrt())
            .collect();
        let y: Vec<f64> = xv
            .iter()
            .enumerate()
            .map(|(i, v)| (v - mean[slot(i)]) * k[slot(i)] + bias[slot(i)])
            .collect();
        let mut out: Vec<Value> = vec![Tensor::from_f64s(x.dtype(), shape.to_vec(), &y)?.into()];
        if !training {
            return Ok(out);
        }
        let m = self.momentum.unwrap_or(0.9) as f64;
        let run = |input: &[f64], batch: &[f64]| -> Vec<f64> {
            input
                .iter()
                .zip(batch)
                .map(|(a, b)| a * m + b * (1.0 - m))
                .collect()
        };
        let stats = [run(&params[2], &mean), run(&params[3], &var), mean, var];
        let (dt, sshape) = (
            inputs.tensor(3)?.dtype(),
            inputs.tensor(3)?.shape().to_vec(),
        );
        for s in stats.iter().take(ctx.num_outputs.saturating_sub(1)) {
            out.push(Tensor::from_f64s(dt, sshape.clone(), s)?.into());
        }
        Ok(out)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_float("epsilon", self.epsilon)
            .opt_float("momentum", self.momentum)
            .opt_int("training_mode", self.training_mode)
            .opt_int("spatial", self.spatial)
            .opt_int("is_test", self.is_test)
            .opt_ints("consumed_inputs", self.consumed_inputs.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval, eval1};

    fn inputs() -> Vec<Option<Tensor>> {
        // x: 2 images, 2 channels, 1 position: channel 0 = [1, 3], channel 1 = [2, 6].
        let x = Tensor::from_vec(vec![2, 2, 1], vec![1f32, 2., 3., 6.]).unwrap();
        let v = |a: f32, b: f32| Some(Tensor::vec1(vec![a, b]));
        vec![Some(x), v(1., 2.), v(0., 1.), v(1., 0.), v(4., 1.)]
    }

    #[test]
    fn inference_uses_running_statistics() {
        let op = BatchNormalization {
            epsilon: Some(0.0),
            ..Default::default()
        };
        let y = eval1(&op, &inputs()).unwrap();
        // channel 0: (x - 1) / 2; channel 1: 2 * x + 1.
        assert_close(y.as_slice::<f32>().unwrap(), &[0., 5., 1., 13.], 1e-6, 1e-6);
    }

    #[test]
    fn training_mode_outputs_running_statistics() {
        let op = BatchNormalization {
            epsilon: Some(0.0),
            training_mode: Some(1),
            ..Default::default()
        };
        let out = eval(&op, &inputs(), 3).unwrap();
        let t = |i: usize| out[i].as_tensor().unwrap().to_vec::<f32>().unwrap();
        // Batch stats: channel 0 mean 2 var 1, channel 1 mean 4 var 4.
        assert_close(&t(0), &[-1., -1., 1., 3.], 1e-6, 1e-6);
        assert_close(&t(1), &[0.9 + 0.2, 0.4], 1e-6, 1e-6);
        assert_close(&t(2), &[3.6 + 0.1, 0.9 + 0.4], 1e-6, 1e-6);
        let mut bad = inputs();
        bad[1] = Some(Tensor::vec1(vec![1f32; 3]));
        assert!(eval1(&op, &bad).is_err());
    }
}
