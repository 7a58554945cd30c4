//! Hand-picked GEMM cases: sizes past every cache block, bad inputs, determinism, the
//! prepacked API and empty dimensions.

mod common;

use common::{check, run, BiasKind, Case, Data, Layout};
use edgeopt_kernels::{
    gemm, Activation, Bias, GemmParams, KernelError, Kernels, MatMut, MatRef, PackedB,
};

#[test]
fn large_shapes_cross_every_block() {
    // Past kc (256), mc (168) and, with a narrow nc, several column blocks; odd edges.
    for table in Kernels::available_with_tiles() {
        let narrow = table
            .with_blocking(edgeopt_kernels::Blocking {
                nc: 4 * table.tile().1,
                ..table.blocking()
            })
            .unwrap();
        for t in [table.clone(), narrow] {
            for (m, n, k) in [
                (173, 131, 300),
                (64, 200, 576),
                (1, 300, 701),
                (1, 1000, 37),
                (300, 1, 513),
                // Short K, many rows far apart: the row-of-tiles order (with edges).
                (101, 1100, 20),
            ] {
                let mut case = Case::simple(m, n, k);
                case.beta = 0.5;
                case.bias = BiasKind::PerRow;
                case.act = Activation::Relu;
                case.threads = 2;
                for prepacked in [false, true] {
                    check(&t, &case, prepacked).unwrap();
                }
            }
        }
    }
}

#[test]
fn all_activations_on_a_tile_grid() {
    let acts = [
        Activation::None,
        Activation::Relu,
        Activation::Clip {
            min: 0.0,
            max: 0.25,
        },
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::Sigmoid,
        Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Activation::HardSwish,
    ];
    for table in Kernels::available_with_tiles() {
        for act in acts {
            let mut case = Case::simple(37, 45, 29);
            case.act = act;
            case.alpha = 4.0; // spread outputs over every region of the activations
            case.bias = BiasKind::PerCol;
            check(table, &case, false).unwrap();
        }
    }
}

#[test]
fn results_are_bit_identical_run_to_run_and_across_thread_counts() {
    for table in Kernels::available_with_tiles() {
        let table = table.with_min_flops_per_thread(0);
        for (m, n, k) in [(97, 211, 150), (1, 500, 300), (500, 1, 300)] {
            let mut case = Case::simple(m, n, k);
            case.beta = 1.0;
            let data = Data::new(&case);
            case.threads = 1;
            let one = run(&table, &case, &data, false);
            for threads in [2, 3, 2] {
                case.threads = threads;
                let many = run(&table, &case, &data, false);
                assert!(one
                    .iter()
                    .zip(&many)
                    .all(|(x, y)| x.to_bits() == y.to_bits()));
            }
        }
    }
}

#[test]
fn tables_agree_with_each_other() {
    // The native table is the generic one's twin: same answers within the tolerance, on a
    // transposed-A, transposed-B conv-like shape.
    let mut case = Case::simple(64, 196, 576);
    case.a = Layout::ColMajor { pad: 3 };
    case.b = Layout::ColMajor { pad: 0 };
    let data = Data::new(&case);
    let g = run(Kernels::generic(), &case, &data, false);
    let n = run(Kernels::native(), &case, &data, false);
    let worst = g
        .iter()
        .zip(&n)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(
        worst < 1e-4,
        "generic and {} differ by {worst}",
        Kernels::native().name()
    );
}

#[test]
fn empty_dimensions() {
    for table in Kernels::available_with_tiles() {
        // K = 0: C = act(beta * C + bias).
        let mut c = vec![2.0f32; 6];
        let params = GemmParams {
            beta: 0.5,
            bias: Bias::PerCol(&[1.0, -3.0, 0.0]),
            activation: Activation::Relu,
            ..GemmParams::default()
        };
        let a = MatRef::row_major(&[], 2, 0).unwrap();
        let b = MatRef::row_major(&[], 0, 3).unwrap();
        table
            .gemm(&params, a, b, MatMut::row_major(&mut c, 2, 3).unwrap())
            .unwrap();
        assert_eq!(c, [2.0, 0.0, 1.0, 2.0, 0.0, 1.0]);
        // M = 0 and N = 0 touch nothing.
        let a = MatRef::row_major(&[1.0; 4], 0, 4).unwrap();
        let b = MatRef::row_major(&[1.0; 4], 4, 1).unwrap();
        let mut none: [f32; 0] = [];
        table
            .gemm(
                &params_plain(),
                a,
                b,
                MatMut::row_major(&mut none, 0, 1).unwrap(),
            )
            .unwrap();
    }
}

fn params_plain() -> GemmParams<'static> {
    GemmParams::default()
}

