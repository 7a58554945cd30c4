//! Streaming statistics of one tensor over the calibration set, and the clip ranges the
//! calibration methods pick from them. Nothing stores activations: the first pass keeps min/max,
//! the second (only for histogram methods) a fixed-range histogram of 2 x [`BINS`] bins over
//! `[-absmax, absmax]`.

use crate::params::{QParams, QType};

/// Bins over `[0, absmax]` (the TensorRT entropy calibrator's 2048).
pub const BINS: usize = 2048;

/// How a clip range is chosen from the calibration statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// The observed min and max.
    MinMax,
    /// Clip |x| at this percentile (e.g. 99.99) of the absolute values.
    Percentile(f64),
    /// TensorRT's KL-divergence threshold search over the |x| histogram.
    Entropy,
    /// The clip range minimizing the expected quantization mean squared error.
    Mse,
}

impl Method {
    /// Whether the method needs the histogram pass.
    pub fn needs_histogram(self) -> bool {
        !matches!(self, Method::MinMax)
    }
}

/// Min / max and (optionally) a symmetric histogram of one tensor.
#[derive(Clone, Debug)]
pub struct Stats {
    pub min: f32,
    pub max: f32,
    /// `2 * BINS` counts over `[-absmax, absmax]`; empty until [`Stats::start_histogram`].
    pub hist: Vec<f64>,
    absmax: f32,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            hist: Vec::new(),
            absmax: 0.0,
        }
    }
}

impl Stats {
    pub fn observe_range(&mut self, xs: &[f32]) {
        for &x in xs {
            if x.is_finite() {
                self.min = self.min.min(x);
                self.max = self.max.max(x);
            }
        }
    }

    /// Fixes the histogram range from the observed min / max.
    pub fn start_histogram(&mut self) {
        self.absmax = self.min.abs().max(self.max.abs());
        if !self.absmax.is_finite() {
            self.absmax = 0.0;
        }
        self.hist = vec![0.0; 2 * BINS];
    }

    pub fn observe_histogram(&mut self, xs: &[f32]) {
        if self.hist.is_empty() || self.absmax <= 0.0 {
            return;
        }
        let w = self.absmax as f64 / BINS as f64;
        for &x in xs {
            if x.is_finite() {
                let b = ((x as f64 + self.absmax as f64) / w).floor();
                let b = (b.max(0.0) as usize).min(2 * BINS - 1);
                self.hist[b] += 1.0;
            }
        }
    }

    fn abs_hist(&self) -> Vec<f64> {
        (0..BINS)
            .map(|j| self.hist[BINS + j] + self.hist[BINS - 1 - j])
            .collect()
    }

    /// The clip range `[lo, hi]` that `method` picks.
    pub fn range(&self, method: Method, qt: QType, symmetric: bool) -> (f32, f32) {
        if !self.min.is_finite() || !self.max.is_finite() {
            return (0.0, 0.0);
        }
        let t = match method {
            Method::MinMax => None,
            _ if self.hist.is_empty() || self.absmax <= 0.0 => None,
            Method::Percentile(p) => Some(self.percentile_threshold(p)),
            Method::Entropy => Some(self.entropy_threshold(qt)),
            Method::Mse => Some(self.mse_threshold(qt, symmetric)),
        };
        match t {
            None => (self.min, self.max),
            Some(t) => (self.min.max(-t), self.max.min(t)),
        }
    }

    fn bin_width(&self) -> f64 {
        self.absmax as f64 / BINS as f64
    }

    fn percentile_threshold(&self, p: f64) -> f32 {
        let h = self.abs_hist();
        let total: f64 = h.iter().sum();
        let target = total * (p / 100.0).clamp(0.0, 1.0);
        let mut acc = 0.0;
        for (i, c) in h.iter().enumerate() {
            acc += c;
            if acc >= target {
                return ((i + 1) as f64 * self.bin_width()) as f32;
            }
        }
        self.absmax
    }

    /// TensorRT's calibrator: for each candidate threshold bin `i`, the reference distribution is
    /// the first `i` bins with the tail folded into the last; the candidate is that distribution
    /// merged into the quantized levels and expanded back over the non-empty bins. The threshold
    /// minimizing KL(reference || candidate) wins.
    fn entropy_threshold(&self, qt: QType) -> f32 {
        let h = self.abs_hist();
        let (qmin, qmax) = qt.qrange(false, false);
        // Levels available to |x|: half the range for signed types, all of it otherwise.
        let levels = if qmin < 0 {
            (qmax as usize) + 1
        } else {
            (qmax - qmin) as usize + 1
        };
        let levels = levels.min(BINS);
        let mut best = (f64::INFINITY, BINS);
        let mut i = levels;
        while i <= BINS {
            let tail: f64 = h[i..].iter().sum();
            let mut p: Vec<f64> = h[..i].to_vec();
            p[i - 1] += tail;
            let total: f64 = p.iter().sum();
            if total > 0.0 {
                let kl = kl_quantized(&p, &h[..i], levels);
                if kl < best.0 {
                    best = (kl, i);
                }
            }
            i += 1;
        }
        (best.1 as f64 * self.bin_width()) as f32
    }

