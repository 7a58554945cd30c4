//! Winograd F(2x2, 3x3) and F(4x4, 3x3) against the naive f64 reference: random 3x3
//! stride-1 shapes (odd sizes, images smaller than a tile, asymmetric pads, channel counts
//! around the 8- and 16-lane steps, batches), both tile sizes, every table this CPU has, 1-2
//! threads; plus layers big enough to be split in several blocks of tiles, and determinism.

use edgeopt_kernels::conv::{Conv2dShape, PackedConv};
use edgeopt_kernels::{reference, Activation, Kernels};
use proptest::prelude::*;

/// Error bound relative to `sum |w * x| + |bias|` of each output: F(2x2) adds a few roundings
/// of that size; F(4x4)'s transforms (constants up to 8 and 1/24) about ten times more.
fn tolerance(tile: usize) -> f64 {
    if tile == 2 {
        1e-5
    } else {
        1e-4
    }
}

fn random(len: usize, mut s: u64) -> Vec<f32> {
    s |= 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// Runs `shape` with both tiles on every table and checks every output; returns the outputs
/// of each (table, tile) for the determinism checks.
fn check(
    shape: &Conv2dShape,
    act: Activation,
    bias: bool,
    threads: usize,
    seed: u64,
) -> Vec<Vec<f32>> {
    let x = random(shape.input_len(), seed);
    let w = random(shape.weight_len(), seed + 1);
    let b = random(shape.out_channels, seed + 2);
    let b = bias.then_some(&b[..]);
    let (want, mag) = reference::conv2d(shape, &x, &w, b, act).unwrap();
    let mut outs = Vec::new();
    for table in Kernels::available_with_tiles() {
        for tile in [2, 4] {
            let conv = PackedConv::winograd_with_tile(table, shape, &w, b, act, tile).unwrap();
            assert_eq!(conv.winograd_tile(), Some(tile));
            let mut out = vec![f32::NAN; shape.output_len()];
            let mut scratch = vec![f32::NAN; conv.scratch_len()];
            conv.run(&x, &mut out, &mut scratch, threads).unwrap();
            for (i, ((&got, &want), &m)) in out.iter().zip(&want).zip(&mag).enumerate() {
                let tol = tolerance(tile) * m * act.lipschitz().max(1.0) as f64 + 1e-6;
                assert!(
                    (got as f64 - want as f64).abs() <= tol,
                    "{} F({tile}x{tile}) output {i}: got {got}, want {want} (tol {tol}) for {shape}, {threads} threads",
                    table.name(),
                );
            }
            outs.push(out);
        }
    }
    outs
}

fn shape() -> impl Strategy<Value = Conv2dShape> {
    (
        (1usize..3, 1usize..40, 1usize..20, 1usize..20, 1usize..40),
        (0usize..3, 0usize..3, 0usize..3, 0usize..3),
    )
        .prop_map(|((batch, cin, h, w, cout), (pt, pl, pb, pr))| {
            let mut s = Conv2dShape::simple(batch, cin, h, w, cout, 3);
            (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (pt, pl, pb, pr);
            s
        })
        .prop_filter("a non-empty output", |s| s.validate().is_ok())
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        2 => Just(Activation::None),
        2 => Just(Activation::Relu),
        1 => Just(Activation::Clip { min: -0.25, max: 0.5 }),
        1 => Just(Activation::HardSwish),
        1 => Just(Activation::Sigmoid),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn winograd_matches_reference(
        s in shape(), act in activation(), bias: bool, threads in 1usize..3, seed: u64,
    ) {
        check(&s, act, bias, threads, seed);
    }
}

/// Layers with several blocks of tiles (so the two-thread split runs), checked against the
/// reference, and bit-identical for 1 and 2 threads.
#[test]
fn multi_block_layers_are_right_and_thread_count_independent() {
    for (cin, hw, cout) in [(64, 30, 64), (24, 41, 40), (130, 16, 33)] {
        let mut s = Conv2dShape::simple(1, cin, hw, hw, cout, 3);
        (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (1, 1, 1, 1);
        let one = check(&s, Activation::Relu, true, 1, cin as u64);
        let two = check(&s, Activation::Relu, true, 2, cin as u64);
        for (a, b) in one.iter().zip(&two) {
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{s}"
            );
        }
    }
}

#[test]
fn only_tiles_2_and_4_exist() {
    let s = Conv2dShape::simple(1, 2, 5, 5, 2, 3);
    let w = vec![0.0; s.weight_len()];
    let err = PackedConv::winograd_with_tile(Kernels::native(), &s, &w, None, Activation::None, 3)
        .unwrap_err();
    assert!(err.to_string().contains("tile 3"), "{err}");
}
