//! Gradual pruning schedules: how much to prune at each step of an iterative
//! prune / fine-tune loop.

/// Sparsity after step `k` of `steps` (1-based) of the cubic schedule of Zhu & Gupta (2017),
/// `s_k = s_f + (s_i - s_f) (1 - k / steps)^3` with initial sparsity `s_i = 0`: fast at first,
/// while many redundant weights remain, slower towards the final sparsity `s_f`.
pub fn cubic(final_sparsity: f64, steps: usize, k: usize) -> f64 {
    if steps == 0 {
        return final_sparsity;
    }
    let t = (k.min(steps) as f64) / steps as f64;
    final_sparsity * (1.0 - (1.0 - t).powi(3))
}

/// Fraction of what is left at `before` that must go to reach `after` (both fractions of the
/// original removed): `1 - (1 - after) / (1 - before)`, in `[0, 1]`.
pub fn relative(before: f64, after: f64) -> f64 {
    if before >= 1.0 {
        return 0.0;
    }
    (1.0 - (1.0 - after) / (1.0 - before)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubic_starts_fast_and_ends_at_the_target() {
        assert_eq!(cubic(0.9, 4, 0), 0.0);
        assert!((cubic(0.9, 4, 4) - 0.9).abs() < 1e-12);
        let s: Vec<f64> = (0..=4).map(|k| cubic(0.9, 4, k)).collect();
        // Increasing, with shrinking increments.
        for w in s.windows(3) {
            assert!(w[1] > w[0] && w[2] > w[1]);
            assert!(w[2] - w[1] < w[1] - w[0]);
        }
        assert!((cubic(0.9, 4, 1) - 0.9 * (1.0 - 0.75f64.powi(3))).abs() < 1e-12);
        assert_eq!(cubic(0.5, 0, 3), 0.5);
    }

    #[test]
    fn relative_steps_compose_to_the_cumulative_sparsity() {
        let (a, b) = (0.3, 0.75);
        let r = relative(a, b);
        assert!(((1.0 - a) * (1.0 - r) - (1.0 - b)).abs() < 1e-12);
        assert_eq!(relative(0.5, 0.5), 0.0);
        assert_eq!(relative(1.0, 1.0), 0.0);
    }
}
