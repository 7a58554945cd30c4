//! Depthwise 3x3 and 5x5 at horizontal stride 2 on a zero-padded plane: each padded row is
//! split once into its even and its odd columns, after which tap `j` of output `k` is element
//! `k + j / 2` of one of the halves, so every tap is a plain contiguous load (the strided
//! gather it replaces needed two loads and two shuffles per eight outputs and tap).

use super::shape::Conv2dShape;

/// `out = bias + conv(pad)` for a `K x K` kernel (`K` = `s.kernel_w`, 3 or 5) at horizontal
/// stride 2 and dilation 1, where `pad` is the zero-padded plane (`pw` wide) and `split` a
/// buffer of the same size for the deinterleaved rows.
#[inline(always)]
pub(crate) fn run<const FMA: bool>(
    s: &Conv2dShape,
    pad: &[f32],
    split: &mut [f32],
    pw: usize,
    out: &mut [f32],
    bias: f32,
    w: &[f32],
) {
    let he = pw.div_ceil(2);
    for (row, dst) in pad.chunks_exact(pw).zip(split.chunks_exact_mut(pw)) {
        let (even, odd) = dst.split_at_mut(he);
        for (pair, (e, o)) in row.chunks_exact(2).zip(even.iter_mut().zip(odd.iter_mut())) {
            (*e, *o) = (pair[0], pair[1]);
        }
        if pw % 2 == 1 {
            even[he - 1] = row[pw - 1];
        }
    }
    let split = &*split;
    match s.kernel_w {
        3 => rows::<FMA, 3>(s, split, pw, out, bias, w),
        5 => rows::<FMA, 5>(s, split, pw, out, bias, w),
        _ => unreachable!("the padded depthwise path takes 3- or 5-wide kernels"),
    }
}

#[inline(always)]
fn rows<const FMA: bool, const K: usize>(
    s: &Conv2dShape,
    split: &[f32],
    pw: usize,
    out: &mut [f32],
    bias: f32,
    w: &[f32],
) {
    let (he, ow) = (pw.div_ceil(2), s.out_w());
    let mut wk = [[0f32; K]; K];
    for (i, r) in wk.iter_mut().enumerate() {
        r.copy_from_slice(&w[i * K..(i + 1) * K]);
    }
    for (oy, row) in out.chunks_exact_mut(ow).enumerate() {
        let line = |i: usize| &split[(oy * s.stride_h + i * s.dilation_h) * pw..][..pw];
        let even: [&[f32]; K] = std::array::from_fn(|i| &line(i)[..he]);
        let odd: [&[f32]; K] = std::array::from_fn(|i| &line(i)[he..]);
        block::<FMA, K>(row, &even, &odd, bias, &wk);
    }
}

/// One output row: 32 outputs at a time (four independent vector chains), then 8, then a
/// group of 8 overlapping the previous one (same values rewritten); rows under 8 one by one.
#[inline(always)]
fn block<const FMA: bool, const K: usize>(
    out: &mut [f32],
    even: &[&[f32]; K],
    odd: &[&[f32]; K],
    bias: f32,
    w: &[[f32; K]; K],
) {
    let n = out.len();
    if n < 8 {
        for (k, o) in out.iter_mut().enumerate() {
            let mut acc = bias;
            for i in 0..K {
                for j in 0..K {
                    let src = if j % 2 == 0 { even[i] } else { odd[i] };
                    acc = madd::<FMA>(src[k + j / 2], w[i][j], acc);
                }
            }
            *o = acc;
        }
        return;
    }
    let mut k0 = 0;
    while k0 + 32 <= n {
        group::<FMA, K, 32>(&mut out[k0..k0 + 32], even, odd, k0, bias, w);
        k0 += 32;
    }
    while k0 + 8 <= n {
        group::<FMA, K, 8>(&mut out[k0..k0 + 8], even, odd, k0, bias, w);
        k0 += 8;
    }
    if k0 < n {
        group::<FMA, K, 8>(&mut out[n - 8..], even, odd, n - 8, bias, w);
    }
}

/// `L` outputs from output index `k0`. (A function, not a closure: closures do not inherit the
/// caller's target features.)
// Index loops over the const-sized tap arrays read as the math.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn group<const FMA: bool, const K: usize, const L: usize>(
    out: &mut [f32],
    even: &[&[f32]; K],
    odd: &[&[f32]; K],
    k0: usize,
    bias: f32,
    w: &[[f32; K]; K],
) {
    let mut acc = [bias; L];
    for i in 0..K {
        for j in 0..K {
            let src = if j % 2 == 0 { even[i] } else { odd[i] };
            let xs: &[f32; L] = src[k0 + j / 2..k0 + j / 2 + L]
                .try_into()
                .expect("L floats");
            for l in 0..L {
                acc[l] = madd::<FMA>(xs[l], w[i][j], acc[l]);
            }
        }
    }
    out[..L].copy_from_slice(&acc);
}

#[inline(always)]
fn madd<const FMA: bool>(x: f32, w: f32, acc: f32) -> f32 {
    if FMA {
        x.mul_add(w, acc)
    } else {
        acc + x * w
    }
}
