//! Softmax, log-softmax, layer norm and instance norm on every table against f64 twins, on
//! random row counts and lengths (tails of the 8-lane loops), in place and not.

use edgeopt_kernels::Kernels;
use proptest::prelude::*;

fn data(len: usize, seed: u32, scale: f32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) as f32 / u32::MAX as f32 - 0.5) * scale)
        .collect()
}

fn softmax_f64(row: &[f32], log: bool) -> Vec<f64> {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let s: f64 = row.iter().map(|&x| (x as f64 - m).exp()).sum();
    row.iter()
        .map(|&x| {
            if log {
                x as f64 - m - s.ln()
            } else {
                (x as f64 - m).exp() / s
            }
        })
        .collect()
}

fn norm_f64(row: &[f32], eps: f32, g: impl Fn(usize) -> f32, b: impl Fn(usize) -> f32) -> Vec<f64> {
    let n = row.len() as f64;
    let mean = row.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = row.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    let rstd = 1.0 / (var + eps as f64).sqrt();
    row.iter()
        .enumerate()
        .map(|(i, &x)| (x as f64 - mean) * rstd * g(i) as f64 + b(i) as f64)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn softmax_matches_f64(rows in 1usize..5, n in 1usize..70, seed in any::<u32>(), scale in 0.1f32..80.0, log in any::<bool>()) {
        let x = data(rows * n, seed, scale);
        for table in Kernels::available() {
            let mut out = vec![0f32; x.len()];
            table.softmax(Some(&x), &mut out, n, log).unwrap();
            let mut inplace = x.clone();
            table.softmax(None, &mut inplace, n, log).unwrap();
            for (r, row) in x.chunks(n).enumerate() {
                let want = softmax_f64(row, log);
                for i in 0..n {
                    let (got, w) = (out[r * n + i] as f64, want[i]);
                    // exp to ~3e-7 relative plus n roundings in the sum; log-softmax absolute.
                    let tol = if log { 2e-6 * (w.abs() + 1.0) } else { 2e-6 * w + 1e-12 };
                    prop_assert!((got - w).abs() <= tol, "{} row {r} [{i}]: {got} vs {w}", table.name());
                    prop_assert_eq!(out[r * n + i].to_bits(), inplace[r * n + i].to_bits());
                }
            }
        }
    }

    #[test]
    fn layer_norm_matches_f64(rows in 1usize..5, n in 1usize..70, seed in any::<u32>(), beta in any::<bool>()) {
        let x = data(rows * n, seed, 10.0);
        let g = data(n, seed ^ 1, 2.0);
        let b = data(n, seed ^ 2, 2.0);
        let eps = 1e-5;
        for table in Kernels::available() {
            let mut out = vec![0f32; x.len()];
            table.layer_norm(&x, &g, beta.then_some(&b[..]), eps, &mut out).unwrap();
            for (r, row) in x.chunks(n).enumerate() {
                let want = norm_f64(row, eps, |i| g[i], |i| if beta { b[i] } else { 0.0 });
                for i in 0..n {
                    let (got, w) = (out[r * n + i] as f64, want[i]);
                    prop_assert!((got - w).abs() <= 1e-5 * (w.abs() + 1.0), "{} {got} vs {w}", table.name());
                }
            }
        }
    }

    #[test]
    fn instance_norm_matches_f64(batch in 1usize..3, c in 1usize..5, inner in 1usize..50, seed in any::<u32>()) {
        let x = data(batch * c * inner, seed, 6.0);
        let g = data(c, seed ^ 1, 2.0);
        let b = data(c, seed ^ 2, 2.0);
        for table in Kernels::available() {
            let mut out = vec![0f32; x.len()];
            table.instance_norm(&x, inner, &g, &b, 1e-5, &mut out).unwrap();
            for (q, plane) in x.chunks(inner).enumerate() {
                let want = norm_f64(plane, 1e-5, |_| g[q % c], |_| b[q % c]);
                for i in 0..inner {
                    let (got, w) = (out[q * inner + i] as f64, want[i]);
                    prop_assert!((got - w).abs() <= 1e-5 * (w.abs() + 1.0), "{} {got} vs {w}", table.name());
                }
            }
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let k = Kernels::native();
    let mut out = [0f32; 6];
    assert!(k.softmax(None, &mut out, 4, false).is_err());
    assert!(k.softmax(Some(&[0.0; 5]), &mut out, 3, false).is_err());
    assert!(k.softmax(None, &mut out, 0, false).is_err());
    assert!(k
        .layer_norm(&[0.0; 6], &[1.0; 4], None, 1e-5, &mut out)
        .is_err());
    assert!(k
        .layer_norm(&[0.0; 6], &[1.0; 3], Some(&[0.0; 2]), 1e-5, &mut out)
        .is_err());
    assert!(k
        .instance_norm(&[0.0; 6], 3, &[1.0; 2], &[0.0; 1], 1e-5, &mut out)
        .is_err());
    // Large inputs do not overflow: the maximum is subtracted first.
    let mut big = [1000.0, 1000.0, -1000.0];
    k.softmax(None, &mut big, 3, false).unwrap();
    assert_eq!(big, [0.5, 0.5, 0.0]);
}
