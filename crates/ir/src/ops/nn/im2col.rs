//! im2col / col2im for N-d convolutions: lay out every kernel tap of every input channel as one
//! row of a `(C * prod(kernel)) x prod(output)` matrix, so a convolution becomes one matrix
//! product (and a transposed convolution a product followed by a scatter-add).
//!
//! Rows are `(channel, k0, k1, ...)` row-major, columns are output positions row-major. The
//! innermost loop walks the last spatial axis, where input and output are both contiguous.

use crate::ops::nn::common::Axis;

/// Output positions `[lo, hi)` of an axis whose tap `k` lands inside the input, and the input
/// index of output position 0 (`off`, possibly negative).
fn valid_range(a: &Axis, k: usize) -> (usize, usize, i64) {
    let off = (k * a.dilation) as i64 - a.pad_begin as i64;
    let s = a.stride as i64;
    let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
    let room = a.input as i64 - off;
    let hi = if room <= 0 {
        0
    } else {
        ((room + s - 1) / s).min(a.output as i64)
    };
    let lo = lo.min(hi);
    (lo as usize, hi as usize, off)
}

/// Visits each row (channel, kernel tap) and each run of the last output axis: calls
/// `f(row, out_start, in_start)` where `in_start` is the offset in the channel's input plane of
/// the run's first input element along the last axis before the tap's last-axis shift, or
/// `None` when the run lies entirely in padding along a leading axis.
fn for_each_run(
    channels: usize,
    axes: &[Axis],
    mut f: impl FnMut(usize, usize, usize, Option<usize>),
) {
    let nd = axes.len();
    let kernel: Vec<usize> = axes.iter().map(|a| a.kernel).collect();
    let taps: usize = kernel.iter().product();
    let outer_out: Vec<usize> = axes[..nd - 1].iter().map(|a| a.output).collect();
    let outer: usize = outer_out.iter().product();
    let mut in_stride = vec![1usize; nd];
    for i in (0..nd - 1).rev() {
        in_stride[i] = in_stride[i + 1] * axes[i + 1].input;
    }
    let ow = axes[nd - 1].output;
    let mut kpos = vec![0usize; nd];
    let mut opos = vec![0usize; nd.saturating_sub(1)];
    for c in 0..channels {
        for t in 0..taps {
            unravel(t, &kernel, &mut kpos);
            let row = c * taps + t;
            for o in 0..outer {
                unravel(o, &outer_out, &mut opos);
                let mut base = Some(0usize);
                for a in 0..nd - 1 {
                    let ax = &axes[a];
                    let i =
                        (opos[a] * ax.stride + kpos[a] * ax.dilation) as i64 - ax.pad_begin as i64;
                    if i < 0 || i >= ax.input as i64 {
                        base = None;
                        break;
                    }
                    base = base.map(|b| b + i as usize * in_stride[a]);
                }
                f(row, t, o * ow, base);
            }
        }
    }
}

fn unravel(mut i: usize, dims: &[usize], out: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        out[d] = i % dims[d];
        i /= dims[d];
    }
}

/// Fills `cols` (`channels * prod(kernel)` rows of `prod(output)`) from `x` (`channels` planes
/// of `prod(input)`), with zeros for taps in the padding.
pub fn im2col<T: Copy + Default>(x: &[T], channels: usize, axes: &[Axis], cols: &mut [T]) {
    let nd = axes.len();
    let last = axes[nd - 1];
    let plane: usize = axes.iter().map(|a| a.input).product();
    let p: usize = axes.iter().map(|a| a.output).product();
    let kernel: Vec<usize> = axes.iter().map(|a| a.kernel).collect();
    let taps: usize = kernel.iter().product();
    let ranges: Vec<(usize, usize, i64)> =
        (0..last.kernel).map(|k| valid_range(&last, k)).collect();
    for_each_run(channels, axes, |row, tap, out0, base| {
        let seg = &mut cols[row * p + out0..row * p + out0 + last.output];
        let Some(base) = base else {
            seg.fill(T::default());
            return;
        };
        let (lo, hi, off) = ranges[tap % last.kernel];
        let xr = &x[(row / taps) * plane + base..];
        seg[..lo].fill(T::default());
        seg[hi..].fill(T::default());
        if hi == lo {
            return;
        }
        if last.stride == 1 {
            let start = (lo as i64 + off) as usize;
            seg[lo..hi].copy_from_slice(&xr[start..start + (hi - lo)]);
        } else {
            for (j, v) in seg[lo..hi].iter_mut().enumerate() {
                *v = xr[((lo + j) as i64 * last.stride as i64 + off) as usize];
            }
        }
    });
}

