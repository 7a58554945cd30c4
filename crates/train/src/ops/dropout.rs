//! Dropout in training mode with a seeded mask: element `i` is kept iff
//! `hash(seed, i) >= ratio`, so a step is reproducible from its seed at any thread count.

use super::util::{f32_in, infer_like, out};
use super::DOMAIN;
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// DropoutTrain(X, seed: int64 scalar) -> (Y, scaled mask); `Y = X * mask`, and the mask holds
/// `1 / (1 - ratio)` for kept elements, 0 for dropped ones (the gradient is `dY * mask`).
#[derive(Clone, Debug)]
pub struct DropoutTrain {
    pub ratio: f32,
}

/// SplitMix64 finalizer: a well-mixed 64-bit hash.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Op for DropoutTrain {
    fn op_type(&self) -> &str {
        "DropoutTrain"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[0, 0])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, sx) = f32_in("DropoutTrain", inputs, 0)?;
        let seed = inputs.tensor(1)?.to_i64_vec()?;
        let Some(&seed) = seed.first() else {
            bail!("DropoutTrain: the seed input is empty");
        };
        if !(0.0..1.0).contains(&self.ratio) {
            bail!("DropoutTrain: ratio {} must be in [0, 1)", self.ratio);
        }
        let keep = 1.0 / (1.0 - self.ratio);
        let seed = mix64(seed as u64);
        let mask: Vec<f32> = (0..x.len() as u64)
            .map(|i| {
                let u = (mix64(seed ^ i) >> 40) as f32 / (1u64 << 24) as f32;
                if u >= self.ratio {
                    keep
                } else {
                    0.0
                }
            })
            .collect();
        let y = x.iter().zip(&mask).map(|(&a, &m)| a * m).collect();
        Ok(vec![out(sx, y)?, out(sx, mask)?])
    }
}
