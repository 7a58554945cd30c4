//! Gemm layers with mostly-zero constant weights run on the CSR sparse kernel and match the
//! reference eval (tolerance 1e-4 relative to the largest output); dense ones do not take it.

mod common;

use common::{assert_all_fast, check};
use edgeopt_ir::Attribute;
use edgeopt_passes::testing::{random_tensor, ModelBuilder};
use edgeopt_tensor::Tensor;

/// A `[rows, cols]` weight with about `sparsity` of its entries zero.
fn sparse_weight(rows: usize, cols: usize, sparsity: f64, seed: u64) -> Tensor {
    let t = random_tensor(&[rows, cols], seed);
    let mask = random_tensor(&[rows, cols], seed ^ 0xabc);
    let v: Vec<f32> = t
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .zip(mask.as_slice::<f32>().unwrap())
        .map(|(w, r)| {
            if (*r as f64 + 1.0) / 2.0 < sparsity {
                0.0
            } else {
                *w
            }
        })
        .collect();
    Tensor::from_vec(vec![rows, cols], v).unwrap()
}

fn kernels(s: &edgeopt_runtime::Session) -> Vec<String> {
    s.profile().into_iter().map(|p| p.kernel).collect()
}

#[test]
fn sparse_gemm_matches_reference() {
    for (case, (batch, k, n, trans_b, sparsity)) in [
        (1, 37, 23, true, 0.9),
        (3, 64, 17, false, 0.95),
        (2, 25, 9, true, 0.95),
        (1, 40, 30, true, 0.3),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[batch, k]);
        let w = if trans_b { [n, k] } else { [k, n] };
        let wt = sparse_weight(w[0], w[1], sparsity, case as u64 + 1);
        let zeros = wt
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .filter(|v| **v == 0.0)
            .count();
        let measured = zeros as f64 / wt.len() as f64;
        b.init("w", wt);
        b.weight("c", &[n]);
        b.node(
            "Gemm",
            &["x", "w", "c"],
            &["h"],
            vec![("transB", Attribute::Int(trans_b as i64))],
        );
        b.node("Relu", &["h"], &["y"], vec![]);
        b.output("y");
        let model = b.build();
        let mut s = check(&model, &[random_tensor(&[batch, k], 7)], 2, 1, 1e-4);
        assert_all_fast(&s, "sparse gemm");
        s.set_profiling(true);
        s.run(&[random_tensor(&[batch, k], 8)]).unwrap();
        let names = kernels(&s);
        assert_eq!(
            names.iter().any(|k| k == "sparse.gemm"),
            measured >= 0.7, // lower::sparse::MIN_SPARSITY
            "case {case} (sparsity {measured}): {names:?}"
        );
    }
}