/// The adjoint of [`im2col`]: adds each column entry of `cols` into `y` (`channels` planes of
/// `prod(input)`), skipping taps that fall in the padding. `add` is the element addition.
pub fn col2im<T: Copy>(
    cols: &[T],
    channels: usize,
    axes: &[Axis],
    y: &mut [T],
    add: impl Fn(T, T) -> T,
) {
    let nd = axes.len();
    let last = axes[nd - 1];
    let plane: usize = axes.iter().map(|a| a.input).product();
    let p: usize = axes.iter().map(|a| a.output).product();
    let taps: usize = axes.iter().map(|a| a.kernel).product();
    let ranges: Vec<(usize, usize, i64)> =
        (0..last.kernel).map(|k| valid_range(&last, k)).collect();
    for_each_run(channels, axes, |row, tap, out0, base| {
        let Some(base) = base else { return };
        let (lo, hi, off) = ranges[tap % last.kernel];
        let seg = &cols[row * p + out0..row * p + out0 + last.output];
        let yr = &mut y[(row / taps) * plane + base..];
        for (j, &v) in seg[lo..hi].iter().enumerate() {
            let i = ((lo + j) as i64 * last.stride as i64 + off) as usize;
            yr[i] = add(yr[i], v);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(
        input: usize,
        output: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        pad: usize,
    ) -> Axis {
        Axis {
            input,
            output,
            kernel,
            stride,
            dilation,
            pad_begin: pad,
            pad_end: pad,
        }
    }

    #[test]
    fn one_d_with_padding_and_stride() {
        // x = [1,2,3,4,5], kernel 3, stride 2, pad 1 -> windows [0,1,2], [2,3,4], [4,5,0].
        let x = [1, 2, 3, 4, 5];
        let axes = [axis(5, 3, 3, 2, 1, 1)];
        let mut cols = [9; 9];
        im2col(&x, 1, &axes, &mut cols);
        assert_eq!(cols, [0, 2, 4, 1, 3, 5, 2, 4, 0]);
        // col2im of all-ones counts how many windows cover each input element.
        let mut y = [0; 5];
        col2im(&[1; 9], 1, &axes, &mut y, |a, b| a + b);
        assert_eq!(y, [1, 2, 1, 2, 1]);
    }

    #[test]
    fn padding_wider_than_the_input() {
        // x = [5], kernel 3, pad 2: three windows each see x at a different tap; some taps see
        // only padding for every output (empty valid range with a negative offset).
        let axes = [axis(1, 3, 3, 1, 1, 2)];
        let mut cols = [9; 9];
        im2col(&[5], 1, &axes, &mut cols);
        assert_eq!(cols, [0, 0, 5, 0, 5, 0, 5, 0, 0]);
    }

    #[test]
    fn two_d_dilated() {
        // 3x3 input, 2x2 kernel dilated by 2 -> a single 1x1 output reading the corners.
        let x: Vec<i32> = (1..=9).collect();
        let axes = [axis(3, 1, 2, 1, 2, 0), axis(3, 1, 2, 1, 2, 0)];
        let mut cols = [0; 4];
        im2col(&x, 1, &axes, &mut cols);
        assert_eq!(cols, [1, 3, 7, 9]);
    }
}
