//! Each fast lowering against the IR's reference eval, on seeded random shapes (odd sizes,
//! strides, groups, pads, dilations, broadcasting). Tolerance: 1e-4 relative to the output's
//! largest magnitude (f32 sums in a different order than the reference's f64 ones).

mod common;

use common::{assert_all_fast, check};
use edgeopt_ir::Attribute;
use edgeopt_passes::testing::{ints, random_tensor, ModelBuilder};

const TOL: f64 = 1e-4;

/// A tiny deterministic generator for test parameters.
struct Pick(u64);

impl Pick {
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (self.0 % (hi - lo + 1) as u64) as usize
    }
}

#[test]
fn conv_matches_reference() {
    let mut p = Pick(0x1234_5678);
    for case in 0..40 {
        let groups = [1, 1, 2, 3][p.int(0, 3)];
        let (cg, mg) = (p.int(1, 4), p.int(1, 5));
        let (c, m) = (cg * groups, mg * groups);
        let (kh, kw) = (p.int(1, 3), p.int(1, 3));
        let (sh, sw) = (p.int(1, 2), p.int(1, 2));
        let (dh, dw) = (p.int(1, 2), p.int(1, 2));
        let pads = [p.int(0, 2), p.int(0, 2), p.int(0, 2), p.int(0, 2)];
        let (h, w) = (p.int(kh * dh, 11), p.int(kw * dw, 12));
        let batch = p.int(1, 2);
        let bias = case % 3 != 0;
        let const_w = case % 5 != 4;
        let mut b = ModelBuilder::new(13);
        b.input("x", &[batch, c, h, w]);
        if const_w {
            b.weight("w", &[m, cg, kh, kw]);
        } else {
            b.input("w", &[m, cg, kh, kw]);
        }
        if bias {
            b.weight("b", &[m]);
        }
        let mut attrs = vec![
            ("strides", ints(&[sh as i64, sw as i64])),
            ("dilations", ints(&[dh as i64, dw as i64])),
            ("group", Attribute::Int(groups as i64)),
        ];
        if case % 7 == 6 {
            attrs.push(("auto_pad", Attribute::String("SAME_UPPER".into())));
        } else {
            attrs.push(("pads", ints(&pads.map(|v| v as i64))));
        }
        b.node(
            "Conv",
            &["x", "w", if bias { "b" } else { "" }],
            &["y"],
            attrs,
        )
        .node("Relu", &["y"], &["z"], vec![])
        .output("z");
        let model = b.build();
        let mut inputs = vec![random_tensor(&[batch, c, h, w], case)];
        if !const_w {
            inputs.push(random_tensor(&[m, cg, kh, kw], case + 100));
        }
        for opt in [0, 2] {
            let s = check(&model, &inputs, opt, 1, TOL);
            assert_all_fast(&s, &format!("conv case {case} opt {opt}"));
        }
    }
}

#[test]
fn depthwise_and_1d_conv_match_reference() {
    let mut p = Pick(0xfeed);
    for case in 0..16 {
        let c = p.int(2, 9);
        let k = [3, 5][p.int(0, 1)];
        let s = p.int(1, 2);
        let pad = p.int(0, k / 2 + 1);
        let (h, w) = (p.int(k, 14), p.int(k, 15));
        let mut b = ModelBuilder::new(13);
        b.input("x", &[1, c, h, w])
            .weight("w", &[c, 1, k, k])
            .weight("b", &[c])
            .node(
                "Conv",
                &["x", "w", "b"],
                &["y"],
                vec![
                    ("strides", ints(&[s as i64, s as i64])),
                    ("pads", ints(&[pad as i64, pad as i64, 0, pad as i64])),
                    ("group", Attribute::Int(c as i64)),
                ],
            )
            .node("Clip", &["y"], &["z"], vec![])
            .output("z");
        let model = b.build();
        let x = random_tensor(&[1, c, h, w], case);
        let sess = check(&model, &[x], 2, 1, TOL);
        assert_all_fast(&sess, "depthwise");
        // 1-D
        let mut b = ModelBuilder::new(13);
        b.input("x", &[2, c, w])
            .weight("w", &[3, c, k])
            .node(
                "Conv",
                &["x", "w"],
                &["y"],
                vec![
                    ("strides", ints(&[s as i64])),
                    ("pads", ints(&[pad as i64, 1])),
                ],
            )
            .output("y");
        let model = b.build();
        let sess = check(&model, &[random_tensor(&[2, c, w], case)], 0, 1, TOL);
        assert_all_fast(&sess, "conv1d");
    }
}

