//! The implicit-GEMM convolution of the dot-product tables (`implicit.rs`): its row-pointer
//! packers against the portable twin, byte for byte, and whole convolutions on shapes that take
//! the implicit path (full 32-column panels, strides 1-3, dilation, padding, groups, odd depths)
//! against the naive reference, exactly.

use proptest::prelude::*;

use super::arch::portable_dot;
use super::tests::{check_conv_with, conv_case_for};
use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn pack_rows_matches_portable(
        k in 1usize..23,
        full in any::<bool>(),
        cols in 1usize..33,
        flip in prop_oneof![Just(0u8), Just(0x80u8)],
        seed in any::<u64>(),
    ) {
        let buf: Vec<u8> = (0..4096u64).map(|i| (i.wrapping_mul(seed | 1) >> 7) as u8).collect();
        let offs: Vec<usize> = (0..k as u64).map(|p| ((p * 977 + seed) % 4000) as usize).collect();
        for table in Int8Kernels::available() {
            let Some(dot) = table.dot else { continue };
            let nr = table.nr;
            let cols = if full { nr } else { cols.min(nr) };
            let len = k.div_ceil(4) * nr * 4;
            let (mut got, mut want) = (vec![7u8; len], vec![9u8; len]);
            // SAFETY: offsets + cols <= 4032 < 4096; both panels hold len bytes.
            unsafe {
                (dot.pack_rows)(buf.as_ptr(), offs.as_ptr(), k, cols, flip, got.as_mut_ptr(), nr);
                portable_dot::pack_rows(buf.as_ptr(), offs.as_ptr(), k, cols, flip, want.as_mut_ptr(), nr);
            }
            prop_assert_eq!(got, want, "table {} k {} cols {}", table.name(), k, cols);
        }
    }

    #[test]
    fn implicit_conv_matches_reference(c in conv_case_for(implicit_geometry())) {
        for table in Int8Kernels::available() {
            let wi: Vec<i8> = c.w.iter().map(|&v| v as i8).collect();
            let packed = PackedConv::new(table, c.g, WeightsRef::I8(&wi), &c.w_zp).unwrap();
            prop_assert_eq!(packed.is_implicit(), table.is_dot(), "{}", table.name());
            check_conv_with(table, &c, &packed, packed.output_hw())?;
        }
    }
}

/// Geometries whose dropped columns stay under a third of the work: the implicit path.
fn implicit_geometry() -> impl Strategy<Value = ConvGeometry> {
    (
        (1usize..3, 1usize..3, 1usize..6, 8usize..30, 8usize..40),
        (1usize..4, 1usize..4, 1usize..4, 1usize..3, 1usize..4),
        (0usize..2, 0usize..2, 0usize..2, 0usize..2),
    )
        .prop_filter_map(
            "pointwise, no output or too many dropped columns",
            |((b, gr, cpg, h, w), (kh, kw, s, d, mpg), (p0, p1, p2, p3))| {
                let g = ConvGeometry {
                    batch: b,
                    c_in: gr * cpg,
                    h,
                    w,
                    c_out: gr * mpg * 3,
                    kernel: (kh, kw),
                    stride: (s, 1 + (s + d) % 3),
                    dilation: (d, 1),
                    pads: [p0, p1, p2, p3],
                    groups: gr,
                };
                let (oh, ow) = g.output_hw().ok()?;
                let pointwise = g.kernel == (1, 1) && g.stride == (1, 1) && g.pads == [0; 4];
                let pw = (w + p1 + p3).div_ceil(g.stride.1);
                let cols = (oh - 1) * pw + ow;
                (!pointwise && cols * 3 <= oh * ow * 4).then_some(g)
            },
        )
}
