//! The in-memory classification/regression data the trainer consumes, and batching.

use anyhow::{bail, Result};
use edgeopt_tensor::Tensor;

/// Samples `x` (`n` of `sample_shape`, f32, row-major) with int64 class labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub x: Vec<f32>,
    pub sample_shape: Vec<usize>,
    pub labels: Vec<i64>,
}

impl Dataset {
    /// Checks that `x` holds `labels.len()` samples of `sample_shape`.
    pub fn new(x: Vec<f32>, sample_shape: Vec<usize>, labels: Vec<i64>) -> Result<Self> {
        let per: usize = sample_shape.iter().product();
        if per == 0 || x.len() != per * labels.len() {
            bail!(
                "dataset: {} values do not make {} samples of {sample_shape:?}",
                x.len(),
                labels.len()
            );
        }
        Ok(Dataset {
            x,
            sample_shape,
            labels,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn per(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// The batch made of samples `idx`: `([B, sample_shape...], labels [B])`.
    pub fn batch(&self, idx: &[usize]) -> Result<(Tensor, Tensor)> {
        let per = self.per();
        let mut x = Vec::with_capacity(idx.len() * per);
        let mut y = Vec::with_capacity(idx.len());
        for &i in idx {
            x.extend_from_slice(&self.x[i * per..(i + 1) * per]);
            y.push(self.labels[i]);
        }
        let mut shape = vec![idx.len()];
        shape.extend(&self.sample_shape);
        Ok((Tensor::from_vec(shape, x)?, Tensor::vec1(y)))
    }

    /// The first `n` samples.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            x: self.x[..n * self.per()].to_vec(),
            sample_shape: self.sample_shape.clone(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Splits off the last `fraction` of the samples (after a seeded shuffle) for validation.
    pub fn split(&self, fraction: f32, seed: u64) -> (Dataset, Dataset) {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        crate::rng::Rng::new(seed).shuffle(&mut idx);
        let nv = ((self.len() as f64) * fraction.clamp(0.0, 1.0) as f64).round() as usize;
        let (tr, va) = idx.split_at(self.len() - nv);
        (self.select(tr), self.select(va))
    }

    fn select(&self, idx: &[usize]) -> Dataset {
        let per = self.per();
        let mut x = Vec::with_capacity(idx.len() * per);
        for &i in idx {
            x.extend_from_slice(&self.x[i * per..(i + 1) * per]);
        }
        Dataset {
            x,
            sample_shape: self.sample_shape.clone(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}