#[test]
fn gemm_and_matmul_match_reference() {
    let mut p = Pick(0xabc);
    for case in 0..24u64 {
        let (m, k, n) = ([1, 1, 3, 17][p.int(0, 3)], p.int(1, 40), p.int(1, 37));
        let (ta, tb) = (p.int(0, 1) == 1, p.int(0, 1) == 1);
        let c_shape: Vec<usize> = match case % 4 {
            0 => vec![n],
            1 => vec![1, n],
            2 => vec![m, 1],
            _ => vec![],
        };
        let mut b = ModelBuilder::new(13);
        b.input("a", &if ta { [k, m] } else { [m, k] })
            .weight("b", &if tb { [n, k] } else { [k, n] })
            .weight("c", &c_shape)
            .node(
                "Gemm",
                &["a", "b", "c"],
                &["y"],
                vec![
                    ("transA", Attribute::Int(ta as i64)),
                    ("transB", Attribute::Int(tb as i64)),
                    ("alpha", Attribute::Float(0.5)),
                    ("beta", Attribute::Float(2.0)),
                ],
            )
            .node("Relu", &["y"], &["z"], vec![])
            .output("z");
        let model = b.build();
        let a = random_tensor(&if ta { [k, m] } else { [m, k] }, case);
        for opt in [0, 2] {
            let s = check(&model, std::slice::from_ref(&a), opt, 1, TOL);
            assert_all_fast(&s, &format!("gemm case {case}"));
        }
    }
    // MatMul: batched with broadcasting, 1-D operands, constant and dynamic B.
    let shapes: [(&[usize], &[usize]); 6] = [
        (&[2, 3, 5, 7], &[7, 4]),
        (&[3, 5, 7], &[3, 7, 6]),
        (&[1, 5, 7], &[4, 7, 2]),
        (&[7], &[7, 3]),
        (&[4, 7], &[7]),
        (&[2, 1, 3, 4], &[5, 4, 6]),
    ];
    for (i, (sa, sb)) in shapes.iter().enumerate() {
        for const_b in [true, false] {
            let mut b = ModelBuilder::new(13);
            b.input("a", sa);
            if const_b {
                b.weight("b", sb);
            } else {
                b.input("b", sb);
            }
            b.node("MatMul", &["a", "b"], &["y"], vec![]).output("y");
            let model = b.build();
            let mut inputs = vec![random_tensor(sa, i as u64)];
            if !const_b {
                inputs.push(random_tensor(sb, 50 + i as u64));
            }
            let s = check(&model, &inputs, 0, 1, TOL);
            assert_all_fast(&s, &format!("matmul {sa:?} x {sb:?}"));
        }
    }
}

#[test]
fn elementwise_matches_reference() {
    let pairs: [(&[usize], &[usize]); 7] = [
        (&[2, 3, 4], &[2, 3, 4]),
        (&[2, 3, 4], &[4]),
        (&[2, 3, 4], &[3, 1]),
        (&[1, 3, 1], &[2, 1, 5]),
        (&[5], &[]),
        (&[], &[2, 2]),
        (&[1, 8, 3, 3], &[1, 8, 1, 1]),
    ];
    for (i, (sa, sb)) in pairs.iter().enumerate() {
        for op in ["Add", "Sub", "Mul", "Div"] {
            let mut b = ModelBuilder::new(13);
            b.input("a", sa)
                .input("b", sb)
                .node(op, &["a", "b"], &["y"], vec![])
                .node("Sigmoid", &["y"], &["s"], vec![])
                .node(op, &["s", "b"], &["z"], vec![])
                .output("z");
            let model = b.build();
            let mut bv = random_tensor(sb, 7 + i as u64);
            if op == "Div" {
                let v: Vec<f32> = bv
                    .to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .map(|x| x + 3.0)
                    .collect();
                bv = edgeopt_tensor::Tensor::from_vec(sb.to_vec(), v).unwrap();
            }
            let s = check(&model, &[random_tensor(sa, i as u64), bv], 0, 1, TOL);
            assert_all_fast(&s, &format!("{op} {sa:?} {sb:?}"));
        }
    }
    for op in [
        "Relu",
        "Sigmoid",
        "Tanh",
        "HardSwish",
        "HardSigmoid",
        "LeakyRelu",
        "Neg",
        "Abs",
        "Exp",
    ] {
        let mut b = ModelBuilder::new(14);
        b.input("x", &[3, 37])
            .node(op, &["x"], &["y"], vec![])
            .node("Relu", &["y"], &["z"], vec![])
            .output("z");
        let s = check(&b.build(), &[random_tensor(&[3, 37], 3)], 0, 1, TOL);
        assert_all_fast(&s, op);
    }
}

