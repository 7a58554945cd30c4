//! Convolution against the naive f64 reference: random shapes (odd sizes, strides, dilations,
//! asymmetric pads, groups, batches), every algorithm that accepts the shape, every table,
//! 1-3 threads; plus bad inputs and thread-count determinism.

use edgeopt_kernels::conv::{Conv2dShape, ConvAlgo, PackedConv};
use edgeopt_kernels::{reference, Activation, Kernels};
use proptest::prelude::*;

/// Relative tolerance against `sum |w * x| + |bias|` of each output (Winograd's transforms
/// add a few roundings of that size; plain dot products are far inside it).
const REL_TOL: f64 = 1e-5;

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

const ALGOS: [ConvAlgo; 8] = [
    ConvAlgo::Auto,
    ConvAlgo::Im2colGemm,
    ConvAlgo::Im2colTransposed,
    ConvAlgo::Pointwise,
    ConvAlgo::Depthwise,
    ConvAlgo::Winograd,
    ConvAlgo::Direct,
    ConvAlgo::Thin,
];

/// Runs `shape` with every algorithm and table that accept it; returns how many ran.
fn check(
    shape: &Conv2dShape,
    act: Activation,
    with_bias: bool,
    threads: usize,
    seed: u64,
) -> usize {
    let x = random(shape.input_len(), seed);
    let w = random(shape.weight_len(), seed + 1);
    let bias = random(shape.out_channels, seed + 2);
    let bias = with_bias.then_some(&bias[..]);
    let (want, mag) = reference::conv2d(shape, &x, &w, bias, act).unwrap();
    let mut ran = 0;
    for table in Kernels::available_with_tiles() {
        for algo in ALGOS {
            let Ok(conv) = PackedConv::with_kernels(table, shape, &w, bias, act, algo) else {
                assert_ne!(algo, ConvAlgo::Auto, "Auto must accept every valid shape");
                assert_ne!(
                    algo,
                    ConvAlgo::Im2colGemm,
                    "im2col must accept every valid shape"
                );
                continue;
            };
            let mut out = vec![f32::NAN; shape.output_len()];
            let mut scratch = vec![f32::NAN; conv.scratch_len()];
            conv.run(&x, &mut out, &mut scratch, threads).unwrap();
            for (i, ((&got, &want), &m)) in out.iter().zip(&want).zip(&mag).enumerate() {
                let tol = REL_TOL * m * act.lipschitz().max(1.0) as f64 + 1e-6;
                assert!(
                    (got as f64 - want as f64).abs() <= tol,
                    "{} {:?} ({:?}) output {i}: got {got}, want {want} (tol {tol}) for {shape}",
                    table.name(),
                    algo,
                    conv.algo()
                );
            }
            ran += 1;
        }
    }
    ran
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        2 => Just(Activation::None),
        2 => Just(Activation::Relu),
        1 => Just(Activation::Clip { min: 0.0, max: 0.5 }),
        1 => Just(Activation::HardSwish),
        1 => Just(Activation::Sigmoid),
    ]
}

