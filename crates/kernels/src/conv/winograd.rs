//! Winograd minimal filtering F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin & Gray 2015):
//! each 2x2 output tile costs 16 multiplies per input channel instead of 36, a 2.25x cut.
//!
//! Per image: the input's 4x4 tiles are transformed (`V = B^T d B`) into 16 matrices
//! `V_xi` (tiles x channels); 16 GEMMs multiply them by the weights transformed at pack time
//! (`U = G g G^T`, kept as 16 prepacked `in x out` right-hand sides); the products are
//! transformed back (`Y = A^T M A`) with bias and activation into NCHW. The transforms only
//! add, subtract and halve, so the result stays within a few roundings of the direct sum
//! (tested at 1e-5 relative to `sum |w x|`).

use super::shape::Conv2dShape;
use super::PackedConv;
use crate::{GemmParams, Kernels, MatMut, MatRef, PackedB, Result};

/// Whether F(2x2, 3x3) computes this shape: a 3x3 kernel, unit strides and dilations, one
/// group.
pub(crate) fn applies(s: &Conv2dShape) -> bool {
    (
        s.kernel_h,
        s.kernel_w,
        s.stride_h,
        s.stride_w,
        s.dilation_h,
        s.dilation_w,
        s.groups,
    ) == (3, 3, 1, 1, 1, 1, 1)
}

/// Output tiles of one image: rows and columns of 2x2 tiles.
fn tiles(s: &Conv2dShape) -> (usize, usize) {
    (s.out_h().div_ceil(2), s.out_w().div_ceil(2))
}

/// Floats of scratch: the 16 transformed inputs and the 16 products of one image, and the
/// image transposed to HWC.
pub(crate) fn scratch_len(s: &Conv2dShape) -> usize {
    let (th, tw) = tiles(s);
    16 * th * tw * (s.in_channels + s.out_channels) + s.in_channels * s.in_h * s.in_w
}

/// The 16 transformed weight matrices `U_xi` (`in x out`), prepacked for the GEMM.
pub(crate) fn pack(table: &Kernels, s: &Conv2dShape, w: &[f32]) -> Result<Vec<PackedB>> {
    let (cin, cout) = (s.in_channels, s.out_channels);
    let mut u = vec![0f32; 16 * cin * cout];
    for o in 0..cout {
        for c in 0..cin {
            let g = &w[(o * cin + c) * 9..][..9];
            // G g: 4x3, rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 (per column of g).
            let mut gg = [[0f32; 3]; 4];
            for j in 0..3 {
                let (a, b, d) = (g[j], g[3 + j], g[6 + j]);
                gg[0][j] = a;
                gg[1][j] = 0.5 * (a + b + d);
                gg[2][j] = 0.5 * (a - b + d);
                gg[3][j] = d;
            }
            for (i, row) in gg.iter().enumerate() {
                let (a, b, d) = (row[0], row[1], row[2]);
                let t = [a, 0.5 * (a + b + d), 0.5 * (a - b + d), d];
                for (j, v) in t.into_iter().enumerate() {
                    u[((i * 4 + j) * cin + c) * cout + o] = v;
                }
            }
        }
    }
    u.chunks_exact(cin * cout)
        .map(|m| PackedB::with_kernels(table, MatRef::row_major(m, cin, cout)?))
        .collect()
}

/// Runs the convolution image by image.
pub(crate) fn run(
    pc: &PackedConv,
    packed: &[PackedB],
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) -> Result<()> {
    let s = &pc.shape;
    let (cin, cout, h, w) = (s.in_channels, s.out_channels, s.in_h, s.in_w);
    let (oh, ow) = (s.out_h(), s.out_w());
    let (th, tw) = tiles(s);
    let t = th * tw;
    let (v, rest) = scratch.split_at_mut(16 * t * cin);
    let (m, hwc) = rest.split_at_mut(16 * t * cout);
    let hwc = &mut hwc[..cin * h * w];
    let params = GemmParams {
        threads,
        ..GemmParams::default()
    };
    for b in 0..s.batch {
        let image = &input[b * cin * h * w..(b + 1) * cin * h * w];
        for (c, plane) in image.chunks_exact(h * w).enumerate() {
            for (p, &x) in plane.iter().enumerate() {
                hwc[p * cin + c] = x;
            }
        }
        transform_input(s, hwc, v, t);
        for (xi, u) in packed.iter().enumerate() {
            let a = MatRef::row_major(&v[xi * t * cin..(xi + 1) * t * cin], t, cin)?;
            let c = MatMut::row_major(&mut m[xi * t * cout..(xi + 1) * t * cout], t, cout)?;
            pc.table.gemm_prepacked(&params, a, u, c)?;
        }
        let out = &mut output[b * cout * oh * ow..(b + 1) * cout * oh * ow];
        transform_output(pc, m, out, t);
    }
    Ok(())
}