#[test]
fn pooling_softmax_concat_transpose_match_reference() {
    let mut p = Pick(0x77);
    for case in 0..16u64 {
        let k = p.int(1, 3);
        let s = p.int(1, 2);
        let pad = p.int(0, k - 1);
        let ceil = p.int(0, 1) as i64;
        let (h, w) = (p.int(k, 9), p.int(k, 10));
        for op in ["MaxPool", "AveragePool"] {
            let mut attrs = vec![
                ("kernel_shape", ints(&[k as i64, k as i64])),
                ("strides", ints(&[s as i64, s as i64])),
                ("pads", ints(&[pad as i64, 0, pad as i64, pad as i64])),
                ("ceil_mode", Attribute::Int(ceil)),
            ];
            if op == "AveragePool" {
                attrs.push(("count_include_pad", Attribute::Int((case % 2) as i64)));
            }
            let mut b = ModelBuilder::new(13);
            b.input("x", &[2, 3, h, w])
                .node(op, &["x"], &["y"], attrs)
                .node("GlobalAveragePool", &["y"], &["z"], vec![])
                .output("y")
                .output("z");
            let sess = check(&b.build(), &[random_tensor(&[2, 3, h, w], case)], 0, 1, TOL);
            assert_all_fast(&sess, op);
        }
    }
    // Windows all inside the input: the unchecked max paths (2x2 and general, dilated).
    for (k, s, d, h, w) in [
        (2, 2, 1, 8, 9),
        (2, 1, 1, 5, 7),
        (3, 2, 2, 9, 11),
        (2, 3, 1, 7, 8),
        // Rows longer than the 2x2 stride-2 path's 64-output chunk.
        (2, 2, 1, 6, 141),
    ] {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[1, 5, h, w]).node(
            "MaxPool",
            &["x"],
            &["y"],
            vec![
                ("kernel_shape", ints(&[k, k])),
                ("strides", ints(&[s, s])),
                ("dilations", ints(&[d, d])),
            ],
        );
        b.output("y");
        let sess = check(&b.build(), &[random_tensor(&[1, 5, h, w], 3)], 0, 1, 0.0);
        assert_all_fast(&sess, "MaxPool");
    }
    for axis in [-1i64, 0, 1, 2] {
        let mut b = ModelBuilder::new(13);
        b.input("x", &[3, 4, 5])
            .input("y", &[3, 2, 5])
            .node(
                "Softmax",
                &["x"],
                &["s"],
                vec![("axis", Attribute::Int(axis))],
            )
            .node(
                "Concat",
                &["s", "y"],
                &["c"],
                vec![("axis", Attribute::Int(1))],
            )
            .node(
                "Transpose",
                &["c"],
                &["t"],
                vec![("perm", ints(&[2, 0, 1]))],
            )
            .output("t");
        let inputs = [random_tensor(&[3, 4, 5], 1), random_tensor(&[3, 2, 5], 2)];
        let sess = check(&b.build(), &inputs, 0, 1, TOL);
        assert_all_fast(&sess, "softmax/concat/transpose");
    }
}

