//! Dropout: identity at inference; in training, zeroes elements with probability `ratio` and
//! scales the rest by `1 / (1 - ratio)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Dropout.html>
//!
//! Attributes: `ratio` (opsets 1-11, 0.5), `is_test` (opsets 1-6), `consumed_inputs` (opset 1),
//! `seed` (opset 12+).
//! Inputs: `data`; from opset 12 optional `ratio` (float scalar) and `training_mode` (bool
//! scalar, default false). Outputs: `output`, optional `mask` (bool from opset 10, the data's
//! type before).
//! Opsets: 1, 6, 7, 10, 12, 13, 22 (float8 types pass through at inference).
//! Before opset 12 there is no training input: like onnxruntime, evaluation is inference.
//! Training draws the mask from MT19937 seeded by `seed` (0 when absent) exactly as numpy's
//! `RandomState(seed).uniform` does, so results match the ONNX reference implementation.

use crate::attr::AttrList;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct Dropout {
    pub ratio: Option<f32>,
    pub is_test: Option<i64>,
    pub consumed_inputs: Option<Vec<i64>>,
    pub seed: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let a = &mut ctx.attrs;
    Ok(Box::new(Dropout {
        ratio: a.float("ratio")?,
        is_test: a.int("is_test")?,
        consumed_inputs: a.ints("consumed_inputs")?,
        seed: a.int("seed")?,
    }))
}

/// MT19937, the generator behind numpy's `RandomState`, so a training-mode mask equals the
/// ONNX reference's `RandomState(seed).uniform(0, 1, shape) >= ratio`.
struct Mt19937 {
    mt: Vec<u32>,
    idx: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut mt = vec![seed; 624];
        for i in 1..624 {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { mt, idx: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.idx >= 624 {
            for i in 0..624 {
                let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % 624] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[i] = self.mt[(i + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.idx = 0;
        }
        let mut y = self.mt[self.idx];
        self.idx += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// numpy's `random_sample`: 53 random bits from two draws.
    fn next_unit(&mut self) -> f64 {
        let (a, b) = ((self.next_u32() >> 5) as f64, (self.next_u32() >> 6) as f64);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

fn mask_dtype(opset: i64, data: Option<DType>) -> Option<DType> {
    if opset >= 10 {
        Some(DType::Bool)
    } else {
        data
    }
}

fn scalar_f64(t: &Tensor, what: &str) -> Result<f64> {
    match t.to_f64_vec()?.as_slice() {
        [v] => Ok(*v),
        _ => bail!(
            "Dropout: {what} must be a scalar, got shape {:?}",
            t.shape()
        ),
    }
}

impl Op for Dropout {
    fn op_type(&self) -> &str {
        "Dropout"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let mut out = vec![ValueType::Tensor(x.clone())];
        if ctx.num_outputs > 1 {
            out.push(ValueType::Tensor(TensorType {
                dtype: mask_dtype(ctx.opset, x.dtype),
                shape: x.shape,
            }));
        }
        Ok(out)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let (ratio, training) = if ctx.opset >= 12 {
            let r = inputs
                .opt_tensor(1)?
                .map(|t| scalar_f64(t, "ratio"))
                .transpose()?
                .unwrap_or(0.5);
            let t = inputs
                .opt_tensor(2)?
                .map(|t| scalar_f64(t, "training_mode"))
                .transpose()?
                .unwrap_or(0.0);
            (r, t != 0.0)
        } else {
            (self.ratio.unwrap_or(0.5) as f64, false)
        };
        if training && !(0.0..1.0).contains(&ratio) {
            bail!("Dropout: ratio must be in [0, 1), got {ratio}");
        }
        let (y, keep) = if training && ratio > 0.0 {
            let mut rng = Mt19937::new(self.seed.unwrap_or(0) as u32);
            let keep: Vec<bool> = (0..x.len()).map(|_| rng.next_unit() >= ratio).collect();
            let scale = 1.0 / (1.0 - ratio);
            let xv = x.to_f64_vec()?;
            let yv: Vec<f64> = xv
                .iter()
                .zip(&keep)
                .map(|(v, &k)| if k { v * scale } else { 0.0 })
                .collect();
            (Tensor::from_f64s(x.dtype(), x.shape().to_vec(), &yv)?, keep)
        } else {
            (x.clone(), vec![true; x.len()])
        };
        let mut out = vec![y.into()];
        if ctx.num_outputs > 1 {
            let mask = if ctx.opset >= 10 {
                Tensor::from_vec(x.shape().to_vec(), keep)?
            } else {
                let ones: Vec<f64> = keep.iter().map(|&k| k as u8 as f64).collect();
                Tensor::from_f64s(x.dtype(), x.shape().to_vec(), &ones)?
            };
            out.push(mask.into());
        }
        Ok(out)
    }

    fn cost(&self, ctx: &crate::CostCtx) -> crate::Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_float("ratio", self.ratio)
            .opt_int("is_test", self.is_test)
            .opt_ints("consumed_inputs", self.consumed_inputs.as_deref())
            .opt_int("seed", self.seed)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval, eval_opset};

    fn op() -> Dropout {
        Dropout {
            ratio: None,
            is_test: None,
            consumed_inputs: None,
            seed: Some(7),
        }
    }

    #[test]
    fn inference_is_identity_with_true_mask() {
        let x = Tensor::vec1(vec![1f32, 2., 3.]);
        let out = eval(&op(), &[Some(x.clone())], 2).unwrap();
        assert!(out[0].as_tensor().unwrap().bit_eq(&x));
        assert_eq!(
            out[1].as_tensor().unwrap().as_slice::<bool>().unwrap(),
            &[true; 3]
        );
        // Opset 7 masks have the data's type.
        let out = eval_opset(&op(), &[Some(x)], 2, 7).unwrap();
        assert_eq!(
            out[1].as_tensor().unwrap().as_slice::<f32>().unwrap(),
            &[1.0; 3]
        );
    }

    #[test]
    fn generator_matches_numpy_random_state() {
        // numpy: np.random.RandomState(0).uniform(0, 1, 3)
        let mut rng = Mt19937::new(0);
        let want = [0.5488135039273248, 0.7151893663724195, 0.6027633760716439];
        for w in want {
            assert_eq!(rng.next_unit(), w);
        }
    }

    #[test]
    fn training_drops_and_rescales() {
        let x = Tensor::vec1(vec![1f32; 1000]);
        let inputs = [
            Some(x),
            Some(Tensor::scalar(0.75f32)),
            Some(Tensor::scalar(true)),
        ];
        let out = eval(&op(), &inputs, 2).unwrap();
        let y = out[0].as_tensor().unwrap().to_vec::<f32>().unwrap();
        let mask = out[1].as_tensor().unwrap().to_vec::<bool>().unwrap();
        let kept = mask.iter().filter(|&&k| k).count();
        assert!(
            (180..320).contains(&kept),
            "kept {kept} of 1000 at ratio 0.75"
        );
        assert!(y
            .iter()
            .zip(&mask)
            .all(|(&v, &k)| v == if k { 4.0 } else { 0.0 }));
        let bad = [
            Some(Tensor::vec1(vec![1f32])),
            Some(Tensor::scalar(1.0f32)),
            Some(Tensor::scalar(true)),
        ];
        assert!(eval(&op(), &bad, 1).is_err());
    }
}
