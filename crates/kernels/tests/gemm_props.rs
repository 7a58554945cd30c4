//! Property tests: random shapes (1..67, so every edge-tile shape occurs), layouts, alpha/beta,
//! bias, activations, thread counts and cache blockings, on every table this CPU has (the
//! generic one always), each checked against the f64 reference.

mod common;

use common::{check, run, BiasKind, Case, Data, Layout};
use edgeopt_kernels::{Activation, Blocking, Kernels, MatMut, PackedA};
use proptest::prelude::*;

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        3 => (0usize..3).prop_map(|pad| Layout::RowMajor { pad }),
        2 => (0usize..3).prop_map(|pad| Layout::ColMajor { pad }),
        1 => Just(Layout::Strided),
    ]
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::None),
        Just(Activation::Relu),
        (-1.0f32..0.0, 0.0f32..1.0).prop_map(|(min, max)| Activation::Clip { min, max }),
        (-0.5f32..1.5).prop_map(|alpha| Activation::LeakyRelu { alpha }),
        Just(Activation::Sigmoid),
        (-1.0f32..1.0, -1.0f32..1.0)
            .prop_map(|(alpha, beta)| Activation::HardSigmoid { alpha, beta }),
        Just(Activation::HardSwish),
    ]
}

/// A dimension: often 1 (the GEMV paths), otherwise anything up to 67.
fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(1usize), 6 => 1usize..68]
}

fn case() -> impl Strategy<Value = Case> {
    let shape = (dim(), dim(), 1usize..68);
    let layouts = (layout(), layout(), layout());
    let scalars = (
        prop_oneof![Just(1.0f32), -2.0f32..2.0],
        prop_oneof![Just(0.0f32), Just(1.0f32), -2.0f32..2.0],
        prop_oneof![
            Just(BiasKind::None),
            Just(BiasKind::PerRow),
            Just(BiasKind::PerCol)
        ],
    );
    (
        shape,
        layouts,
        scalars,
        activation(),
        1usize..4,
        any::<u64>(),
    )
        .prop_map(
            |((m, n, k), (a, b, c), (alpha, beta, bias), act, threads, seed)| Case {
                m,
                n,
                k,
                a,
                b,
                c,
                alpha,
                beta,
                bias,
                act,
                threads,
                seed,
            },
        )
}

/// The table as shipped, or with tiny blocks so that packing restarts and partial sums through
/// C happen inside these small shapes, and with threads used for any size.
fn variant(table: &Kernels, small: Option<(usize, usize, usize)>) -> Kernels {
    let (mr, nr) = table.tile();
    let t = table.with_min_flops_per_thread(0);
    match small {
        None => t,
        Some((mb, kc, nb)) => t
            .with_blocking(Blocking {
                mc: mb * mr,
                kc,
                nc: nb * nr,
            })
            .unwrap(),
    }
}

fn small_blocking() -> impl Strategy<Value = Option<(usize, usize, usize)>> {
    prop_oneof![
        Just(None),
        (1usize..4, 1usize..20, 1usize..4).prop_map(Some)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gemm_matches_reference(case in case(), small in small_blocking(), prepacked: bool) {
        for table in Kernels::available_with_tiles() {
            let table = variant(table, small);
            check(&table, &case, prepacked).map_err(TestCaseError::fail)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A packed A gives the same bits as the per-call packing (and so inherits its check
    /// against the reference), for any blocking and thread count; M or N of 1 take GEMV
    /// shortcuts in `gemm`, so they are compared with the reference tolerance instead.
    #[test]
    fn packed_a_is_bit_identical_to_gemm(case in case(), small in small_blocking()) {
        for table in Kernels::available_with_tiles() {
            let table = variant(table, small);
            let data = Data::new(&case);
            let want = run(&table, &case, &data, false);
            let mut got = data.c0.clone();
            let (rs, cs, _) = case.c.strides(case.m, case.n);
            let cm = MatMut::new(&mut got, case.m, case.n, rs, cs).unwrap();
            let packed = PackedA::with_kernels(&table, data.a(&case)).unwrap();
            table
                .gemm_packed_a(&data.params(&case), &packed, data.b(&case), cm)
                .unwrap();
            if case.m > 1 && case.n > 1 {
                let same = got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits());
                prop_assert!(same, "{}: packed A differs from gemm; {case:?}", table.name());
            } else {
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    let tol = 1e-4 * (1.0 + w.abs());
                    prop_assert!((g - w).abs() <= tol || (g.is_nan() && w.is_nan()),
                        "{}: C[{i}] = {g}, gemm {w}; {case:?}", table.name());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The AVX-512 register tiles kept for measurements (none without AVX-512F: the test then
    /// checks nothing, by design) compute the same products.
    #[test]
    fn tile_variants_match_reference(case in case(), small in small_blocking(), prepacked: bool) {
        for table in Kernels::tile_variants() {
            let table = variant(&table, small);
            check(&table, &case, prepacked).map_err(TestCaseError::fail)?;
        }
    }
}
