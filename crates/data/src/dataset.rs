//! The [`Dataset`] trait and the in-memory f32 dataset every reader produces.

use crate::error::{DataError, Result};
use crate::rng::SplitMix64;
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Tensor;

/// Labelled samples of one fixed shape, addressable by index.
pub trait Dataset {
    /// Number of samples.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one sample's features (e.g. `[1, 28, 28]`, or `[F]` for tabular data).
    fn sample_shape(&self) -> &[usize];

    /// Labels lie in `0..num_classes`.
    fn num_classes(&self) -> usize;

    /// Writes sample `i`'s features into `out` (length = product of `sample_shape`) and
    /// returns its label.
    fn read_into(&self, i: usize, out: &mut [f32]) -> Result<i64>;

    /// Sample `i` as a tensor of `sample_shape` and its label.
    fn get(&self, i: usize) -> Result<(Tensor, i64)> {
        let mut buf = vec![0f32; checked_numel(self.sample_shape())?];
        let label = self.read_into(i, &mut buf)?;
        Ok((Tensor::from_vec(self.sample_shape().to_vec(), buf)?, label))
    }
}

/// Per-channel normalization `(x - mean[c]) / std[c]`; channel = axis 0 of a sample (CHW), or
/// one pair for all elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// Samples stored contiguously as f32, labels as `i64`.
#[derive(Clone, Debug)]
pub struct InMemoryDataset {
    name: String,
    sample_shape: Vec<usize>,
    sample_len: usize,
    features: Vec<f32>,
    labels: Vec<i64>,
    num_classes: usize,
    /// Names of the classes when the source has them (image folders, CSV with string labels).
    pub class_names: Vec<String>,
}

/// First non-finite element of `v`, as an error naming `what` and the sample and element.
pub(crate) fn check_finite(what: &str, v: &[f32], sample_len: usize) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(DataError::NonFinite {
            what: what.to_string(),
            index: format!(
                "sample {} element {} (flat index {i})",
                i / sample_len.max(1),
                i % sample_len.max(1)
            ),
            value: v[i] as f64,
        }),
    }
}