/// `V_xi[tile][c]` for every tile and channel of one image, given in HWC layout so that
/// eight consecutive channels are contiguous in both the input and `V`: the transform runs
/// on eight channels at a time as plain arrays, which the compiler vectorizes.
fn transform_input(s: &Conv2dShape, hwc: &[f32], v: &mut [f32], t: usize) {
    let (cin, h, w) = (s.in_channels, s.in_h, s.in_w);
    let (_, tw) = tiles(s);
    for tile in 0..t {
        let (y0, x0) = (
            (2 * (tile / tw)) as isize - s.pad_top as isize,
            (2 * (tile % tw)) as isize - s.pad_left as isize,
        );
        // Offsets into `hwc` of the 16 pixels of the tile, `None` outside the input.
        let mut at = [None; 16];
        for r in 0..4 {
            for k in 0..4 {
                let (y, x) = (y0 + r as isize, x0 + k as isize);
                if y >= 0 && x >= 0 && y < h as isize && x < w as isize {
                    at[r * 4 + k] = Some((y as usize * w + x as usize) * cin);
                }
            }
        }
        let mut c = 0;
        while c + 8 <= cin {
            lanes::<8>(hwc, &at, c, v, (t, tile, cin));
            c += 8;
        }
        while c < cin {
            lanes::<1>(hwc, &at, c, v, (t, tile, cin));
            c += 1;
        }
    }
}

/// The input transform of one tile for channels `c..c + L`.
#[inline(always)]
fn lanes<const L: usize>(
    hwc: &[f32],
    at: &[Option<usize>; 16],
    c: usize,
    v: &mut [f32],
    (t, tile, cin): (usize, usize, usize),
) {
    let mut d = [[0f32; L]; 16];
    for (p, px) in d.iter_mut().enumerate() {
        if let Some(o) = at[p] {
            px.copy_from_slice(&hwc[o + c..o + c + L]);
        }
    }
    // B^T d on columns: rows 0..4 of the tile are d[0..4], d[4..8], ...
    let mut e = [[0f32; L]; 16];
    for k in 0..4 {
        for l in 0..L {
            let (a, b, cc, dd) = (d[k][l], d[4 + k][l], d[8 + k][l], d[12 + k][l]);
            e[k][l] = a - cc;
            e[4 + k][l] = b + cc;
            e[8 + k][l] = cc - b;
            e[12 + k][l] = b - dd;
        }
    }
    // ... then B on rows.
    for i in 0..4 {
        let mut out = [[0f32; L]; 4];
        for l in 0..L {
            let (a, b, cc, dd) = (
                e[i * 4][l],
                e[i * 4 + 1][l],
                e[i * 4 + 2][l],
                e[i * 4 + 3][l],
            );
            out[0][l] = a - cc;
            out[1][l] = b + cc;
            out[2][l] = cc - b;
            out[3][l] = b - dd;
        }
        for (j, o) in out.iter().enumerate() {
            let at = ((i * 4 + j) * t + tile) * cin + c;
            v[at..at + L].copy_from_slice(o);
        }
    }
}

/// `Y = A^T M A` per tile and output channel, plus bias, into NCHW (eight channels at a
/// time: `M` is contiguous in the channel); then the activation over the whole image.
fn transform_output(pc: &PackedConv, m: &[f32], out: &mut [f32], t: usize) {
    let s = &pc.shape;
    let cout = s.out_channels;
    let (_, tw) = tiles(s);
    let bias = pc.bias.as_deref().unwrap_or(&[]);
    for tile in 0..t {
        let at = (2 * (tile / tw), 2 * (tile % tw));
        let mut o = 0;
        while o + 8 <= cout {
            out_lanes::<8>(s, m, bias, out, (t, tile, o), at);
            o += 8;
        }
        while o < cout {
            out_lanes::<1>(s, m, bias, out, (t, tile, o), at);
            o += 1;
        }
    }
    // SAFETY: the table only holds kernels this CPU runs.
    unsafe { (pc.table.act)(out, pc.activation) };
}

/// The output transform of one tile for channels `o..o + L`.
#[inline(always)]
fn out_lanes<const L: usize>(
    s: &Conv2dShape,
    m: &[f32],
    bias: &[f32],
    out: &mut [f32],
    (t, tile, o): (usize, usize, usize),
    (y0, x0): (usize, usize),
) {
    let (oh, ow, cout) = (s.out_h(), s.out_w(), s.out_channels);
    let mut mm = [[0f32; L]; 16];
    for (xi, v) in mm.iter_mut().enumerate() {
        let at = (xi * t + tile) * cout + o;
        v.copy_from_slice(&m[at..at + L]);
    }
    let mut b = [0f32; L];
    if !bias.is_empty() {
        b.copy_from_slice(&bias[o..o + L]);
    }
    // A^T = [[1, 1, 1, 0], [0, 1, -1, -1]] on columns, then on rows.
    let mut half = [[0f32; L]; 8];
    for k in 0..4 {
        for l in 0..L {
            let (p, q, r, u) = (mm[k][l], mm[4 + k][l], mm[8 + k][l], mm[12 + k][l]);
            half[k][l] = p + q + r;
            half[4 + k][l] = q - r - u;
        }
    }
    let mut y = [[0f32; L]; 4];
    for r in 0..2 {
        for l in 0..L {
            let (p, q, rr, u) = (
                half[4 * r][l],
                half[4 * r + 1][l],
                half[4 * r + 2][l],
                half[4 * r + 3][l],
            );
            y[2 * r][l] = p + q + rr + b[l];
            y[2 * r + 1][l] = q - rr - u + b[l];
        }
    }
    let (rows, cols) = (2.min(oh - y0), 2.min(ow - x0));
    for r in 0..rows {
        for k in 0..cols {
            for (l, &val) in y[2 * r + k].iter().enumerate() {
                out[((o + l) * oh + y0 + r) * ow + x0 + k] = val;
            }
        }
    }
}