#[test]
fn bad_inputs_are_errors_naming_the_shapes() {
    let data = vec![1.0f32; 64];
    let mut out = vec![0.0f32; 64];
    let a = MatRef::row_major(&data, 3, 4).unwrap();
    let b = MatRef::row_major(&data, 5, 2).unwrap();
    let c = MatMut::row_major(&mut out, 3, 2).unwrap();
    let err = gemm(&params_plain(), a, b, c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "gemm: A is 3x4, B is 5x2, C is 3x2; expected A MxK, B KxN and C MxN"
    );

    let b = MatRef::row_major(&data, 4, 2).unwrap();
    let c = MatMut::row_major(&mut out, 2, 2).unwrap();
    assert!(matches!(
        gemm(&params_plain(), a, b, c),
        Err(KernelError::ShapeMismatch { .. })
    ));

    let params = GemmParams {
        bias: Bias::PerRow(&[1.0; 2]),
        ..GemmParams::default()
    };
    let c = MatMut::row_major(&mut out, 3, 2).unwrap();
    let err = gemm(&params, a, b, c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "gemm: bias per row has 2 values, but C is 3x2"
    );

    let params = GemmParams {
        activation: Activation::Clip {
            min: 1.0,
            max: -1.0,
        },
        ..GemmParams::default()
    };
    let c = MatMut::row_major(&mut out, 3, 2).unwrap();
    assert!(matches!(
        gemm(&params, a, b, c),
        Err(KernelError::BadActivation(_))
    ));
}

#[test]
fn prepacked_b_must_match_the_table_and_the_product() {
    let data = vec![1.0f32; 64];
    let mut out = vec![0.0f32; 64];
    let a = MatRef::row_major(&data, 3, 4).unwrap();
    let packed =
        PackedB::with_kernels(Kernels::native(), MatRef::row_major(&data, 4, 5).unwrap()).unwrap();
    assert_eq!((packed.rows(), packed.cols()), (4, 5));
    let c = MatMut::row_major(&mut out, 3, 5).unwrap();
    Kernels::native()
        .gemm_prepacked(&params_plain(), a, &packed, c)
        .unwrap();
    assert!(out[..15].iter().all(|&x| x == 4.0));

    let c = MatMut::row_major(&mut out, 3, 4).unwrap();
    let err = Kernels::native()
        .gemm_prepacked(&params_plain(), a, &packed, c)
        .unwrap_err();
    assert!(matches!(err, KernelError::ShapeMismatch { .. }), "{err}");

    if Kernels::native().tile().1 != Kernels::generic().tile().1 {
        let c = MatMut::row_major(&mut out, 3, 5).unwrap();
        let err = Kernels::generic()
            .gemm_prepacked(&params_plain(), a, &packed, c)
            .unwrap_err();
        assert!(err.to_string().contains("panels of"), "{err}");
    }
}

#[test]
fn activation_slices_match_the_scalar_definition() {
    let xs: Vec<f32> = (0..203).map(|i| (i as f32 - 100.0) * 0.37).collect();
    let acts = [
        Activation::Relu,
        Activation::Clip {
            min: -1.0,
            max: 6.0,
        },
        Activation::LeakyRelu { alpha: 0.2 },
        Activation::Sigmoid,
        Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Activation::HardSwish,
    ];
    for table in Kernels::available_with_tiles() {
        for act in acts {
            let mut got = xs.clone();
            table.activate(&mut got, act).unwrap();
            for (x, g) in xs.iter().zip(&got) {
                let want = act.apply_f64(*x as f64);
                let tol = 1e-6 * want.abs().max(1.0);
                assert!(
                    (*g as f64 - want).abs() <= tol,
                    "{}: {act:?}({x}) = {g}, want {want}",
                    table.name()
                );
            }
        }
        assert!(table
            .activate(&mut [0.0], Activation::LeakyRelu { alpha: f32::NAN })
            .is_err());
    }
}

#[test]
fn broadcast_views_too_large_to_pack_are_errors() {
    // Zero strides let one element stand for a huge matrix; packing it cannot be addressed.
    let one = [1.0f32];
    let huge = usize::MAX / 4;
    let a = MatRef::new(&one, 1, huge, 0, 0).unwrap();
    let b = MatRef::new(&one, huge, 1, 0, 0).unwrap();
    let mut out = [0.0f32];
    let c = MatMut::row_major(&mut out, 1, 1).unwrap();
    let err = gemm(&params_plain(), a, b, c).unwrap_err();
    assert!(matches!(err, KernelError::TooLarge { .. }), "{err}");
    let wide = MatRef::new(&one, huge, huge, 0, 0).unwrap();
    assert!(PackedB::new(wide).is_err());
}
