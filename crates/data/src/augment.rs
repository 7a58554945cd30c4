//! Seeded image augmentation on CHW samples: random crop after zero padding, horizontal flip.

use crate::error::{DataError, Result};
use crate::rng::SplitMix64;

/// Augmentations applied by the [`crate::DataLoader`] to each training sample (CHW).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Augment {
    /// Pad each side by this many pixels with `fill`, then crop back to the original size at a
    /// random offset (the CIFAR/MNIST "random crop with padding"). 0 disables.
    pub crop_padding: usize,
    /// Mirror left-right with probability 1/2.
    pub horizontal_flip: bool,
    /// Value of padded pixels (0 = black before normalization).
    pub fill: f32,
}

impl Augment {
    pub fn is_identity(&self) -> bool {
        self.crop_padding == 0 && !self.horizontal_flip
    }

    /// Augments one CHW sample in place; `scratch` is reused between calls.
    pub fn apply(
        &self,
        shape: &[usize],
        sample: &mut [f32],
        rng: &mut SplitMix64,
        scratch: &mut Vec<f32>,
    ) -> Result<()> {
        if self.is_identity() {
            return Ok(());
        }
        let &[c, h, w] = shape else {
            return Err(DataError::Shape(format!(
                "augmentation needs CHW samples, got shape {shape:?}"
            )));
        };
        if self.crop_padding > 0 {
            let p = self.crop_padding;
            let dy = rng.below(2 * p as u64 + 1) as usize;
            let dx = rng.below(2 * p as u64 + 1) as usize;
            scratch.clear();
            scratch.extend_from_slice(sample);
            // Output (y, x) reads padded (y + dy, x + dx) = source (y + dy - p, x + dx - p).
            for ch in 0..c {
                let plane = &scratch[ch * h * w..(ch + 1) * h * w];
                for y in 0..h {
                    let sy = (y + dy).checked_sub(p).filter(|&s| s < h);
                    for x in 0..w {
                        let sx = (x + dx).checked_sub(p).filter(|&s| s < w);
                        sample[ch * h * w + y * w + x] = match (sy, sx) {
                            (Some(sy), Some(sx)) => plane[sy * w + sx],
                            _ => self.fill,
                        };
                    }
                }
            }
        }
        if self.horizontal_flip && rng.next_u64() & 1 == 1 {
            for row in sample.chunks_exact_mut(w) {
                row.reverse();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_is_a_shift_with_fill_and_flip_mirrors() {
        let shape = [1, 3, 3];
        let orig: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let aug = Augment {
            crop_padding: 1,
            horizontal_flip: false,
            fill: -1.0,
        };
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            let mut s = orig.clone();
            aug.apply(&shape, &mut s, &mut SplitMix64::new(seed), &mut Vec::new())
                .unwrap();
            // Every output pixel is either fill or the source pixel shifted by one offset.
            let offset = (0..9).find_map(|i| (s[i] != -1.0).then(|| s[i] as i64 - 1 - i as i64));
            if let Some(o) = offset {
                for (i, &v) in s.iter().enumerate() {
                    assert!(v == -1.0 || v as i64 - 1 - i as i64 == o, "{s:?}");
                }
            }
            seen.insert(s.iter().map(|v| *v as i64).collect::<Vec<_>>());
        }
        assert_eq!(seen.len(), 9, "all 9 crop offsets occur");

        let flip = Augment {
            crop_padding: 0,
            horizontal_flip: true,
            fill: 0.0,
        };
        let mut flipped = 0;
        for seed in 0..100 {
            let mut s = orig.clone();
            flip.apply(&shape, &mut s, &mut SplitMix64::new(seed), &mut Vec::new())
                .unwrap();
            if s != orig {
                assert_eq!(s, vec![3., 2., 1., 6., 5., 4., 9., 8., 7.]);
                flipped += 1;
            }
        }
        assert!((25..75).contains(&flipped), "{flipped}");
        assert!(flip
            .apply(
                &[9],
                &mut orig.clone(),
                &mut SplitMix64::new(0),
                &mut Vec::new()
            )
            .is_err());
    }
}
