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

/// Floats of scratch: the 16 transformed inputs and the 16 products of one image.
pub(crate) fn scratch_len(s: &Conv2dShape) -> usize {
    let (th, tw) = tiles(s);
    16 * th * tw * (s.in_channels + s.out_channels)
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

/// `B^T x` for the 4 values of a tile's column or row.
#[inline(always)]
fn bt(x: [f32; 4]) -> [f32; 4] {
    [x[0] - x[2], x[1] + x[2], x[2] - x[1], x[1] - x[3]]
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
    let (v, m) = scratch[..16 * t * (cin + cout)].split_at_mut(16 * t * cin);
    let params = GemmParams {
        threads,
        ..GemmParams::default()
    };
    for b in 0..s.batch {
        let image = &input[b * cin * h * w..(b + 1) * cin * h * w];
        transform_input(s, image, v, t);
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

/// `V_xi[tile][c]` for every tile and channel of one image.
fn transform_input(s: &Conv2dShape, image: &[f32], v: &mut [f32], t: usize) {
    let (cin, h, w) = (s.in_channels, s.in_h, s.in_w);
    let (_, tw) = tiles(s);
    for tile in 0..t {
        let (y0, x0) = (
            (2 * (tile / tw)) as isize - s.pad_top as isize,
            (2 * (tile % tw)) as isize - s.pad_left as isize,
        );
        let inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= h as isize && x0 + 4 <= w as isize;
        for c in 0..cin {
            let plane = &image[c * h * w..(c + 1) * h * w];
            let mut d = [[0f32; 4]; 4];
            if inside {
                for (r, row) in d.iter_mut().enumerate() {
                    let at = (y0 as usize + r) * w + x0 as usize;
                    row.copy_from_slice(&plane[at..at + 4]);
                }
            } else {
                for (r, row) in d.iter_mut().enumerate() {
                    let y = y0 + r as isize;
                    if y < 0 || y >= h as isize {
                        continue;
                    }
                    for (k, e) in row.iter_mut().enumerate() {
                        let x = x0 + k as isize;
                        if x >= 0 && x < w as isize {
                            *e = plane[y as usize * w + x as usize];
                        }
                    }
                }
            }
            // B^T d (columns), then (B^T d) B (rows).
            let mut col = [[0f32; 4]; 4];
            for k in 0..4 {
                let tcol = bt([d[0][k], d[1][k], d[2][k], d[3][k]]);
                for r in 0..4 {
                    col[r][k] = tcol[r];
                }
            }
            for (i, row) in col.iter().enumerate() {
                for (j, x) in bt(*row).into_iter().enumerate() {
                    v[((i * 4 + j) * t + tile) * cin + c] = x;
                }
            }
        }
    }
}

/// `Y = A^T M A` per tile and output channel, plus bias and activation, into NCHW.
fn transform_output(pc: &PackedConv, m: &[f32], out: &mut [f32], t: usize) {
    let s = &pc.shape;
    let cout = s.out_channels;
    let (oh, ow) = (s.out_h(), s.out_w());
    let (_, tw) = tiles(s);
    for tile in 0..t {
        let (y0, x0) = (2 * (tile / tw), 2 * (tile % tw));
        let rows = 2.min(oh - y0);
        let cols = 2.min(ow - x0);
        for o in 0..cout {
            let mut mm = [[0f32; 4]; 4];
            for (i, row) in mm.iter_mut().enumerate() {
                for (j, e) in row.iter_mut().enumerate() {
                    *e = m[((i * 4 + j) * t + tile) * cout + o];
                }
            }
            // A^T = [[1, 1, 1, 0], [0, 1, -1, -1]] on columns, then on rows.
            let mut half = [[0f32; 4]; 2];
            for k in 0..4 {
                half[0][k] = mm[0][k] + mm[1][k] + mm[2][k];
                half[1][k] = mm[1][k] - mm[2][k] - mm[3][k];
            }
            let bias = pc.bias.as_ref().map_or(0.0, |b| b[o]);
            for r in 0..rows {
                let q = half[r];
                let y = [q[0] + q[1] + q[2], q[1] - q[2] - q[3]];
                for (k, &val) in y.iter().enumerate().take(cols) {
                    out[(o * oh + y0 + r) * ow + x0 + k] = pc.activation.apply(val + bias);
                }
            }
        }
    }
}