/// Random convolutions, biased towards the kinds that have dedicated algorithms.
fn shape() -> impl Strategy<Value = Conv2dShape> {
    let kind = prop_oneof![
        Just("any"),
        Just("pointwise"),
        Just("depthwise"),
        Just("3x3s1"),
    ];
    (
        kind,
        (1usize..3, 1usize..5, 1usize..6, 1usize..14, 1usize..14),
        (
            1usize..4,
            1usize..4,
            1usize..3,
            1usize..3,
            1usize..3,
            1usize..3,
        ),
        (0usize..3, 0usize..3, 0usize..3, 0usize..3),
    )
        .prop_map(
            |(
                kind,
                (batch, groups, per_group, h, w),
                (kh, kw, sh, sw, dh, dw),
                (pt, pl, pb, pr),
            )| {
                let mut s = Conv2dShape {
                    batch,
                    in_channels: groups * per_group,
                    in_h: h,
                    in_w: w,
                    out_channels: groups * (1 + (per_group * 7 + kh) % 5),
                    kernel_h: kh,
                    kernel_w: kw,
                    stride_h: sh,
                    stride_w: sw,
                    dilation_h: dh,
                    dilation_w: dw,
                    pad_top: pt,
                    pad_left: pl,
                    pad_bottom: pb,
                    pad_right: pr,
                    groups,
                };
                match kind {
                    "pointwise" => {
                        (s.kernel_h, s.kernel_w, s.stride_h, s.stride_w) = (1, 1, 1, 1);
                        (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (0, 0, 0, 0);
                    }
                    "depthwise" => {
                        s.in_channels = groups * per_group;
                        s.out_channels = s.in_channels;
                        s.groups = s.in_channels;
                        s.kernel_h = [3, 5, kh][per_group % 3];
                        s.kernel_w = s.kernel_h;
                        (s.dilation_h, s.dilation_w) = (1, 1);
                        s.in_h += 4;
                        s.in_w += 4;
                    }
                    "3x3s1" => {
                        (s.kernel_h, s.kernel_w, s.stride_h, s.stride_w) = (3, 3, 1, 1);
                        (s.dilation_h, s.dilation_w) = (1, 1);
                        s.in_h += 2;
                        s.in_w += 2;
                    }
                    _ => {}
                }
                s
            },
        )
        .prop_filter("the kernel must fit", |s| s.validate().is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn conv_matches_reference(
        s in shape(),
        act in activation(),
        with_bias in any::<bool>(),
        threads in 1usize..4,
        seed in any::<u64>(),
    ) {
        prop_assert!(check(&s, act, with_bias, threads, seed) >= 2);
    }
}

/// The layers of the benchmark networks (smaller spatial sizes keep the test fast).
#[test]
fn network_layers() {
    let mut layers = Vec::new();
    for (c, m, k, stride, groups, hw) in [
        (3, 16, 3, 2, 1, 33),
        (16, 16, 3, 1, 16, 17),
        (32, 32, 3, 2, 32, 17),
        (16, 24, 1, 1, 1, 15),
        (24, 24, 5, 1, 24, 13),
        (24, 24, 5, 2, 24, 13),
        (16, 32, 3, 1, 1, 14),
        (32, 40, 3, 1, 1, 9),
        (3, 8, 7, 2, 1, 29),
        (8, 16, 1, 2, 1, 14),
        (64, 64, 3, 1, 1, 12),
        (64, 72, 3, 1, 1, 6),
        // Thin layers: rows of several 32-pixel passes plus vector and partial tails,
        // 8- and 12-channel blocks with padded channels, stride 2 on odd widths.
        (48, 12, 3, 1, 1, 75),
        (9, 20, 3, 1, 1, 40),
        (3, 13, 3, 2, 1, 71),
        (4, 8, 7, 2, 1, 45),
        (6, 25, 5, 1, 1, 19),
        // Few output pixels, deep K: the transposed product (pixels padded to the tile's
        // rows, channels to its columns), stride 1 and 2.
        (128, 96, 3, 1, 1, 5),
        (128, 80, 3, 2, 1, 13),
        // The MNIST CNN's second conv.
        (32, 64, 3, 1, 1, 14),
    ] {
        let mut s = Conv2dShape::simple(1, c, hw, hw, m, k);
        (s.stride_h, s.stride_w, s.groups) = (stride, stride, groups);
        let p = k / 2;
        (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (p, p, p, p);
        layers.push(s);
    }
    let pick = |s: &Conv2dShape| {
        let w = vec![0.0; s.weight_len()];
        PackedConv::new(s, &w, None, Activation::None, ConvAlgo::Auto)
            .unwrap()
            .algo()
    };
    assert_eq!(pick(&layers[1]), ConvAlgo::Depthwise);
    assert_eq!(pick(&layers[3]), ConvAlgo::Pointwise);
    assert_eq!(pick(&layers[10]), ConvAlgo::Winograd);
    assert_eq!(pick(&layers[0]), ConvAlgo::Thin);
    assert_eq!(pick(&layers[7]), ConvAlgo::Im2colGemm);
    assert_eq!(pick(&layers[12]), ConvAlgo::Thin);
    assert_eq!(pick(&layers[17]), ConvAlgo::Im2colTransposed);
    assert_eq!(pick(&layers[18]), ConvAlgo::Im2colTransposed);
    assert_eq!(pick(&layers[19]), ConvAlgo::Winograd);
    for (i, s) in layers.iter().enumerate() {
        for threads in [1, 2] {
            check(s, Activation::Relu, true, threads, i as u64);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let mut s = Conv2dShape::simple(2, 32, 20, 20, 64, 3);
    (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (1, 1, 1, 1);
    let mut dw = Conv2dShape::simple(1, 64, 40, 40, 64, 3);
    dw.groups = 64;
    let pw = Conv2dShape::simple(1, 64, 20, 20, 128, 1);
    for s in [s, dw, pw] {
        let x = random(s.input_len(), 3);
        let w = random(s.weight_len(), 4);
        for algo in ALGOS {
            let Ok(conv) = PackedConv::new(&s, &w, None, Activation::None, algo) else {
                continue;
            };
            let mut scratch = vec![0.0; conv.scratch_len()];
            let mut one = vec![0.0; s.output_len()];
            conv.run(&x, &mut one, &mut scratch, 1).unwrap();
            for threads in [2, 3] {
                let mut many = vec![0.0; s.output_len()];
                conv.run(&x, &mut many, &mut scratch, threads).unwrap();
                assert!(
                    one.iter()
                        .zip(&many)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{algo:?} {s}"
                );
            }
        }
    }
}

#[test]
fn bad_inputs_are_errors_that_name_the_shape() {
    let s = Conv2dShape::simple(1, 4, 6, 6, 8, 3);
    let w = vec![0.5; s.weight_len()];
    let err = PackedConv::new(&s, &w[1..], None, Activation::None, ConvAlgo::Auto).unwrap_err();
    assert!(
        err.to_string()
            .contains("weights have 287 values, expected 288"),
        "{err}"
    );
    let err =
        PackedConv::new(&s, &w, Some(&[1.0; 3]), Activation::None, ConvAlgo::Auto).unwrap_err();
    assert!(err.to_string().contains("bias has 3 values"), "{err}");
    let err = PackedConv::new(&s, &w, None, Activation::None, ConvAlgo::Pointwise).unwrap_err();
    assert!(err.to_string().contains("cannot compute"), "{err}");
    let conv = PackedConv::new(&s, &w, None, Activation::Relu, ConvAlgo::Auto).unwrap();
    let mut scratch = vec![0.0; conv.scratch_len()];
    let mut out = vec![0.0; s.output_len()];
    let err = conv.run(&[0.0; 10], &mut out, &mut scratch, 1).unwrap_err();
    assert!(
        err.to_string()
            .contains("input has 10 values, expected 144"),
        "{err}"
    );
    assert!(
        err.to_string().contains("conv 1x4x6x6 -> 8 channels"),
        "{err}"
    );
    let x = vec![0.0; s.input_len()];
    let err = conv.run(&x, &mut out[1..], &mut scratch, 1).unwrap_err();
    assert!(err.to_string().contains("output has 127"), "{err}");
    if conv.scratch_len() > 0 {
        let err = conv.run(&x, &mut out, &mut [], 1).unwrap_err();
        assert!(err.to_string().contains("scratch"), "{err}");
    }
    let bad = Conv2dShape { groups: 3, ..s };
    assert!(PackedConv::new(&bad, &w, None, Activation::None, ConvAlgo::Auto).is_err());
}

#[test]
fn empty_batch_is_fine() {
    let s = Conv2dShape::simple(0, 4, 6, 6, 8, 3);
    let w = vec![0.5; s.weight_len()];
    let conv = PackedConv::new(&s, &w, None, Activation::None, ConvAlgo::Auto).unwrap();
    let mut scratch = vec![0.0; conv.scratch_len()];
    conv.run(&[], &mut [], &mut scratch, 2).unwrap();
}

#[test]
fn depthwise_with_non_square_kernels() {
    for (kh, kw, stride) in [(3, 5, 1), (5, 3, 2), (1, 3, 1), (3, 1, 2)] {
        let mut s = Conv2dShape::simple(1, 6, 11, 12, 6, 1);
        (s.kernel_h, s.kernel_w, s.groups) = (kh, kw, 6);
        (s.stride_h, s.stride_w) = (stride, stride);
        (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (kh / 2, kw / 2, 1, 0);
        assert!(check(&s, Activation::Relu, true, 2, kh as u64) >= 3, "{s}");
    }
}

/// Stride-2 depthwise on wide rows (many vector groups and a ragged end), odd and even
/// padded widths, asymmetric pads and a vertical stride other than the horizontal one.
#[test]
fn depthwise_stride_2_wide_rows() {
    for (k, w, sh, pads) in [
        (3, 83, 2, (1, 1, 1, 1)),
        (3, 80, 2, (0, 1, 1, 0)),
        (5, 91, 2, (2, 2, 2, 2)),
        (5, 70, 1, (2, 1, 0, 2)),
        (3, 18, 3, (1, 1, 1, 1)),
    ] {
        let mut s = Conv2dShape::simple(1, 3, 9, w, 3, k);
        (s.groups, s.stride_h, s.stride_w) = (3, sh, 2);
        (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = pads;
        assert!(check(&s, Activation::Relu, true, 2, w as u64) >= 3, "{s}");
    }
}
