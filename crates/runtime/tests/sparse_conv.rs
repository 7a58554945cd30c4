//! Pointwise convolutions with mostly-zero constant weights run on the CSR sparse kernel and
//! match the reference eval (tolerance 1e-4 relative to the largest output), with bias and a
//! fused activation; dense weights, small images and non-pointwise convolutions do not take it.

mod common;

use common::{assert_all_fast, check};
use edgeopt_passes::testing::{ints, random_tensor, ModelBuilder};
use edgeopt_tensor::Tensor;

/// A weight of `shape` with about `sparsity` of its entries zero, and that measured fraction.
fn sparse_weight(shape: &[usize], sparsity: f64, seed: u64) -> (Tensor, f64) {
    let t = random_tensor(shape, seed);
    let mask = random_tensor(shape, seed ^ 0xabc);
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
    let zeros = v.iter().filter(|x| **x == 0.0).count() as f64 / v.len() as f64;
    (Tensor::from_vec(shape.to_vec(), v).unwrap(), zeros)
}

#[test]
fn sparse_pointwise_conv_matches_reference() {
    // (batch, cin, cout, h, w, kernel, sparsity, bias)
    for (case, (n, cin, cout, h, w, k, sparsity, bias)) in [
        (1, 24, 40, 5, 7, 1, 0.9, true),
        (2, 16, 8, 9, 9, 1, 0.95, false),
        (1, 33, 17, 3, 3, 1, 0.85, true),
        (1, 16, 16, 2, 3, 1, 0.95, true),
        (1, 16, 16, 6, 6, 1, 0.3, true),
        (1, 16, 16, 6, 6, 1, 0.75, true),
        (1, 8, 8, 32, 33, 1, 0.75, false),
        (1, 8, 8, 6, 6, 3, 0.95, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[n, cin, h, w]);
        let (wt, measured) = sparse_weight(&[cout, cin, k, k], sparsity, case as u64 + 1);
        b.init("w", wt);
        let pad = (k / 2) as i64;
        let mut inputs = vec!["x", "w"];
        if bias {
            b.weight("c", &[cout]);
            inputs.push("c");
        }
        b.node(
            "Conv",
            &inputs,
            &["h"],
            vec![("pads", ints(&[pad, pad, pad, pad]))],
        );
        b.node("Relu", &["h"], &["y"], vec![]);
        b.output("y");
        let model = b.build();
        let x = random_tensor(&[n, cin, h, w], 7);
        for opt_level in [1, 2] {
            let mut s = check(&model, std::slice::from_ref(&x), opt_level, 1, 1e-4);
            assert_all_fast(&s, "sparse conv");
            s.set_profiling(true);
            s.run(std::slice::from_ref(&x)).unwrap();
            let names: Vec<String> = s.profile().into_iter().map(|p| p.kernel).collect();
            // The lowering's rule: 70% zeros (`lower::sparse_conv::MIN_SPARSITY`).
            let want = measured >= 0.7 && k == 1 && h * w >= 8;
            assert_eq!(
                names.iter().any(|k| k == "sparse.conv1x1"),
                want,
                "case {case} (sparsity {measured}, opt {opt_level}): {names:?}"
            );
        }
    }
}