impl InMemoryDataset {
    /// Builds a dataset, checking that `features` holds `labels.len()` samples of
    /// `sample_shape`, that every value is finite and every label lies in `0..num_classes`.
    /// `name` (usually the file) is used in error messages.
    pub fn new(
        name: &str,
        sample_shape: Vec<usize>,
        features: Vec<f32>,
        labels: Vec<i64>,
        num_classes: usize,
    ) -> Result<Self> {
        let sample_len = checked_numel(&sample_shape)?;
        let expect = sample_len.checked_mul(labels.len());
        if expect != Some(features.len()) {
            return Err(DataError::Shape(format!(
                "{name}: {} labels of samples shaped {sample_shape:?} need {} feature values, got {}",
                labels.len(),
                expect.map_or("too many".to_string(), |e| e.to_string()),
                features.len()
            )));
        }
        check_finite(name, &features, sample_len)?;
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l < 0 || l as u64 >= num_classes as u64)
        {
            return Err(DataError::Format {
                what: name.to_string(),
                msg: format!("label {l} of sample {i} is outside 0..{num_classes}"),
            });
        }
        Ok(InMemoryDataset {
            name: name.to_string(),
            sample_shape,
            sample_len,
            features,
            labels,
            num_classes,
            class_names: Vec::new(),
        })
    }

    /// From an `[N, ...]` features tensor of any numeric type and an `[N]` integer labels
    /// tensor (as read from NPY/NPZ). `num_classes` = largest label + 1 unless given.
    pub fn from_tensors(
        name: &str,
        x: &Tensor,
        y: &Tensor,
        num_classes: Option<usize>,
    ) -> Result<Self> {
        if x.rank() < 1 || y.rank() != 1 || x.shape()[0] != y.shape()[0] {
            return Err(DataError::Shape(format!(
                "{name}: features {:?} and labels {:?} must be [N, ...] and [N]",
                x.shape(),
                y.shape()
            )));
        }
        if y.dtype().is_float() {
            return Err(crate::error::format_err(
                name,
                format!("labels must be integers, found {}", y.dtype()),
            ));
        }
        let feats: Vec<f32> = x
            .to_f64_vec()
            .map_err(|e| crate::error::format_err(name, e.to_string()))?
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let labels = y
            .to_i64_vec()
            .map_err(|e| crate::error::format_err(name, e.to_string()))?;
        let classes = num_classes
            .unwrap_or_else(|| labels.iter().max().map_or(0, |&m| m.max(-1) + 1) as usize);
        Self::new(name, x.shape()[1..].to_vec(), feats, labels, classes)
    }

    /// The name given at construction (the source file, usually).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All features, sample after sample.
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// Features of sample `i` (panics if `i >= len()`, like slice indexing).
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.features[i * self.sample_len..(i + 1) * self.sample_len]
    }

    /// The whole dataset as an `[N, ...]` f32 tensor and an `[N]` i64 tensor.
    pub fn to_tensors(&self) -> Result<(Tensor, Tensor)> {
        let mut shape = vec![self.len()];
        shape.extend_from_slice(&self.sample_shape);
        Ok((
            Tensor::from_vec(shape, self.features.clone())?,
            Tensor::vec1(self.labels.clone()),
        ))
    }

    /// A new dataset with the samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        let mut feats = Vec::with_capacity(indices.len() * self.sample_len);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(DataError::Invalid(format!(
                    "{}: index {i} out of range for {} samples",
                    self.name,
                    self.len()
                )));
            }
            feats.extend_from_slice(self.sample(i));
            labels.push(self.labels[i]);
        }
        Ok(InMemoryDataset {
            features: feats,
            labels,
            ..self.clone_meta()
        })
    }

    fn clone_meta(&self) -> Self {
        InMemoryDataset {
            name: self.name.clone(),
            sample_shape: self.sample_shape.clone(),
            sample_len: self.sample_len,
            features: Vec::new(),
            labels: Vec::new(),
            num_classes: self.num_classes,
            class_names: self.class_names.clone(),
        }
    }

    /// Splits into (train, validation) with `round(len * val_fraction)` validation samples,
    /// picked by a seeded shuffle; each part keeps the original relative order.
    pub fn split(&self, val_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        if !(0.0..=1.0).contains(&val_fraction) {
            return Err(DataError::Invalid(format!(
                "validation fraction {val_fraction} is not in [0, 1]"
            )));
        }
        let n_val = (self.len() as f64 * val_fraction).round() as usize;
        let mut order: Vec<usize> = (0..self.len()).collect();
        SplitMix64::derive(seed, &[0x5917]).shuffle(&mut order);
        let (mut val, mut train) = (order[..n_val].to_vec(), order[n_val..].to_vec());
        val.sort_unstable();
        train.sort_unstable();
        Ok((self.subset(&train)?, self.subset(&val)?))
    }

    /// Multiplies every value by `factor` (e.g. `1/255` to scale pixels to [0, 1]).
    pub fn scale(&mut self, factor: f32) {
        self.features.iter_mut().for_each(|v| *v *= factor);
    }

    /// Number of normalization channels: axis 0 of the sample shape, or 1 for scalars.
    fn channels(&self) -> usize {
        self.sample_shape.first().copied().unwrap_or(1).max(1)
    }

    /// Per-channel mean and (population) standard deviation over all samples, computed in f64.
    pub fn channel_stats(&self) -> Normalize {
        let c = self.channels();
        let per = self.sample_len / c;
        let mut sum = vec![0f64; c];
        let mut sq = vec![0f64; c];
        for s in self.features.chunks_exact(self.sample_len.max(1)) {
            for (ch, part) in s.chunks_exact(per.max(1)).enumerate() {
                for &v in part {
                    sum[ch] += v as f64;
                    sq[ch] += (v as f64) * (v as f64);
                }
            }
        }
        let n = (self.len() * per).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        Normalize {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: sq
                .iter()
                .zip(&mean)
                .map(|(s, m)| ((s / n - m * m).max(0.0)).sqrt() as f32)
                .collect(),
        }
    }

    /// Applies `(x - mean[c]) / std[c]` in place. `mean`/`std` have one entry per channel
    /// (axis 0 of the sample) or a single entry for all; a zero std is an error.
    pub fn normalize(&mut self, norm: &Normalize) -> Result<()> {
        let c = self.channels();
        let ok = |v: &[f32]| v.len() == c || v.len() == 1;
        if !ok(&norm.mean)
            || !ok(&norm.std)
            || norm.std.iter().chain(&norm.mean).any(|s| !s.is_finite())
            || norm.std.contains(&0.0)
        {
            return Err(DataError::Invalid(format!(
                "{}: normalization needs {c} (or 1) means and nonzero stds for samples {:?}, got mean {:?} std {:?}",
                self.name, self.sample_shape, norm.mean, norm.std
            )));
        }
        let per = (self.sample_len / c).max(1);
        let pick = |v: &[f32], ch: usize| if v.len() == 1 { v[0] } else { v[ch] };
        for s in self.features.chunks_exact_mut(self.sample_len.max(1)) {
            for (ch, part) in s.chunks_exact_mut(per).enumerate() {
                let (m, inv) = (pick(&norm.mean, ch), 1.0 / pick(&norm.std, ch));
                part.iter_mut().for_each(|v| *v = (*v - m) * inv);
            }
        }
        Ok(())
    }
}

