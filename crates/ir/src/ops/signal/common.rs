//! Helpers shared by the signal ops: a plain discrete Fourier transform of one line and
//! scalar-input readers.

use crate::{bail, Result};
use edgeopt_tensor::Tensor;

/// `cos` and `sin` of `2 pi k / n` for `k` in `0..n`: twiddles are looked up by `(k * t) % n`,
/// which keeps them exact for long transforms where the angle `2 pi k t / n` would lose bits.
pub struct Twiddles {
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Twiddles {
    pub fn new(n: usize) -> Self {
        let step = 2.0 * std::f64::consts::PI / n.max(1) as f64;
        Twiddles {
            cos: (0..n).map(|k| (k as f64 * step).cos()).collect(),
            sin: (0..n).map(|k| (k as f64 * step).sin()).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.cos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cos.is_empty()
    }

    /// Bins `0..bins` of the length-`n` DFT of `(re, im)` (truncated or zero-padded to `n`):
    /// `X[k] = sum_t x[t] e^(-+2 pi i k t / n)`, the sign `+` when `inverse` (no scaling).
    pub fn dft(&self, re: &[f64], im: &[f64], bins: usize, inverse: bool) -> (Vec<f64>, Vec<f64>) {
        let n = self.len();
        let m = re.len().min(n);
        let sign = if inverse { 1.0 } else { -1.0 };
        let (mut or, mut oi) = (Vec::with_capacity(bins), Vec::with_capacity(bins));
        for k in 0..bins {
            let (mut sr, mut si) = (0.0, 0.0);
            for t in 0..m {
                let idx = (k * t) % n;
                let (c, s) = (self.cos[idx], sign * self.sin[idx]);
                sr += re[t] * c - im[t] * s;
                si += re[t] * s + im[t] * c;
            }
            or.push(sr);
            oi.push(si);
        }
        (or, oi)
    }
}

/// A scalar (or one-element) integer input, e.g. `dft_length`, `frame_step`, `size`.
pub fn scalar_i64(op: &str, name: &str, t: &Tensor) -> Result<i64> {
    match t.to_i64_vec()?.as_slice() {
        [v] => Ok(*v),
        _ => bail!("{op}: {name} must be a scalar, got shape {:?}", t.shape()),
    }
}

/// A scalar (or one-element) float input, e.g. `lower_edge_hertz`.
pub fn scalar_f64(op: &str, name: &str, t: &Tensor) -> Result<f64> {
    match t.to_f64_vec()?.as_slice() {
        [v] => Ok(*v),
        _ => bail!("{op}: {name} must be a scalar, got shape {:?}", t.shape()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dft_of_impulse_and_round_trip() {
        let tw = Twiddles::new(4);
        let (r, i) = tw.dft(&[1.0, 0.0, 0.0, 0.0], &[0.0; 4], 4, false);
        assert_eq!((r, i), (vec![1.0; 4], vec![0.0; 4]));
        // [0, 1, 0, 0] -> e^{-i pi k / 2} = [1, -i, -1, i].
        let (r, i) = tw.dft(&[0.0, 1.0, 0.0, 0.0], &[0.0; 4], 4, false);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(&r, &[1.0, 0.0, -1.0, 0.0]) && close(&i, &[0.0, -1.0, 0.0, 1.0]));
        let (br, bi) = tw.dft(&r, &i, 4, true);
        assert!(close(&br, &[0.0, 4.0, 0.0, 0.0]) && close(&bi, &[0.0; 4]));
    }
}
