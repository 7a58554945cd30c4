//! im2col + GEMM on column matrices big enough (>= 1 MiB) to be unfolded block by block into
//! the GEMM's packing buffers, against the naive f64 reference: every table, as shipped and
//! with tiny cache blocks (so every block boundary, partial panel and depth split occurs),
//! 1 and 2 threads. (Smaller matrices take the unfold-then-pack path, covered by
//! `conv_props.rs`.)

use edgeopt_kernels::conv::{Conv2dShape, ConvAlgo, PackedConv};
use edgeopt_kernels::{reference, Activation, Blocking, Kernels};

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

/// Relative tolerance against `sum |w * x| + |bias|` (plain dot products in f32).
const REL_TOL: f64 = 1e-5;

#[test]
fn big_column_matrices_match_reference() {
    // (in, hw, out, kernel, stride, pad, dilation, groups): K * N * 4 bytes >= 1 MiB each.
    let layers = [
        (3, 121, 10, 7, 2, 3, 1, 1),
        (8, 61, 13, 3, 1, 1, 1, 1),
        (6, 110, 8, 3, 1, 2, 2, 2),
        (5, 100, 7, 5, 2, 0, 1, 1),
    ];
    let mut tables: Vec<&'static Kernels> = Kernels::available_with_tiles();
    for t in Kernels::available_with_tiles() {
        let (mr, nr) = t.tile();
        let small = t
            .with_blocking(Blocking {
                mc: 2 * mr,
                kc: 37,
                nc: 3 * nr,
            })
            .unwrap();
        tables.push(Box::leak(Box::new(small)));
    }
    for (seed, &(c, hw, m, k, stride, pad, dil, groups)) in layers.iter().enumerate() {
        let mut s = Conv2dShape::simple(1, c, hw, hw + 3, m, k);
        (s.stride_h, s.stride_w, s.groups) = (stride, stride, groups);
        (s.dilation_h, s.dilation_w) = (dil, dil);
        (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (pad, pad + 1, pad, pad);
        s.validate().unwrap();
        let kk = s.in_channels / groups * k * k;
        assert!(
            kk * s.out_h() * s.out_w() * 4 >= 1 << 20,
            "{s} is too small"
        );
        let x = random(s.input_len(), seed as u64);
        let w = random(s.weight_len(), seed as u64 + 7);
        let b = random(s.out_channels, seed as u64 + 9);
        let act = Activation::Relu;
        let (want, mag) = reference::conv2d(&s, &x, &w, Some(&b), act).unwrap();
        for &table in &tables {
            let conv = PackedConv::with_kernels(table, &s, &w, Some(&b), act, ConvAlgo::Im2colGemm)
                .unwrap();
            for threads in [1, 2] {
                let mut out = vec![f32::NAN; s.output_len()];
                let mut scratch = vec![f32::NAN; conv.scratch_len()];
                conv.run(&x, &mut out, &mut scratch, threads).unwrap();
                for (i, ((&got, &want), &mg)) in out.iter().zip(&want).zip(&mag).enumerate() {
                    let tol = REL_TOL * mg + 1e-6;
                    assert!(
                        (got as f64 - want as f64).abs() <= tol,
                        "{} {threads}t output {i}: got {got}, want {want} for {s}",
                        table.name()
                    );
                }
            }
        }
    }
}