impl Dataset for InMemoryDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn read_into(&self, i: usize, out: &mut [f32]) -> Result<i64> {
        if i >= self.len() || out.len() != self.sample_len {
            return Err(DataError::Invalid(format!(
                "{}: sample {i} of {} into a buffer of {} (samples have {} values)",
                self.name,
                self.len(),
                out.len(),
                self.sample_len
            )));
        }
        out.copy_from_slice(self.sample(i));
        Ok(self.labels[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(n: usize) -> InMemoryDataset {
        let feats: Vec<f32> = (0..n * 2 * 3).map(|v| v as f32).collect();
        let labels = (0..n as i64).map(|i| i % 3).collect();
        InMemoryDataset::new("tiny", vec![2, 3], feats, labels, 3).unwrap()
    }

    #[test]
    fn get_returns_the_sample_and_label() {
        let d = tiny(4);
        let (x, y) = d.get(2).unwrap();
        assert_eq!(x.shape(), &[2, 3]);
        assert_eq!(
            x.as_slice::<f32>().unwrap(),
            &[12., 13., 14., 15., 16., 17.]
        );
        assert_eq!(y, 2);
        assert!(d.get(4).is_err());
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_problem() {
        let e = InMemoryDataset::new(
            "f.bin",
            vec![2],
            vec![1.0, f32::NAN, 0.0, 0.0],
            vec![0, 0],
            1,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("f.bin") && e.contains("sample 0 element 1"),
            "{e}"
        );
        let e = InMemoryDataset::new("f.bin", vec![3], vec![0.0; 4], vec![0, 0], 1)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[3]") && e.contains("need 6") && e.contains("got 4"),
            "{e}"
        );
        let e = InMemoryDataset::new("f.bin", vec![1], vec![0.0; 2], vec![0, 5], 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 5 of sample 1"), "{e}");
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let d = tiny(100);
        let (t, v) = d.split(0.2, 9).unwrap();
        assert_eq!((t.len(), v.len()), (80, 20));
        let (t2, v2) = d.split(0.2, 9).unwrap();
        assert_eq!(v.features(), v2.features());
        assert_eq!(t.features(), t2.features());
        let (_, v3) = d.split(0.2, 10).unwrap();
        assert_ne!(v.features(), v3.features());
        let mut firsts: Vec<i64> = t
            .features()
            .chunks(6)
            .chain(v.features().chunks(6))
            .map(|s| s[0] as i64)
            .collect();
        firsts.sort_unstable();
        assert_eq!(firsts, (0..100).map(|i| i * 6).collect::<Vec<_>>());
        assert!(d.split(1.5, 0).is_err());
    }

    #[test]
    fn normalize_gives_zero_mean_unit_std_per_channel() {
        let mut d = tiny(10);
        let stats = d.channel_stats();
        assert_eq!(stats.mean.len(), 2);
        d.normalize(&stats).unwrap();
        let after = d.channel_stats();
        for c in 0..2 {
            assert!(
                after.mean[c].abs() < 1e-4 && (after.std[c] - 1.0).abs() < 1e-4,
                "{after:?}"
            );
        }
        let bad = Normalize {
            mean: vec![0.0; 3],
            std: vec![1.0; 3],
        };
        assert!(d.normalize(&bad).is_err());
        let zero = Normalize {
            mean: vec![0.0],
            std: vec![0.0],
        };
        assert!(d.normalize(&zero).is_err());
    }

    #[test]
    fn from_tensors_converts_types_and_checks_shapes() {
        let x = Tensor::from_vec(vec![2, 2], vec![1u8, 2, 3, 4]).unwrap();
        let y = Tensor::vec1(vec![1i32, 0]);
        let d = InMemoryDataset::from_tensors("xy", &x, &y, None).unwrap();
        assert_eq!((d.len(), d.num_classes()), (2, 2));
        assert_eq!(d.sample(1), &[3.0, 4.0]);
        let y3 = Tensor::vec1(vec![1i32, 0, 1]);
        let e = InMemoryDataset::from_tensors("xy", &x, &y3, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("[2, 2]") && e.contains("[3]"), "{e}");
    }
}