    /// The symmetric clip threshold (searched over 100 fractions of absmax) minimizing the
    /// quantization MSE estimated from bin centers.
    fn mse_threshold(&self, qt: QType, symmetric: bool) -> f32 {
        let w = self.bin_width();
        let centers: Vec<(f32, f64)> = self
            .hist
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0.0)
            .map(|(b, &c)| ((-(self.absmax as f64) + (b as f64 + 0.5) * w) as f32, c))
            .collect();
        let mut best = (f64::INFINITY, self.absmax);
        for k in 1..=100 {
            let t = self.absmax * k as f32 / 100.0;
            let (lo, hi) = (self.min.max(-t), self.max.min(t));
            let p = QParams::from_range(lo, hi, qt, symmetric, false);
            let err: f64 = centers
                .iter()
                .map(|&(x, c)| {
                    let d = (p.dequantize(p.quantize(x, qt)) - x) as f64;
                    d * d * c
                })
                .sum();
            if err < best.0 {
                best = (err, t);
            }
        }
        best.1
    }
}

/// KL(p || q) where q is the clipped histogram `orig` merged into `levels` equal groups and
/// spread back uniformly over each group's non-empty bins.
fn kl_quantized(p: &[f64], orig: &[f64], levels: usize) -> f64 {
    let n = p.len();
    let mut q = vec![0.0; n];
    let per = n as f64 / levels as f64;
    for l in 0..levels {
        let start = (l as f64 * per).floor() as usize;
        let end = if l + 1 == levels {
            n
        } else {
            (((l + 1) as f64 * per).floor() as usize)
                .max(start + 1)
                .min(n)
        };
        if start >= end {
            continue;
        }
        // The candidate is built from the clipped histogram without the folded tail, as
        // TensorRT does; otherwise the narrowest threshold would reproduce `p` exactly.
        let sum: f64 = orig[start..end].iter().sum();
        let nonzero = (start..end).filter(|&j| orig[j] > 0.0).count();
        if nonzero == 0 {
            continue;
        }
        for (qj, &oj) in q[start..end].iter_mut().zip(&orig[start..end]) {
            if oj > 0.0 {
                *qj = sum / nonzero as f64;
            }
        }
    }
    let (ps, qs): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if ps <= 0.0 || qs <= 0.0 {
        return f64::INFINITY;
    }
    // Smoothed as ONNX Runtime does: empty bins of q get a little mass (taken evenly from the
    // others), so a clipped tail costs a finite amount.
    const EPS: f64 = 1e-4;
    let zeros = q.iter().filter(|&&v| v == 0.0).count();
    let eps1 = EPS * zeros as f64 / (n - zeros).max(1) as f64;
    let mut kl = 0.0;
    for (&pv, &qv) in p.iter().zip(&q) {
        if pv > 0.0 {
            let pj = pv / ps;
            let qj = if qv == 0.0 { EPS } else { qv / qs - eps1 };
            if qj <= 0.0 {
                return f64::INFINITY;
            }
            kl += pj * (pj / qj).ln();
        }
    }
    kl
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_of(xs: &[f32]) -> Stats {
        let mut s = Stats::default();
        s.observe_range(xs);
        s.start_histogram();
        s.observe_histogram(xs);
        s
    }

    /// A bulk of values in [-1, 1] and a few outliers at +-50.
    fn outliers() -> Vec<f32> {
        let mut v: Vec<f32> = (0..20000)
            .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        v.extend([50.0, -50.0]);
        v
    }

    #[test]
    fn minmax_is_the_observed_range() {
        let s = stats_of(&[-2.0, 0.5, 3.0, f32::NAN]);
        assert_eq!(s.range(Method::MinMax, QType::U8, false), (-2.0, 3.0));
    }

    #[test]
    fn histogram_methods_clip_outliers() {
        let s = stats_of(&outliers());
        for m in [Method::Percentile(99.9), Method::Mse] {
            let (lo, hi) = s.range(m, QType::I8, true);
            assert!(
                hi < 50.0 && lo > -50.0,
                "{m:?} kept the outliers: {lo} {hi}"
            );
            assert!(hi >= 0.9, "{m:?} clipped the bulk: {hi}");
        }
        // Keeping 100% keeps everything.
        let (_, hi) = s.range(Method::Percentile(100.0), QType::I8, true);
        assert_eq!(hi, 50.0);
    }

    #[test]
    fn entropy_clips_a_heavy_tail() {
        // Laplace(0, 0.1) quantiles: most mass near 0, a long sparse tail.
        let v: Vec<f32> = (0..20000)
            .map(|i| {
                let u = ((i * 7919) % 10007) as f64 / 10007.0 + 0.5 / 10007.0;
                let s = if i % 2 == 0 { 1.0 } else { -1.0 };
                (s * -u.ln() * 0.1) as f32
            })
            .collect();
        let s = stats_of(&v);
        let (lo, hi) = s.range(Method::Entropy, QType::I8, true);
        let absmax = s.max.max(-s.min);
        assert!(
            hi < 0.9 * absmax && lo > -0.9 * absmax,
            "{lo} {hi} of {absmax}"
        );
        assert!(hi > 0.2, "clipped the bulk: {hi}");
    }

    #[test]
    fn uniform_data_keeps_its_range() {
        let v: Vec<f32> = (0..10000).map(|i| i as f32 / 10000.0).collect();
        let s = stats_of(&v);
        let (_, hi) = s.range(Method::Entropy, QType::U8, false);
        assert!(hi > 0.9, "entropy {hi}");
        let (_, hi) = s.range(Method::Mse, QType::U8, false);
        assert!(hi > 0.9, "mse {hi}");
    }
}
