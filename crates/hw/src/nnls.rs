//! Non-negative least squares, `min ||A x - b||` subject to `x >= 0`, by the Lawson-Hanson
//! active-set method (Lawson & Hanson, "Solving Least Squares Problems", 1974, ch. 23).

/// Solves the unconstrained least squares of the columns in `passive` by normal equations
/// (Cholesky with a tiny ridge for rank-deficient sets). `a` is row-major `m x n`.
fn ls_subset(a: &[f64], b: &[f64], m: usize, n: usize, passive: &[usize]) -> Vec<f64> {
    let k = passive.len();
    let mut g = vec![0.0; k * k];
    let mut r = vec![0.0; k];
    for row in 0..m {
        let ar = &a[row * n..row * n + n];
        for (i, &pi) in passive.iter().enumerate() {
            r[i] += ar[pi] * b[row];
            for (j, &pj) in passive.iter().enumerate() {
                g[i * k + j] += ar[pi] * ar[pj];
            }
        }
    }
    let trace: f64 = (0..k).map(|i| g[i * k + i]).sum::<f64>().max(1e-300);
    for i in 0..k {
        g[i * k + i] += 1e-12 * trace / k as f64;
    }
    // Cholesky: g = L L^T.
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|t| l[i * k + t] * l[j * k + t]).sum();
            if i == j {
                l[i * k + i] = (g[i * k + i] - s).max(1e-300).sqrt();
            } else {
                l[i * k + j] = (g[i * k + j] - s) / l[j * k + j];
            }
        }
    }
    let mut y = vec![0.0; k];
    for i in 0..k {
        let s: f64 = (0..i).map(|t| l[i * k + t] * y[t]).sum();
        y[i] = (r[i] - s) / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|t| l[t * k + i] * x[t]).sum();
        x[i] = (y[i] - s) / l[i * k + i];
    }
    x
}

/// `min ||A x - b||, x >= 0` for row-major `a` (`m` rows, `n` columns). Columns should be
/// scaled to comparable norms by the caller for good conditioning.
pub fn nnls(a: &[f64], b: &[f64], m: usize, n: usize) -> Vec<f64> {
    assert_eq!(a.len(), m * n, "nnls: A must be m x n");
    assert_eq!(b.len(), m, "nnls: b must have m rows");
    let mut x = vec![0.0; n];
    let mut passive = vec![false; n];
    let tol = 1e-10
        * a.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1.0)
        * b.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1.0);
    for _outer in 0..3 * n + 10 {
        // Gradient w = A^T (b - A x).
        let resid: Vec<f64> = (0..m)
            .map(|r| b[r] - (0..n).map(|c| a[r * n + c] * x[c]).sum::<f64>())
            .collect();
        let w: Vec<f64> = (0..n)
            .map(|c| (0..m).map(|r| a[r * n + c] * resid[r]).sum())
            .collect();
        let Some((j, _)) = (0..n)
            .filter(|&c| !passive[c] && w[c] > tol)
            .map(|c| (c, w[c]))
            .max_by(|p, q| p.1.total_cmp(&q.1))
        else {
            break;
        };
        passive[j] = true;
        for _inner in 0..3 * n + 10 {
            let set: Vec<usize> = (0..n).filter(|&c| passive[c]).collect();
            let z = ls_subset(a, b, m, n, &set);
            if z.iter().all(|&v| v > 0.0) {
                for (i, &c) in set.iter().enumerate() {
                    x[c] = z[i];
                }
                break;
            }
            // Step from x towards z until the first passive variable hits zero.
            let mut alpha = 1.0f64;
            for (i, &c) in set.iter().enumerate() {
                if z[i] <= 0.0 {
                    let d = x[c] - z[i];
                    if d > 0.0 {
                        alpha = alpha.min(x[c] / d);
                    }
                }
            }
            for (i, &c) in set.iter().enumerate() {
                x[c] += alpha * (z[i] - x[c]);
                if x[c] <= 1e-15 * (1.0 + z[i].abs()) {
                    x[c] = 0.0;
                    passive[c] = false;
                }
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_nonnegative_solution_exactly() {
        // b = A [2, 0, 3]: the NNLS solution is the exact one.
        let a = [1.0, 2.0, 0.5, 3.0, 1.0, 1.0, 0.0, 4.0, 2.0, 1.0, 1.0, 5.0];
        let x_true = [2.0, 0.0, 3.0];
        let b: Vec<f64> = (0..4)
            .map(|r| (0..3).map(|c| a[r * 3 + c] * x_true[c]).sum())
            .collect();
        let x = nnls(&a, &b, 4, 3);
        for (g, t) in x.iter().zip(x_true) {
            assert!((g - t).abs() < 1e-8, "{x:?}");
        }
    }

    #[test]
    fn clamps_a_negative_unconstrained_solution() {
        // A = [[1, 1], [1, 2], [1, 3]], b = [0, -1, -2]: A^T b = [-3, -8] <= 0, so x = 0.
        let a = [1.0, 1.0, 1.0, 2.0, 1.0, 3.0];
        let b = [0.0, -1.0, -2.0];
        assert_eq!(nnls(&a, &b, 3, 2), vec![0.0, 0.0]);
        // b = [3, 2, 1]: unconstrained x = [4, -1]; NNLS: x2 = 0, x1 = 6/3 = 2.
        let x = nnls(&a, &[3.0, 2.0, 1.0], 3, 2);
        assert!((x[0] - 2.0).abs() < 1e-9 && x[1] == 0.0, "{x:?}");
    }
}
