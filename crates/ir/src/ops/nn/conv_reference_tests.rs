//! Randomized checks of Conv and ConvTranspose (im2col/col2im + matrix product) against
//! direct nested loops, over small geometries with groups, dilations, strides, pads wider than
//! the input and every auto_pad mode. Exact comparison: small integer values in f64.

use crate::ops::nn::common::WindowAttrs;
use crate::ops::nn::conv::{Conv, ConvShape};
use crate::ops::nn::conv_transpose::{ConvTShape, ConvTranspose};
use crate::ops::testing::{eval1, infer};
use crate::ValueType;
use edgeopt_tensor::{DType, Tensor};

/// Direct-loop convolution in f64 (independent of im2col), for comparison.
fn naive(s: &ConvShape, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let nd = s.axes.len();
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    let in_n: Vec<usize> = s.axes.iter().map(|a| a.input).collect();
    let out_n: Vec<usize> = s.axes.iter().map(|a| a.output).collect();
    let k_n: Vec<usize> = s.axes.iter().map(|a| a.kernel).collect();
    let (plane, p, kk) = (
        in_n.iter().product::<usize>(),
        out_n.iter().product::<usize>(),
        k_n.iter().product::<usize>(),
    );
    let idx = |mut i: usize, dims: &[usize]| {
        let mut v = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            v[d] = i % dims[d];
            i /= dims[d];
        }
        v
    };
    let mut y = vec![0.0; s.n * s.m * p];
    for n in 0..s.n {
        for m in 0..s.m {
            let g = m / mg;
            for o in 0..p {
                let op = idx(o, &out_n);
                let mut acc = b[m];
                for c in 0..cg {
                    for t in 0..kk {
                        let kp = idx(t, &k_n);
                        let mut flat = 0usize;
                        let mut inside = true;
                        for a in 0..nd {
                            let ax = &s.axes[a];
                            let i = (op[a] * ax.stride + kp[a] * ax.dilation) as i64
                                - ax.pad_begin as i64;
                            inside &= i >= 0 && i < ax.input as i64;
                            flat = flat * ax.input + i.max(0) as usize;
                        }
                        if inside {
                            acc +=
                                x[(n * s.c + g * cg + c) * plane + flat] * w[(m * cg + c) * kk + t];
                        }
                    }
                }
                y[(n * s.m + m) * p + o] = acc;
            }
        }
    }
    y
}

#[test]
fn matches_direct_loops_for_groups_dilations_and_ranks() {
    // x shape, w shape, group, auto_pad, strides, dilations
    type Case = (
        Vec<usize>,
        Vec<usize>,
        i64,
        Option<&'static str>,
        Vec<i64>,
        Vec<i64>,
    );
    let cases: Vec<Case> = vec![
        (vec![2, 4, 9], vec![6, 2, 3], 2, None, vec![2], vec![2]),
        (
            vec![1, 3, 7, 6],
            vec![3, 1, 3, 3],
            3,
            Some("SAME_LOWER"),
            vec![2, 1],
            vec![1, 1],
        ),
        (
            vec![1, 2, 6, 5],
            vec![4, 2, 2, 3],
            1,
            Some("SAME_UPPER"),
            vec![1, 2],
            vec![2, 1],
        ),
        (
            vec![1, 2, 4, 5, 3],
            vec![2, 1, 2, 3, 2],
            2,
            Some("VALID"),
            vec![1, 2, 1],
            vec![1, 1, 2],
        ),
        (
            vec![1, 8, 3, 3],
            vec![5, 8, 1, 1],
            1,
            None,
            vec![1, 1],
            vec![1, 1],
        ),
    ];
    for (xs, ws, group, auto_pad, strides, dilations) in cases {
        let nx: usize = xs.iter().product();
        let nw: usize = ws.iter().product();
        let xv: Vec<f64> = (0..nx).map(|i| ((i * 37) % 17) as f64 - 8.0).collect();
        let wv: Vec<f64> = (0..nw).map(|i| ((i * 11) % 7) as f64 - 3.0).collect();
        let bv: Vec<f64> = (0..ws[0]).map(|i| i as f64 * 0.5).collect();
        let op = Conv {
            window: WindowAttrs {
                auto_pad: auto_pad.map(String::from),
                strides: Some(strides),
                dilations: Some(dilations),
                ..Default::default()
            },
            group: Some(group),
        };
        let s = op.shape(&xs, &ws).unwrap();
        let want = naive(&s, &xv, &wv, &bv);
        let inputs = [
            Some(Tensor::from_vec(xs.clone(), xv).unwrap()),
            Some(Tensor::from_vec(ws.clone(), wv).unwrap()),
            Some(Tensor::vec1(bv)),
        ];
        let y = eval1(&op, &inputs).unwrap();
        assert_eq!(y.shape(), &s.out_shape[..]);
        assert_eq!(y.as_slice::<f64>().unwrap(), &want[..], "x {xs:?} w {ws:?}");
        let ty = infer(&op, &inputs, 1).unwrap();
        assert_eq!(ty[0], ValueType::known(DType::F64, &s.out_shape));
    }
}

