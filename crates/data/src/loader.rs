//! Batches a [`Dataset`]: seeded shuffling per epoch, optional `drop_last`, augmentation.

use crate::augment::Augment;
use crate::dataset::Dataset;
use crate::error::{DataError, Result};
use crate::rng::SplitMix64;
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Tensor;

/// How a [`DataLoader`] batches.
#[derive(Clone, Debug, PartialEq)]
pub struct LoaderConfig {
    pub batch_size: usize,
    /// Reshuffle every epoch (seeded by `seed` and the epoch number).
    pub shuffle: bool,
    /// Drop the last batch when it is smaller than `batch_size`.
    pub drop_last: bool,
    pub seed: u64,
    /// Applied to every sample of every batch (use the identity for evaluation).
    pub augment: Augment,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            batch_size: 64,
            shuffle: true,
            drop_last: false,
            seed: 0,
            augment: Augment::default(),
        }
    }
}

/// One batch: features `[B, ...sample_shape]` (f32), labels `[B]` (i64), and which samples.
#[derive(Clone, Debug)]
pub struct Batch {
    pub features: Tensor,
    pub labels: Tensor,
    pub indices: Vec<usize>,
}

/// Iterates a dataset in batches. Deterministic: the same config, epoch and batch number
/// always give the same batch, whatever was read before.
pub struct DataLoader<'a, D: Dataset + ?Sized> {
    data: &'a D,
    cfg: LoaderConfig,
}

impl<'a, D: Dataset + ?Sized> DataLoader<'a, D> {
    pub fn new(data: &'a D, cfg: LoaderConfig) -> Result<Self> {
        if cfg.batch_size == 0 {
            return Err(DataError::Invalid("batch size must be at least 1".into()));
        }
        Ok(DataLoader { data, cfg })
    }

    pub fn config(&self) -> &LoaderConfig {
        &self.cfg
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        let (n, b) = (self.data.len(), self.cfg.batch_size);
        if self.cfg.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// Sample order of `epoch`: a seeded permutation, or `0..len` without shuffling.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.len()).collect();
        if self.cfg.shuffle {
            SplitMix64::derive(self.cfg.seed, &[epoch]).shuffle(&mut order);
        }
        order
    }

    /// Batch `b` of `epoch`, given that epoch's `order`.
    pub fn batch(&self, epoch: u64, order: &[usize], b: usize) -> Result<Batch> {
        let bs = self.cfg.batch_size;
        let start = b
            .checked_mul(bs)
            .filter(|&s| s < order.len())
            .ok_or_else(|| {
                DataError::Invalid(format!(
                    "batch {b} is past the end ({} samples, batch size {bs})",
                    order.len()
                ))
            })?;
        let indices = order[start..(start + bs).min(order.len())].to_vec();
        let shape = self.data.sample_shape();
        let per = checked_numel(shape)?;
        let mut feats = vec![0f32; per * indices.len()];
        let mut labels = Vec::with_capacity(indices.len());
        let mut rng = SplitMix64::derive(self.cfg.seed, &[epoch, b as u64, 0xA06]);
        let mut scratch = Vec::new();
        for (k, &i) in indices.iter().enumerate() {
            let out = &mut feats[k * per..(k + 1) * per];
            labels.push(self.data.read_into(i, out)?);
            self.cfg.augment.apply(shape, out, &mut rng, &mut scratch)?;
        }
        let mut bshape = vec![indices.len()];
        bshape.extend_from_slice(shape);
        Ok(Batch {
            features: Tensor::from_vec(bshape, feats)?,
            labels: Tensor::vec1(labels),
            indices,
        })
    }

    /// The batches of one epoch, in order.
    pub fn epoch(&self, epoch: u64) -> impl Iterator<Item = Result<Batch>> + '_ {
        let order = self.order(epoch);
        (0..self.num_batches()).map(move |b| self.batch(epoch, &order, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryDataset;

    fn data(n: usize) -> InMemoryDataset {
        let feats: Vec<f32> = (0..n * 4).map(|v| v as f32).collect();
        InMemoryDataset::new("d", vec![1, 2, 2], feats, vec![0; n], 1).unwrap()
    }

    fn firsts(b: &Batch) -> Vec<usize> {
        b.indices.clone()
    }

    #[test]
    fn batches_cover_every_sample_once_and_repeat_with_the_seed() {
        let d = data(10);
        let cfg = LoaderConfig {
            batch_size: 4,
            seed: 3,
            ..Default::default()
        };
        let l = DataLoader::new(&d, cfg.clone()).unwrap();
        assert_eq!(l.num_batches(), 3);
        let e0: Vec<Batch> = l.epoch(0).collect::<Result<_>>().unwrap();
        assert_eq!(
            e0.iter().map(|b| b.indices.len()).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        let mut all: Vec<usize> = e0.iter().flat_map(firsts).collect();
        assert_ne!(all, (0..10).collect::<Vec<_>>(), "shuffled");
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // Features and labels follow the indices.
        let b = &e0[0];
        assert_eq!(b.features.shape(), &[4, 1, 2, 2]);
        let f = b.features.as_slice::<f32>().unwrap();
        for (k, &i) in b.indices.iter().enumerate() {
            assert_eq!(f[k * 4], (i * 4) as f32);
        }
        assert_eq!(b.labels.shape(), &[4]);
        // Same seed, same epoch: same order; other epoch or seed: another order.
        let again = DataLoader::new(&d, cfg.clone()).unwrap();
        assert_eq!(again.order(0), l.order(0));
        assert_ne!(l.order(1), l.order(0));
        let other = DataLoader::new(&d, LoaderConfig { seed: 4, ..cfg }).unwrap();
        assert_ne!(other.order(0), l.order(0));
    }

    #[test]
    fn drop_last_and_no_shuffle() {
        let d = data(10);
        let cfg = LoaderConfig {
            batch_size: 4,
            shuffle: false,
            drop_last: true,
            ..Default::default()
        };
        let l = DataLoader::new(&d, cfg).unwrap();
        let idx: Vec<Vec<usize>> = l.epoch(5).map(|b| b.unwrap().indices).collect();
        assert_eq!(idx, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
        assert!(DataLoader::new(
            &d,
            LoaderConfig {
                batch_size: 0,
                ..Default::default()
            }
        )
        .is_err());
        assert!(l.batch(0, &l.order(0), 3).is_err());
    }

    #[test]
    fn augmentation_is_deterministic_per_batch() {
        let d = data(8);
        let aug = Augment {
            crop_padding: 1,
            horizontal_flip: true,
            fill: -7.0,
        };
        let cfg = LoaderConfig {
            batch_size: 8,
            augment: aug,
            seed: 1,
            ..Default::default()
        };
        let l = DataLoader::new(&d, cfg).unwrap();
        let a = l.batch(2, &l.order(2), 0).unwrap();
        let b = l.batch(2, &l.order(2), 0).unwrap();
        assert!(a.features.bit_eq(&b.features));
        let vals = a.features.as_slice::<f32>().unwrap();
        assert!(vals.contains(&-7.0), "some padding shows up in 8 samples");
    }
}
