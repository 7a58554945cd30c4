//! Every int8 table against the naive twins in `reference`, exactly, on random shapes with
//! zero points and values at the type extremes (saturation included).

use proptest::prelude::*;

use super::reference as naive;
use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) enum OutKind {
    U8,
    I8,
    I32,
    F32,
}

pub(super) fn out_kind() -> impl Strategy<Value = OutKind> {
    prop_oneof![
        Just(OutKind::U8),
        Just(OutKind::I8),
        Just(OutKind::I32),
        Just(OutKind::F32)
    ]
}

/// 8-bit values biased to the extremes: a third at the type's ends.
pub(super) fn values(len: usize, signed: bool) -> impl Strategy<Value = Vec<i32>> {
    let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
    prop::collection::vec(prop_oneof![lo..=hi, Just(lo), Just(hi)], len)
}

pub(super) fn zero_point(signed: bool) -> impl Strategy<Value = i32> {
    let (lo, hi) = if signed { (-128, 127) } else { (0, 255) };
    prop_oneof![lo..=hi, Just(lo), Just(hi)]
}

/// Outputs of one kind, compared as i64 (f32 bit-exact through `to_bits`).
pub(super) fn run_out(kind: OutKind, len: usize, f: impl FnOnce(QOutput)) -> Vec<i64> {
    match kind {
        OutKind::U8 => {
            let mut v = vec![7u8; len];
            f(QOutput::U8(&mut v));
            v.into_iter().map(i64::from).collect()
        }
        OutKind::I8 => {
            let mut v = vec![7i8; len];
            f(QOutput::I8(&mut v));
            v.into_iter().map(i64::from).collect()
        }
        OutKind::I32 => {
            let mut v = vec![7i32; len];
            f(QOutput::I32(&mut v));
            v.into_iter().map(i64::from).collect()
        }
        OutKind::F32 => {
            let mut v = vec![7f32; len];
            f(QOutput::F32(&mut v));
            v.into_iter().map(|x| x.to_bits() as i64).collect()
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct GemmCase {
    m: usize,
    k: usize,
    n: usize,
    w_signed: bool,
    x_signed: bool,
    w: Vec<i32>,
    w_zp: Vec<i32>,
    x: Vec<i32>,
    x_zp: i32,
    bias: Option<Vec<i32>>,
    scales: Vec<f32>,
    out_zp_frac: f64,
    relu: bool,
    out: OutKind,
    transposed_out: bool,
    /// Activations read through a transposed view (stored `N x K`, as MatMul's A^T).
    transposed_in: bool,
    clamp: Option<(i32, i32)>,
}

fn gemm_case() -> impl Strategy<Value = GemmCase> {
    gemm_case_sized(1..20, 1..40, (1usize..40).boxed())
}

/// Random products with `m`, `k` and `n` drawn from the given ranges.
pub(super) fn gemm_case_sized(
    m: std::ops::Range<usize>,
    k: std::ops::Range<usize>,
    n: BoxedStrategy<usize>,
) -> impl Strategy<Value = GemmCase> {
    (m, k, n, any::<bool>(), any::<bool>(), any::<bool>()).prop_flat_map(
        |(m, k, n, ws, xs, per_row)| {
            let zps = if per_row { m } else { 1 };
            (
                values(m * k, ws),
                // Symmetric weights (zero point 0, or 128 for u8) half the time: the usual
                // case, and the only one the fused tile stores take.
                prop_oneof![
                    prop::collection::vec(zero_point(ws), zps),
                    Just(vec![if ws { 0 } else { 128 }; zps]),
                ],
                values(k * n, xs),
                zero_point(xs),
                prop::option::of(prop::collection::vec(-100_000i32..100_000, m)),
                prop::collection::vec(prop_oneof![1e-5f32..0.02, Just(1.0f32), Just(0.5f32)], zps),
                (
                    0.0f64..=1.0,
                    any::<bool>(),
                    out_kind(),
                    any::<bool>(),
                    any::<bool>(),
                    prop::option::of((-140i32..260, -140i32..260)),
                ),
            )
                .prop_map(
                    move |(w, w_zp, x, x_zp, bias, scales, (frac, relu, out, tr, ti, clamp))| {
                        GemmCase {
                            m,
                            k,
                            n,
                            w_signed: ws,
                            x_signed: xs,
                            w,
                            w_zp,
                            x,
                            x_zp,
                            bias,
                            scales,
                            out_zp_frac: frac,
                            relu,
                            out,
                            transposed_out: tr,
                            transposed_in: ti,
                            clamp,
                        }
                    },
                )
        },
    )
}

pub(super) fn out_zp(kind: OutKind, frac: f64) -> i32 {
    match kind {
        OutKind::U8 => (frac * 255.0).round() as i32,
        OutKind::I8 => (frac * 255.0).round() as i32 - 128,
        _ => 0,
    }
}

pub(super) fn weights(v: &[i32], signed: bool) -> (Vec<i8>, Vec<u8>) {
    if signed {
        (v.iter().map(|&x| x as i8).collect(), vec![])
    } else {
        (vec![], v.iter().map(|&x| x as u8).collect())
    }
}

/// The `k x n` input view of `data`: row-major, or transposed (`data` is `n x k`).
fn view<T>(data: &[T], k: usize, n: usize, transposed: bool, zero_point: i32) -> QInput<'_, T> {
    let (row_stride, col_stride) = if transposed { (1, k) } else { (n, 1) };
    QInput {
        data,
        rows: k,
        cols: n,
        row_stride,
        col_stride,
        zero_point,
    }
}

pub(super) fn check_gemm(table: &Int8Kernels, c: &GemmCase) -> Result<(), TestCaseError> {
    let (wi, wu) = weights(&c.w, c.w_signed);
    let wref = if c.w_signed {
        WeightsRef::I8(&wi)
    } else {
        WeightsRef::U8(&wu)
    };
    let packed = PackedWeights::new(table, wref, c.m, c.k, &c.w_zp).unwrap();
    let scale = if c.scales.len() == 1 {
        Scale::PerTensor(c.scales[0])
    } else {
        Scale::PerRow(&c.scales)
    };
    let rq = Requant {
        bias: c.bias.as_deref(),
        scale,
        zero_point: out_zp(c.out, c.out_zp_frac),
        relu: c.relu,
        clamp: c.clamp,
    };
    let (m, n) = (c.m, c.n);
    let strides = if c.transposed_out { (1, m) } else { (n, 1) };
    let k = c.k;
    // K x N values, stored N x K for a transposed view.
    let stored: Vec<i32> = if c.transposed_in {
        (0..k * n).map(|i| c.x[(i % k) * n + i / k]).collect()
    } else {
        c.x.clone()
    };
    let got = run_out(c.out, m * n, |o| {
        if c.x_signed {
            let x: Vec<i8> = stored.iter().map(|&v| v as i8).collect();
            let input = view(&x, k, n, c.transposed_in, c.x_zp);
            qgemm(table, &packed, &input, &rq, o, strides, 1).unwrap();
        } else {
            let x: Vec<u8> = stored.iter().map(|&v| v as u8).collect();
            let input = view(&x, k, n, c.transposed_in, c.x_zp);
            qgemm(table, &packed, &input, &rq, o, strides, 1).unwrap();
        }
    });
    let acc = naive::qgemm_acc(&c.w, &c.w_zp, &c.x, c.x_zp, m, c.k, n);
    let want = run_out(c.out, m * n, |o| naive::requantize(&acc, m, n, &rq, o));
    for i in 0..m {
        for j in 0..n {
            let g = got[i * strides.0 + j * strides.1];
            prop_assert_eq!(
                g,
                want[i * n + j],
                "table {} at ({}, {})",
                table.name(),
                i,
                j
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn gemm_matches_reference(c in gemm_case()) {
        for table in Int8Kernels::available() {
            check_gemm(table, &c)?;
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct ConvCase {
    pub(super) g: ConvGeometry,
    pub(super) x: Vec<i32>,
    pub(super) x_zp: i32,
    pub(super) w: Vec<i32>,
    pub(super) w_zp: Vec<i32>,
    pub(super) x_signed: bool,
    pub(super) out: OutKind,
    pub(super) scale: f32,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    let geom = (
        (1usize..3, 1usize..4, 1usize..4, 1usize..9, 1usize..9),
        (1usize..4, 1usize..4, 1usize..3, 1usize..3, 1usize..3),
        (0usize..3, 0usize..3, 0usize..3, 0usize..3, any::<bool>()),
    )
        .prop_filter_map(
            "no output",
            |((b, gr, cpg, h, w), (kh, kw, s, d, mpg), (p0, p1, p2, p3, dw))| {
                // Every other case is depthwise 3x3 (the dedicated kernel).
                let g = if dw {
                    let c = gr * cpg;
                    ConvGeometry {
                        batch: b,
                        c_in: c,
                        h: h + 2,
                        // Narrow planes (one kernel call covers rows and tails) and wide ones.
                        w: if w > 4 { 5 * w + 2 } else { w + 2 },
                        c_out: c,
                        kernel: (3, 3),
                        stride: (s, s),
                        dilation: (1, 1),
                        pads: [p0 % 2, p1 % 2, p2 % 2, p3 % 2],
                        groups: c,
                    }
                } else {
                    ConvGeometry {
                        batch: b,
                        c_in: gr * cpg,
                        h,
                        w,
                        c_out: gr * mpg,
                        kernel: (kh, kw),
                        stride: (s, 1 + (s + d) % 2),
                        dilation: (d, 1),
                        pads: [p0, p1, p2, p3],
                        groups: gr,
                    }
                };
                g.output_hw().ok().map(|_| g)
            },
        );
    conv_case_for(geom)
}

/// Random inputs, weights, zero points and output kinds for the geometries of `geom`.
pub(super) fn conv_case_for(
    geom: impl Strategy<Value = ConvGeometry>,
) -> impl Strategy<Value = ConvCase> {
    (geom, any::<bool>(), any::<bool>(), out_kind()).prop_flat_map(|(g, xs, per_ch, out)| {
        let w_len = g.c_out * g.c_in / g.groups * g.kernel.0 * g.kernel.1;
        (
            values(g.batch * g.c_in * g.h * g.w, xs),
            zero_point(xs),
            values(w_len, true),
            prop::collection::vec(zero_point(true), if per_ch { g.c_out } else { 1 }),
            1e-4f32..0.05,
        )
            .prop_map(move |(x, x_zp, w, w_zp, scale)| ConvCase {
                g,
                x,
                x_zp,
                w,
                w_zp,
                x_signed: xs,
                out,
                scale,
            })
    })
}

pub(super) fn check_conv(table: &Int8Kernels, c: &ConvCase) -> Result<(), TestCaseError> {
    let wi: Vec<i8> = c.w.iter().map(|&v| v as i8).collect();
    let packed = PackedConv::new(table, c.g, WeightsRef::I8(&wi), &c.w_zp).unwrap();
    let (oh, ow) = packed.output_hw();
    check_conv_with(table, c, &packed, (oh, ow))
}

/// [`check_conv`] with weights already packed.
pub(super) fn check_conv_with(
    table: &Int8Kernels,
    c: &ConvCase,
    packed: &PackedConv,
    (oh, ow): (usize, usize),
) -> Result<(), TestCaseError> {
    let bias: Vec<i32> = (0..c.g.c_out as i32).map(|i| i * 37 - 50).collect();
    let rq = Requant {
        bias: Some(&bias),
        scale: Scale::PerTensor(c.scale),
        zero_point: out_zp(c.out, 0.5),
        relu: c.g.c_out.is_multiple_of(2),
        clamp: c.g.c_in.is_multiple_of(3).then_some((-20, 200)),
    };
    let len = c.g.batch * c.g.c_out * oh * ow;
    let got = run_out(c.out, len, |o| {
        if c.x_signed {
            let x: Vec<i8> = c.x.iter().map(|&v| v as i8).collect();
            qconv(table, packed, &x, c.x_zp, &rq, o, 1).unwrap();
        } else {
            let x: Vec<u8> = c.x.iter().map(|&v| v as u8).collect();
            qconv(table, packed, &x, c.x_zp, &rq, o, 1).unwrap();
        }
    });
    let acc = naive::conv_acc(&c.g, &c.x, c.x_zp, &c.w, &c.w_zp);
    // Rows are channels: requantize each image's [c_out, oh * ow] block.
    let per_image = c.g.c_out * oh * ow;
    for b in 0..c.g.batch {
        let block = &acc[b * per_image..(b + 1) * per_image];
        let want = run_out(c.out, per_image, |o| {
            naive::requantize(block, c.g.c_out, oh * ow, &rq, o)
        });
        prop_assert_eq!(
            &got[b * per_image..(b + 1) * per_image],
            &want[..],
            "table {} {:?}",
            table.name(),
            c.g
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn conv_matches_reference(c in conv_case()) {
        for table in Int8Kernels::available() {
            check_conv(table, &c)?;
        }
    }

    #[test]
    fn quantize_matches_reference(
        x in prop::collection::vec(prop_oneof![-1e4f32..1e4, Just(f32::NAN), Just(f32::INFINITY),
            Just(f32::NEG_INFINITY), (-300i32..300).prop_map(|v| v as f32 * 0.5)], 0..70),
        scale in prop_oneof![1e-3f32..10.0, Just(0.5f32), Just(1.0f32)],
        uz in zero_point(false),
        sz in zero_point(true),
    ) {
        for table in Int8Kernels::available() {
            let mut u = vec![0u8; x.len()];
            let mut s = vec![0i8; x.len()];
            quantize(table, &x, scale, uz, &mut u).unwrap();
            quantize(table, &x, scale, sz, &mut s).unwrap();
            let mut du = vec![0f32; x.len()];
            dequantize(table, &u, scale, uz, &mut du).unwrap();
            for i in 0..x.len() {
                prop_assert_eq!(u[i] as i32, naive::quantize_one(x[i], scale, uz, 0, 255), "{} {}", table.name(), x[i]);
                prop_assert_eq!(s[i] as i32, naive::quantize_one(x[i], scale, sz, -128, 127), "{} {}", table.name(), x[i]);
                prop_assert_eq!(du[i].to_bits(), ((u[i] as i32 - uz) as f32 * scale).to_bits());
            }
        }
    }

    #[test]
    fn dynamic_quantize_matches_onnx_formula(
        x in prop::collection::vec(prop_oneof![-50f32..50.0, Just(0.0f32), Just(f32::NAN)], 0..50),
    ) {
        // The ONNX reference implementation, as the IR's DynamicQuantizeLinear evaluates it.
        let max = x.iter().copied().fold(0f32, f32::max);
        let min = x.iter().copied().fold(0f32, f32::min);
        let scale = if max == min { 1.0 } else { max - min } / 255.0;
        let zp = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even();
        let want: Vec<u8> =
            x.iter().map(|&v| ((v / scale).round_ties_even() + zp).clamp(0.0, 255.0) as u8).collect();
        for table in Int8Kernels::available() {
            let mut y = vec![0u8; x.len()];
            let q = dynamic_quantize(table, &x, &mut y).unwrap();
            prop_assert_eq!(q, DynamicQuant { scale, zero_point: zp as u8 });
            prop_assert_eq!(&y, &want);
        }
    }
}

#[test]
fn extreme_products_saturate_and_wrap_like_the_reference() {
    // K = 40000 products of (-128 - 127) * (255 - 0) = -65025 overflow i32: both wrap alike.
    let (m, k, n) = (2, 40_000, 3);
    let w = vec![-128i32; m * k];
    let x = vec![255i32; k * n];
    let acc = naive::qgemm_acc(&w, &[127], &x, 0, m, k, n);
    for table in Int8Kernels::available() {
        let wi = vec![-128i8; m * k];
        let packed = PackedWeights::new(table, WeightsRef::I8(&wi), m, k, &[127]).unwrap();
        let xu = vec![255u8; k * n];
        let mut got = vec![0i32; m * n];
        let input = QInput::row_major(&xu, k, n, 0);
        qgemm(
            table,
            &packed,
            &input,
            &Requant::default(),
            QOutput::I32(&mut got),
            (n, 1),
            1,
        )
        .unwrap();
        assert_eq!(got, acc, "{}", table.name());
        let mut q = vec![0u8; m * n];
        let rq = Requant {
            scale: Scale::PerTensor(1e-3),
            zero_point: 128,
            ..Requant::default()
        };
        qgemm(table, &packed, &input, &rq, QOutput::U8(&mut q), (n, 1), 1).unwrap();
        let mut want = vec![0u8; m * n];
        naive::requantize(&acc, m, n, &rq, QOutput::U8(&mut want));
        assert_eq!(q, want);
    }
}

#[test]
fn bad_shapes_and_parameters_are_errors() {
    let table = Int8Kernels::native();
    let w = [1i8; 6];
    assert!(PackedWeights::new(table, WeightsRef::I8(&w), 2, 4, &[0]).is_err());
    assert!(PackedWeights::new(table, WeightsRef::I8(&w), 2, 3, &[0, 0, 0]).is_err());
    assert!(PackedWeights::new(table, WeightsRef::I8(&w), 2, 3, &[200]).is_err());
    let p = PackedWeights::new(table, WeightsRef::I8(&w), 2, 3, &[0]).unwrap();
    let x = [1u8; 6];
    let mut out = [0u8; 4];
    let input = QInput::row_major(&x, 3, 2, 0);
    assert!(qgemm(
        table,
        &p,
        &input,
        &Requant::default(),
        QOutput::U8(&mut out),
        (2, 1),
        1
    )
    .is_ok());
    let short = QInput::row_major(&x[..5], 3, 2, 0);
    let err = qgemm(
        table,
        &p,
        &short,
        &Requant::default(),
        QOutput::U8(&mut out),
        (2, 1),
        1,
    )
    .unwrap_err();
    assert!(err.to_string().contains("3x2 input"), "{err}");
    assert!(qgemm(
        table,
        &p,
        &input,
        &Requant::default(),
        QOutput::U8(&mut out[..3]),
        (2, 1),
        1
    )
    .is_err());
    let nan = Requant {
        scale: Scale::PerTensor(f32::NAN),
        ..Requant::default()
    };
    assert!(qgemm(table, &p, &input, &nan, QOutput::U8(&mut out), (2, 1), 1).is_err());
    let other = Int8Kernels::generic();
    if other.name() != table.name() {
        assert!(qgemm(
            other,
            &p,
            &input,
            &Requant::default(),
            QOutput::U8(&mut out),
            (2, 1),
            1
        )
        .is_err());
    }
    let g = ConvGeometry {
        batch: 1,
        c_in: 1,
        h: 2,
        w: 2,
        c_out: 1,
        kernel: (3, 3),
        stride: (1, 1),
        dilation: (1, 1),
        pads: [0; 4],
        groups: 1,
    };
    assert!(PackedConv::new(table, g, WeightsRef::I8(&[0; 9]), &[0]).is_err());
    let mut y = [0u8; 2];
    assert!(quantize(table, &[1.0, 2.0], 0.0, 0, &mut y).is_err());
    assert!(quantize(table, &[1.0], 1.0, 0, &mut y).is_err());
}

#[test]
fn threads_split_large_products_without_changing_results() {
    let table = Int8Kernels::native();
    let (m, k, n) = (64, 301, 333);
    let w: Vec<i8> = (0..m * k).map(|i| (i * 37 % 251) as i8).collect();
    let x: Vec<u8> = (0..k * n).map(|i| (i * 91 % 256) as u8).collect();
    let packed = PackedWeights::new(table, WeightsRef::I8(&w), m, k, &[3]).unwrap();
    let input = QInput::row_major(&x, k, n, 100);
    let rq = Requant {
        scale: Scale::PerTensor(2e-4),
        zero_point: 128,
        ..Requant::default()
    };
    let mut one = vec![0u8; m * n];
    let mut three = vec![1u8; m * n];
    qgemm(
        table,
        &packed,
        &input,
        &rq,
        QOutput::U8(&mut one),
        (n, 1),
        1,
    )
    .unwrap();
    qgemm(
        table,
        &packed,
        &input,
        &rq,
        QOutput::U8(&mut three),
        (n, 1),
        3,
    )
    .unwrap();
    assert_eq!(one, three);
    let wi: Vec<i32> = w.iter().map(|&v| v as i32).collect();
    let xi: Vec<i32> = x.iter().map(|&v| v as i32).collect();
    let acc = naive::qgemm_acc(&wi, &[3], &xi, 100, m, k, n);
    let mut want = vec![0u8; m * n];
    naive::requantize(&acc, m, n, &rq, QOutput::U8(&mut want));
    assert_eq!(one, want);
    // Depthwise: 64 planes of 60 x 60.
    let g = ConvGeometry {
        batch: 1,
        c_in: 64,
        h: 60,
        w: 60,
        c_out: 64,
        kernel: (3, 3),
        stride: (1, 1),
        dilation: (1, 1),
        pads: [1; 4],
        groups: 64,
    };
    let wd: Vec<i8> = (0..64 * 9).map(|i| (i * 13 % 255) as i8).collect();
    let xd: Vec<u8> = (0..64 * 3600).map(|i| (i * 7 % 256) as u8).collect();
    let pc = PackedConv::new(table, g, WeightsRef::I8(&wd), &[0]).unwrap();
    let (mut d1, mut d3) = (vec![0i32; 64 * 3600], vec![1i32; 64 * 3600]);
    qconv(
        table,
        &pc,
        &xd,
        5,
        &Requant::default(),
        QOutput::I32(&mut d1),
        1,
    )
    .unwrap();
    qconv(
        table,
        &pc,
        &xd,
        5,
        &Requant::default(),
        QOutput::I32(&mut d3),
        3,
    )
    .unwrap();
    assert_eq!(d1, d3);
    let xi: Vec<i32> = xd.iter().map(|&v| v as i32).collect();
    let wi: Vec<i32> = wd.iter().map(|&v| v as i32).collect();
    assert_eq!(d1, naive::conv_acc(&g, &xi, 5, &wi, &[0]));
}
