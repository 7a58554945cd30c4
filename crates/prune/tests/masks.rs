//! Unstructured, block and N:M masks, sensitivity and allocation.

use edgeopt_ir::{Attribute, Model};
use edgeopt_passes::testing::{random_tensor, ModelBuilder};
use edgeopt_prune::sensitivity::{allocate, sensitivity};
use edgeopt_prune::{layers, normalize, prune_masks, Mask};

fn mlp() -> Model {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 32]);
    b.weight("w1", &[24, 32]).weight("b1", &[24]);
    b.node(
        "Gemm",
        &["x", "w1", "b1"],
        &["h"],
        vec![("transB", Attribute::Int(1))],
    );
    b.node("Relu", &["h"], &["r"], vec![]);
    b.weight("w2", &[24, 10]);
    b.node("MatMul", &["r", "w2"], &["y"], vec![]);
    b.output("y");
    let mut m = b.build();
    normalize(&mut m).unwrap();
    m
}

fn weight(m: &Model, name: &str) -> Vec<f32> {
    m.graph.initializers[&m.graph.find(name).unwrap()]
        .as_slice::<f32>()
        .unwrap()
        .to_vec()
}

#[test]
fn magnitude_per_layer_and_global() {
    let mut m = mlp();
    let ls = layers(&m);
    assert_eq!(ls.len(), 2);
    let before = weight(&m, "w1");
    let reps = prune_masks(&mut m, &ls, Mask::Magnitude { global: false }, 0.75).unwrap();
    assert_eq!(reps[0].zeros, 24 * 32 * 3 / 4);
    assert_eq!(reps[1].zeros, 24 * 10 * 3 / 4);
    let after = weight(&m, "w1");
    let kept_min = after
        .iter()
        .filter(|v| **v != 0.0)
        .map(|v| v.abs())
        .fold(f32::MAX, f32::min);
    let pruned_max = before
        .iter()
        .zip(&after)
        .filter(|(_, a)| **a == 0.0)
        .map(|(b, _)| b.abs())
        .fold(0.0, f32::max);
    assert!(
        pruned_max <= kept_min,
        "magnitude order: {pruned_max} > {kept_min}"
    );
    let mut g = mlp();
    let reps = prune_masks(&mut g, &ls, Mask::Magnitude { global: true }, 0.5).unwrap();
    let zeros: usize = reps.iter().map(|r| r.zeros).sum();
    assert_eq!(zeros, (24 * 32 + 24 * 10) / 2);
    assert!(prune_masks(&mut g, &ls, Mask::Magnitude { global: true }, 1.5).is_err());
}

#[test]
fn n_of_m_along_inputs() {
    let mut m = mlp();
    let ls = layers(&m);
    prune_masks(&mut m, &ls, Mask::NofM { n: 2, m: 4 }, 0.0).unwrap();
    let w1 = weight(&m, "w1"); // [out 24, in 32], transB: inputs contiguous
    for row in w1.chunks(32) {
        for g in row.chunks(4) {
            assert_eq!(g.iter().filter(|v| **v != 0.0).count(), 2);
        }
    }
    let w2 = weight(&m, "w2"); // [in 24, out 10]: groups run down the columns
    for o in 0..10 {
        for g in 0..6 {
            let nz = (0..4).filter(|i| w2[(g * 4 + i) * 10 + o] != 0.0).count();
            assert_eq!(nz, 2);
        }
    }
}

#[test]
fn blocks_are_zeroed_whole() {
    let mut m = mlp();
    let ls = layers(&m);
    prune_masks(&mut m, &ls[..1], Mask::Block { rows: 4, cols: 1 }, 0.5).unwrap();
    let w1 = weight(&m, "w1");
    let mut dead = 0;
    for bo in 0..6 {
        for i in 0..32 {
            let z: Vec<bool> = (0..4).map(|r| w1[(bo * 4 + r) * 32 + i] == 0.0).collect();
            assert!(z.iter().all(|x| *x) || z.iter().all(|x| !*x));
            dead += z[0] as usize;
        }
    }
    assert_eq!(dead, 6 * 32 / 2);
}

#[test]
fn sensitivity_grows_and_allocation_meets_target() {
    let m = mlp();
    let feeds = vec![
        vec![random_tensor(&[1, 32], 3)],
        vec![random_tensor(&[1, 32], 4)],
    ];
    let curves = sensitivity(&m, &feeds, &[0.25, 0.5, 0.75, 0.9]).unwrap();
    assert_eq!(curves.len(), 2);
    for c in &curves {
        assert!(
            c.points.windows(2).all(|w| w[1].1 + 1e-9 >= w[0].1 * 0.5),
            "{c:?}"
        );
        assert!(c.points.last().unwrap().1 > 0.0);
    }
    let alloc = allocate(&curves, 0.6);
    let total: f64 = curves.iter().map(|c| c.params as f64).sum();
    let pruned: f64 = curves
        .iter()
        .map(|c| alloc[&c.node] * c.params as f64)
        .sum();
    assert!(pruned >= 0.6 * total, "{alloc:?}");
}
