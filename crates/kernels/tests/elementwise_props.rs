//! Element-wise operators on every table against their f64 definitions: dense grids (the
//! accuracy of the approximations, stated per operator) and random lengths/patterns
//! (tails, in place, broadcasting).

use edgeopt_kernels::elementwise::{Binary, Rhs, Unary};
use edgeopt_kernels::Kernels;
use proptest::prelude::*;

const UNARY: [Unary; 12] = [
    Unary::Relu,
    Unary::Clip {
        min: -0.5,
        max: 2.0,
    },
    Unary::LeakyRelu { alpha: 0.1 },
    Unary::Sigmoid,
    Unary::HardSigmoid {
        alpha: 0.2,
        beta: 0.5,
    },
    Unary::HardSwish,
    Unary::Tanh,
    Unary::Exp,
    Unary::Erf,
    Unary::Gelu,
    Unary::Neg,
    Unary::Abs,
];

/// Allowed error of `op` at `x` against the f64 value `want`.
fn tolerance(op: Unary, x: f64, want: f64) -> f64 {
    match op {
        Unary::Exp => 3e-7 * want.abs(),
        Unary::Sigmoid | Unary::Tanh => 1e-6 * want.abs() + 1e-7,
        Unary::Erf => 3e-7,
        Unary::Gelu => 3e-7 * x.abs().max(1.0),
        // Piecewise linear: a couple of roundings of the terms (alpha * x + beta cancels).
        _ => 2.4e-7 * (want.abs() + x.abs() + 1.0),
    }
}

fn check_unary(table: &Kernels, op: Unary, xs: &[f32]) {
    let mut out = vec![0f32; xs.len()];
    table.unary(op, xs, &mut out).unwrap();
    let mut inplace = xs.to_vec();
    table.unary_inplace(op, &mut inplace).unwrap();
    for (i, (&x, &y)) in xs.iter().zip(&out).enumerate() {
        let want = op.apply_f64(x as f64);
        let tol = tolerance(op, x as f64, want);
        assert!(
            (y as f64 - want).abs() <= tol || ((want as f32).is_infinite() && y == want as f32),
            "{} {op:?}({x}) = {y}, want {want} (tol {tol})",
            table.name()
        );
        assert_eq!(y.to_bits(), inplace[i].to_bits(), "in place differs");
    }
}

#[test]
fn unary_accuracy_on_dense_grids() {
    let grid: Vec<f32> = (-20_000..=20_000).map(|i| i as f32 * 1e-3).collect();
    let wide: Vec<f32> = (-870..=887).map(|i| i as f32 * 0.1 + 0.03).collect();
    let tiny: Vec<f32> = (-300..300).map(|i| i as f32 * 1e-7).collect();
    for table in Kernels::available() {
        for op in UNARY {
            check_unary(table, op, &grid);
            check_unary(table, op, &tiny);
        }
        check_unary(table, Unary::Exp, &wide);
        check_unary(table, Unary::Tanh, &wide);
        check_unary(table, Unary::Sigmoid, &wide);
    }
}

#[test]
fn special_values() {
    for table in Kernels::available() {
        let mut v = [f32::NAN, 100.0, -100.0, f32::INFINITY, f32::NEG_INFINITY];
        table.unary_inplace(Unary::Exp, &mut v).unwrap();
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[f32::INFINITY, 0.0, f32::INFINITY, 0.0]);
        let mut v = [f32::NAN, 50.0, -50.0];
        table.unary_inplace(Unary::Tanh, &mut v).unwrap();
        assert!(v[0].is_nan());
        assert_eq!(&v[1..], &[1.0, -1.0]);
        let mut v = [-200.0, 200.0];
        table.unary_inplace(Unary::Sigmoid, &mut v).unwrap();
        assert_eq!(v, [0.0, 1.0]);
        let mut v = [1.0, f32::NAN, 3.0];
        table
            .binary(Binary::Max, None, Rhs::Same(&[2.0, 0.0, f32::NAN]), &mut v)
            .unwrap();
        assert_eq!(v[0], 2.0);
        assert!(v[1].is_nan() && v[2].is_nan());
    }
}

#[test]
fn bad_arguments_are_errors() {
    let k = Kernels::native();
    let mut out = [0f32; 3];
    assert!(k.unary(Unary::Relu, &[1.0; 4], &mut out).is_err());
    assert!(k
        .unary_inplace(Unary::Clip { min: 1.0, max: 0.0 }, &mut out)
        .is_err());
    assert!(k
        .binary(Binary::Add, None, Rhs::Same(&[1.0; 2]), &mut out)
        .is_err());
    let err = k
        .binary(
            Binary::Add,
            None,
            Rhs::PerChannel {
                values: &[1.0; 2],
                inner: 2,
            },
            &mut out,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not [outer, 2, 2]"), "{err}");
}

fn binop() -> impl Strategy<Value = Binary> {
    prop_oneof![
        Just(Binary::Add),
        Just(Binary::Sub),
        Just(Binary::Mul),
        Just(Binary::Div),
        Just(Binary::Max),
        Just(Binary::Min),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn unary_on_random_lengths(len in 0usize..100, seed in any::<u32>(), scale in 0.1f32..30.0) {
        let xs: Vec<f32> = (0..len)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) as f32 / u32::MAX as f32 - 0.5) * scale)
            .collect();
        for table in Kernels::available() {
            for op in UNARY {
                check_unary(table, op, &xs);
            }
        }
    }

    #[test]
    fn binary_patterns(
        op in binop(),
        (outer, channels, inner) in (1usize..4, 1usize..6, 1usize..20),
        seed in any::<u32>(),
        pattern in 0usize..4,
    ) {
        let n = outer * channels * inner;
        let gen = |k: u32| -> Vec<f32> {
            (0..n as u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) ^ seed ^ k) as f32 / u32::MAX as f32 * 4.0 - 2.0)
                .collect()
        };
        let (a, b) = (gen(1), gen(2));
        let values = &b[..channels];
        let rhs = match pattern {
            0 => Rhs::Same(&b),
            1 => Rhs::Scalar(b[0]),
            2 => Rhs::ScalarFirst(b[0]),
            _ => Rhs::PerChannel { values, inner },
        };
        let want: Vec<f32> = (0..n)
            .map(|i| match rhs {
                Rhs::Same(b) => op.apply(a[i], b[i]),
                Rhs::Scalar(s) => op.apply(a[i], s),
                Rhs::ScalarFirst(s) => op.apply(s, a[i]),
                Rhs::PerChannel { values, inner } => op.apply(a[i], values[(i / inner) % values.len()]),
            })
            .collect();
        for table in Kernels::available() {
            let mut out = vec![0f32; n];
            table.binary(op, Some(&a), rhs, &mut out).unwrap();
            let mut inplace = a.clone();
            table.binary(op, None, rhs, &mut inplace).unwrap();
            for i in 0..n {
                prop_assert_eq!(out[i].to_bits(), want[i].to_bits(), "{} {:?} at {}", table.name(), op, i);
                prop_assert_eq!(inplace[i].to_bits(), want[i].to_bits());
            }
        }
    }
}
