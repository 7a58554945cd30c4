//! The calibrated host: per-kernel-class linear models `time = coef · features`, fitted by
//! non-negative least squares on measured layer timings (as tract's cost-model notes
//! describe: a few linear features per kernel family, non-negative so no feature can make a
//! layer faster).

use crate::layers::{KernelClass, Layer};
use crate::nnls::nnls;
use crate::profile::ClassModel;

/// Feature names, in coefficient order.
pub const FEATURES: [&str; 6] = [
    "macs",
    "act_in_bytes",
    "act_out_bytes",
    "weight_bytes",
    "out_elems",
    "one",
];

pub fn features(l: &Layer) -> [f64; 6] {
    [
        l.macs as f64,
        l.act_in_bytes as f64,
        l.act_out_bytes as f64,
        l.weight_bytes as f64,
        l.out_elems as f64,
        1.0,
    ]
}

/// Predicted seconds of `l` under `m`.
pub fn predict(m: &ClassModel, l: &Layer) -> f64 {
    features(l).iter().zip(&m.coef).map(|(f, c)| f * c).sum()
}

/// Fits one class on `(layer features, measured seconds)` samples. Rows are weighted by
/// 1/time, so the fit minimizes relative error (what the validation targets); columns are
/// scaled to unit norm for conditioning.
pub fn fit(class: KernelClass, samples: &[([f64; 6], f64)]) -> ClassModel {
    let n = FEATURES.len();
    let m = samples.len();
    let mut a = vec![0.0; m * n];
    let mut b = vec![0.0; m];
    for (r, (f, t)) in samples.iter().enumerate() {
        let w = 1.0 / t.max(1e-12);
        for c in 0..n {
            a[r * n + c] = f[c] * w;
        }
        b[r] = 1.0;
    }
    let scale: Vec<f64> = (0..n)
        .map(|c| {
            let s = (0..m).map(|r| a[r * n + c].powi(2)).sum::<f64>().sqrt();
            if s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect();
    for r in 0..m {
        for c in 0..n {
            a[r * n + c] /= scale[c];
        }
    }
    let x = nnls(&a, &b, m, n);
    let coef: Vec<f64> = x.iter().zip(&scale).map(|(v, s)| v / s).collect();
    let rms = if m == 0 {
        0.0
    } else {
        let se: f64 = samples
            .iter()
            .map(|(f, t)| {
                let p: f64 = f.iter().zip(&coef).map(|(a, c)| a * c).sum();
                ((p - t) / t.max(1e-12)).powi(2)
            })
            .sum();
        (se / m as f64).sqrt()
    };
    ClassModel {
        class: class.name().to_string(),
        coef,
        samples: m as u64,
        fit_rel_rms: rms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_linear_timing_law() {
        // time = 2e-11 s/MAC + 1e-10 s/output byte + 3e-6 s.
        let samples: Vec<([f64; 6], f64)> = (1..20)
            .map(|i| {
                let macs = (i * i * 10_000) as f64;
                let out = (i * 3_000) as f64;
                let f = [macs, 2.0 * out, out, 7.0 * i as f64, out / 4.0, 1.0];
                (f, 2e-11 * macs + 1e-10 * out + 3e-6)
            })
            .collect();
        let m = fit(KernelClass::Conv1x1, &samples);
        assert!(m.fit_rel_rms < 1e-6, "{m:?}");
        for (f, t) in &samples {
            let p: f64 = f.iter().zip(&m.coef).map(|(a, c)| a * c).sum();
            assert!((p - t).abs() / t < 1e-6);
        }
        assert!(m.coef.iter().all(|&c| c >= 0.0));
    }
}
