//! Property tests: random shapes (1..67, so every edge-tile shape occurs), layouts, alpha/beta,
//! bias, activations, thread counts and cache blockings, on every table this CPU has (the
//! generic one always), each checked against the f64 reference.

mod common;

use common::{check, BiasKind, Case, Layout};
use edgeopt_kernels::{Activation, Blocking, Kernels};
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
        for table in Kernels::available() {
            let table = variant(table, small);
            check(&table, &case, prepacked).map_err(TestCaseError::fail)?;
        }
    }
}