/// ConvTranspose (GEMM + col2im) against the reference: groups, strides, kernels larger and
/// smaller than the stride (overlapping and gapped taps), pads, dilations, output_padding.
#[test]
fn conv_transpose_matches_reference() {
    let mut p = Pick(0xc0de);
    for case in 0..24 {
        let groups = [1, 1, 2][p.int(0, 2)];
        let (cg, mg) = (p.int(1, 4), p.int(1, 3));
        let (c, m) = (cg * groups, mg * groups);
        let (kh, kw) = (p.int(1, 4), p.int(1, 3));
        let (sh, sw) = (p.int(1, 3), p.int(1, 2));
        let (dh, dw) = (p.int(1, 2), 1);
        let mut pads = [p.int(0, 1), p.int(0, 1), p.int(0, 1), p.int(0, 1)];
        let opad = [p.int(0, sh - 1), p.int(0, sw - 1)];
        let (h, w) = (p.int(1, 9), p.int(2, 10));
        // Natural output size; pads must leave at least one output.
        let full_h = sh * (h - 1) + opad[0] + (kh - 1) * dh + 1;
        let full_w = sw * (w - 1) + opad[1] + (kw - 1) * dw + 1;
        if full_h <= pads[0] + pads[2] {
            (pads[0], pads[2]) = (0, 0);
        }
        if full_w <= pads[1] + pads[3] {
            (pads[1], pads[3]) = (0, 0);
        }
        let batch = p.int(1, 2);
        let bias = case % 3 != 0;
        let mut b = ModelBuilder::new(13);
        b.input("x", &[batch, c, h, w])
            .weight("w", &[c, mg, kh, kw]);
        if bias {
            b.weight("b", &[m]);
        }
        b.node(
            "ConvTranspose",
            &["x", "w", if bias { "b" } else { "" }],
            &["y"],
            vec![
                ("strides", ints(&[sh as i64, sw as i64])),
                ("dilations", ints(&[dh as i64, dw as i64])),
                ("group", Attribute::Int(groups as i64)),
                ("pads", ints(&pads.map(|v| v as i64))),
                ("output_padding", ints(&opad.map(|v| v as i64))),
            ],
        )
        .output("y");
        let model = b.build();
        let x = random_tensor(&[batch, c, h, w], case);
        for threads in [1, 2] {
            let s = check(&model, std::slice::from_ref(&x), 2, threads, TOL);
            assert_all_fast(&s, &format!("conv_transpose case {case}"));
        }
    }
}

/// Two threads: every output bit-identical across runs and sessions (each output element is
/// computed by one thread, whatever the split), on layers big enough to be split: a conv,
/// a depthwise conv, a residual Add, a ConvTranspose, a pooled GEMV.
#[test]
fn two_threads_are_deterministic() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, 8, 64, 64])
        .weight("w1", &[32, 8, 1, 1])
        .weight("w2", &[32, 1, 3, 3])
        .weight("b2", &[32])
        .weight("wt", &[32, 8, 2, 2])
        .weight("fc", &[1000, 8])
        .node("Conv", &["x", "w1"], &["a"], vec![])
        .node(
            "Conv",
            &["a", "w2", "b2"],
            &["d"],
            vec![("pads", ints(&[1, 1, 1, 1])), ("group", Attribute::Int(32))],
        )
        .node("Add", &["a", "d"], &["r"], vec![])
        .node(
            "ConvTranspose",
            &["r", "wt"],
            &["u"],
            vec![("strides", ints(&[2, 2]))],
        )
        .node("GlobalAveragePool", &["u"], &["g"], vec![])
        .node("Flatten", &["g"], &["f"], vec![])
        .node(
            "Gemm",
            &["f", "fc"],
            &["y"],
            vec![("transB", Attribute::Int(1))],
        )
        .output("y")
        .output("u");
    let model = b.build();
    let x = random_tensor(&[1, 8, 64, 64], 7);
    let first = check(&model, std::slice::from_ref(&x), 2, 2, TOL);
    assert_all_fast(&first, "two threads");
    let opts = || edgeopt_runtime::SessionOptions {
        threads: 2,
        ..Default::default()
    };
    let mut s1 = edgeopt_runtime::Session::new(model.clone(), opts()).unwrap();
    let mut s2 = edgeopt_runtime::Session::new(model, opts()).unwrap();
    let want = s1.run(std::slice::from_ref(&x)).unwrap();
    for _ in 0..3 {
        for got in [
            s1.run(std::slice::from_ref(&x)),
            s2.run(std::slice::from_ref(&x)),
        ] {
            for (g, w) in got.unwrap().iter().zip(&want) {
                let (g, w) = (g.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
                assert!(g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }
}
