//! Pooling against a naive per-window f64 twin on random geometries (pads, strides,
//! dilations, ceil mode, count_include_pad), plus ONNX Runtime's output for one ceil-mode case.

use edgeopt_kernels::pool::{global_pool, pool2d, Pool2dShape, PoolKind};
use proptest::prelude::*;

fn naive(s: &Pool2dShape, kind: PoolKind, x: &[f32]) -> Vec<f32> {
    let (oh, ow) = (s.out_h(), s.out_w());
    let mut out = Vec::new();
    for q in 0..s.batch * s.channels {
        for oy in 0..oh {
            for ox in 0..ow {
                let (mut max, mut sum, mut valid, mut padded) = (f64::NEG_INFINITY, 0f64, 0, 0);
                for i in 0..s.kernel_h {
                    for j in 0..s.kernel_w {
                        let y = (oy * s.stride_h + i * s.dilation_h) as isize - s.pad_top as isize;
                        let x_ =
                            (ox * s.stride_w + j * s.dilation_w) as isize - s.pad_left as isize;
                        let in_pad = y < (s.in_h + s.pad_bottom) as isize
                            && x_ < (s.in_w + s.pad_right) as isize;
                        padded += usize::from(in_pad);
                        if y >= 0 && x_ >= 0 && y < s.in_h as isize && x_ < s.in_w as isize {
                            let v =
                                x[q * s.in_h * s.in_w + y as usize * s.in_w + x_ as usize] as f64;
                            max = max.max(v);
                            sum += v;
                            valid += 1;
                        }
                    }
                }
                out.push(match kind {
                    PoolKind::Max => max as f32,
                    PoolKind::Average { count_include_pad } => {
                        (sum / if count_include_pad { padded } else { valid }.max(1) as f64) as f32
                    }
                });
            }
        }
    }
    out
}

fn shape() -> impl Strategy<Value = Pool2dShape> {
    (
        (1usize..3, 1usize..4, 1usize..12, 1usize..12),
        (
            1usize..4,
            1usize..4,
            1usize..4,
            1usize..4,
            1usize..3,
            1usize..3,
        ),
        (0usize..3, 0usize..3, 0usize..3, 0usize..3, any::<bool>()),
    )
        .prop_map(
            |(
                (batch, channels, in_h, in_w),
                (kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w),
                (pad_top, pad_left, pad_bottom, pad_right, ceil_mode),
            )| Pool2dShape {
                batch,
                channels,
                in_h,
                in_w,
                kernel_h,
                kernel_w,
                stride_h,
                stride_w,
                dilation_h,
                dilation_w,
                pad_top,
                pad_left,
                pad_bottom,
                pad_right,
                ceil_mode,
            },
        )
        .prop_filter("window fits", |s| {
            s.validate().is_ok() && s.out_h() > 0 && s.out_w() > 0
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn pool_matches_naive(s in shape(), kind in prop_oneof![
        Just(PoolKind::Max),
        Just(PoolKind::Average { count_include_pad: false }),
        Just(PoolKind::Average { count_include_pad: true }),
    ], seed in any::<u32>()) {
        let n = s.batch * s.channels * s.in_h * s.in_w;
        let x: Vec<f32> = (0..n as u32).map(|i| (i.wrapping_mul(2_654_435_761) ^ seed) as f32 / u32::MAX as f32 - 0.5).collect();
        let want = naive(&s, kind, &x);
        let mut out = vec![f32::NAN; want.len()];
        pool2d(&s, kind, &x, &mut out).unwrap();
        for (i, (&g, &w)) in out.iter().zip(&want).enumerate() {
            prop_assert!(g == w || (g - w).abs() <= 1e-6 * (w.abs() + 1.0), "{s} {kind:?} [{i}]: {g} vs {w}");
        }
    }
}

#[test]
fn ceil_mode_matches_onnx_runtime() {
    // MaxPool / AveragePool kernel 3, stride 2, pads 1, ceil_mode 1 on a 1x1x6x6 ramp, from
    // onnxruntime 1.2x: the output is 4x4 (the window starting in the padding is dropped
    // only when it starts past the padding; here it starts at index 5, inside the input).
    let x: Vec<f32> = (0..36).map(|v| v as f32).collect();
    let s = Pool2dShape {
        batch: 1,
        channels: 1,
        in_h: 6,
        in_w: 6,
        kernel_h: 3,
        kernel_w: 3,
        stride_h: 2,
        stride_w: 2,
        dilation_h: 1,
        dilation_w: 1,
        pad_top: 1,
        pad_left: 1,
        pad_bottom: 1,
        pad_right: 1,
        ceil_mode: true,
    };
    assert_eq!((s.out_h(), s.out_w()), (4, 4));
    let mut out = vec![0f32; 16];
    pool2d(&s, PoolKind::Max, &x, &mut out).unwrap();
    assert_eq!(&out[..4], &[7.0, 9.0, 11.0, 11.0]);
    // AveragePool with count_include_pad: padding counts, the ceil-mode overhang does not.
    let avg = PoolKind::Average {
        count_include_pad: true,
    };
    pool2d(&s, avg, &x, &mut out).unwrap();
    let ort = [1.555_555_6, 3.333_333_3, 4.666_666_5, 2.666_666_7];
    assert!(
        out[..4].iter().zip(ort).all(|(a, b)| (a - b).abs() < 1e-6),
        "{out:?}"
    );
    assert!(
        (out[15] - 8.75).abs() < 1e-6 && (out[12] - 10.166_667).abs() < 1e-5,
        "{out:?}"
    );
    // A window that would start in the padding is dropped: 5x5, k2 s2, no pads, ceil -> 3.
    let t = Pool2dShape {
        in_h: 5,
        in_w: 5,
        kernel_h: 2,
        kernel_w: 2,
        pad_top: 0,
        pad_left: 0,
        pad_bottom: 0,
        pad_right: 0,
        ..s
    };
    assert_eq!(t.out_h(), 3);
    let u = Pool2dShape {
        in_h: 4,
        in_w: 4,
        kernel_h: 2,
        kernel_w: 2,
        pad_top: 1,
        pad_left: 1,
        pad_bottom: 1,
        pad_right: 1,
        ..s
    };
    assert_eq!(
        u.out_h(),
        3,
        "(6 - 2) / 2 + 1 = 3 exactly; nothing to round"
    );
}

#[test]
fn global_pools() {
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let mut out = [0f32; 3];
    global_pool(PoolKind::Max, &x, 4, &mut out).unwrap();
    assert_eq!(out, [3.0, 7.0, 11.0]);
    global_pool(
        PoolKind::Average {
            count_include_pad: false,
        },
        &x,
        4,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [1.5, 5.5, 9.5]);
    assert!(global_pool(PoolKind::Max, &x, 5, &mut out).is_err());
}

#[test]
fn bad_shapes_are_errors() {
    let s = Pool2dShape {
        batch: 1,
        channels: 1,
        in_h: 2,
        in_w: 2,
        kernel_h: 3,
        kernel_w: 3,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        ..Default::default()
    };
    let err = pool2d(&s, PoolKind::Max, &[0.0; 4], &mut []).unwrap_err();
    assert!(err.to_string().contains("pool 1x1x2x2"), "{err}");
    let ok = Pool2dShape {
        kernel_h: 2,
        kernel_w: 2,
        ..s
    };
    let err = pool2d(&ok, PoolKind::Max, &[0.0; 3], &mut [0.0]).unwrap_err();
    assert!(
        err.to_string().contains("input has 3 values, expected 4"),
        "{err}"
    );
}