#[test]
fn matches_direct_loops_on_random_small_geometries() {
    // Deterministic LCG over small sizes, including pads wider than the input.
    let mut seed = 12345u64;
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut checked = 0;
    for _ in 0..300 {
        let nd = 1 + rnd(2) as usize;
        let group = 1 + rnd(2) as usize;
        let (cg, mg) = (1 + rnd(2) as usize, 1 + rnd(2) as usize);
        let mut xs = vec![1, cg * group];
        let mut ws = vec![mg * group, cg];
        let (mut strides, mut dilations, mut pads) = (vec![], vec![], vec![0i64; 2 * nd]);
        for i in 0..nd {
            xs.push(1 + rnd(5) as usize);
            ws.push(1 + rnd(3) as usize);
            strides.push(1 + rnd(3) as i64);
            dilations.push(1 + rnd(2) as i64);
            pads[i] = rnd(4) as i64;
            pads[nd + i] = rnd(4) as i64;
        }
        let auto_pad = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"][rnd(4) as usize];
        let op = Conv {
            window: WindowAttrs {
                auto_pad: Some(auto_pad.into()),
                strides: Some(strides),
                dilations: Some(dilations),
                pads: Some(pads),
                ..Default::default()
            },
            group: Some(group as i64),
        };
        let Ok(s) = op.shape(&xs, &ws) else { continue };
        let xv: Vec<f64> = (0..xs.iter().product())
            .map(|_| rnd(9) as f64 - 4.0)
            .collect();
        let wv: Vec<f64> = (0..ws.iter().product())
            .map(|_| rnd(5) as f64 - 2.0)
            .collect();
        let bv = vec![0.0; ws[0]];
        let want = naive(&s, &xv, &wv, &bv);
        let inputs = [
            Some(Tensor::from_vec(xs.clone(), xv).unwrap()),
            Some(Tensor::from_vec(ws.clone(), wv).unwrap()),
        ];
        let y = eval1(&op, &inputs).unwrap();
        assert_eq!(
            y.as_slice::<f64>().unwrap(),
            &want[..],
            "x {xs:?} w {ws:?} {op:?}"
        );
        checked += 1;
    }
    assert!(checked > 150, "only {checked} geometries were valid");
}

/// Direct scatter: every input element adds `x * w` at `i * stride + k * dilation - pad`.
fn naive_t(s: &ConvTShape, x: &[f64], w: &[f64]) -> Vec<f64> {
    let nd = s.axes.len();
    let (cg, mg) = (s.c / s.group, s.m / s.group);
    let in_n: Vec<usize> = s.axes.iter().map(|a| a.output).collect();
    let k_n: Vec<usize> = s.axes.iter().map(|a| a.kernel).collect();
    let (pin, kk) = (
        in_n.iter().product::<usize>(),
        k_n.iter().product::<usize>(),
    );
    let pout: usize = s.axes.iter().map(|a| a.input).product();
    let idx = |mut i: usize, dims: &[usize]| {
        let mut v = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            v[d] = i % dims[d];
            i /= dims[d];
        }
        v
    };
    let mut y = vec![0.0; s.n * s.m * pout];
    for n in 0..s.n {
        for c in 0..s.c {
            let g = c / cg;
            for i in 0..pin {
                let ip = idx(i, &in_n);
                for m in 0..mg {
                    for t in 0..kk {
                        let kp = idx(t, &k_n);
                        let (mut flat, mut inside) = (0usize, true);
                        for a in 0..nd {
                            let ax = &s.axes[a];
                            let o = (ip[a] * ax.stride + kp[a] * ax.dilation) as i64
                                - ax.pad_begin as i64;
                            inside &= o >= 0 && o < ax.input as i64;
                            flat = flat * ax.input + o.max(0) as usize;
                        }
                        if inside {
                            y[(n * s.m + g * mg + m) * pout + flat] +=
                                x[(n * s.c + c) * pin + i] * w[(c * mg + m) * kk + t];
                        }
                    }
                }
            }
        }
    }
    y
}

#[test]
fn matches_direct_scatter_on_random_small_geometries() {
    let mut seed = 777u64;
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut checked = 0;
    for _ in 0..300 {
        let nd = 1 + rnd(2) as usize;
        let group = 1 + rnd(2) as usize;
        let (cg, mg) = (1 + rnd(2) as usize, 1 + rnd(2) as usize);
        let (mut xs, mut ws) = (vec![1 + rnd(2) as usize, cg * group], vec![cg * group, mg]);
        let mut o = ConvTranspose {
            window: WindowAttrs::default(),
            group: None,
            output_padding: None,
            output_shape: None,
        };
        let (mut strides, mut dilations, mut pads, mut opad) =
            (vec![], vec![], vec![0i64; 2 * nd], vec![]);
        for i in 0..nd {
            xs.push(1 + rnd(4) as usize);
            ws.push(1 + rnd(3) as usize);
            strides.push(1 + rnd(3) as i64);
            dilations.push(1 + rnd(2) as i64);
            pads[i] = rnd(3) as i64;
            pads[nd + i] = rnd(3) as i64;
            opad.push(rnd(strides[i] as u64) as i64);
        }
        match rnd(4) {
            0 => {
                o.window.auto_pad =
                    Some(["SAME_UPPER", "SAME_LOWER", "VALID"][rnd(3) as usize].into())
            }
            1 => {
                o.output_shape = Some(
                    xs[2..]
                        .iter()
                        .map(|&d| (d * 2 + rnd(3) as usize) as i64)
                        .collect(),
                )
            }
            _ => o.window.pads = Some(pads),
        }
        o.window.strides = Some(strides);
        o.window.dilations = Some(dilations);
        o.output_padding = Some(opad);
        o.group = Some(group as i64);
        let Ok(s) = o.shape(&xs, &ws) else { continue };
        let xv: Vec<f64> = (0..xs.iter().product())
            .map(|_| rnd(9) as f64 - 4.0)
            .collect();
        let wv: Vec<f64> = (0..ws.iter().product())
            .map(|_| rnd(5) as f64 - 2.0)
            .collect();
        let want = naive_t(&s, &xv, &wv);
        let inputs = [
            Some(Tensor::from_vec(xs.clone(), xv).unwrap()),
            Some(Tensor::from_vec(ws.clone(), wv).unwrap()),
        ];
        let y = eval1(&o, &inputs).unwrap();
        assert_eq!(y.shape(), &s.out_shape[..]);
        assert_eq!(
            y.as_slice::<f64>().unwrap(),
            &want[..],
            "x {xs:?} w {ws:?} {o:?}"
        );
        checked += 1;
    }
    assert!(checked > 150, "only {checked} geometries were valid");
}
