//! Window enumeration shared by MaxPool, AveragePool and LpPool, and their common attribute
//! handling (the window attributes plus `ceil_mode`).

use crate::attr::{AttrList, Attrs};
use crate::ops::nn::common::{Axis, WindowAttrs};
use crate::{bail, Result, TensorType, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};

/// Attributes every pool has: the window (`kernel_shape` required) and `ceil_mode`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolAttrs {
    pub window: WindowAttrs,
    pub ceil_mode: Option<i64>,
}

impl PoolAttrs {
    pub fn parse(op: &str, a: &mut Attrs, with_dilations: bool) -> Result<PoolAttrs> {
        let window = WindowAttrs::parse(op, a, with_dilations)?;
        if window.kernel_shape.is_none() {
            bail!("{op}: attribute 'kernel_shape' is required");
        }
        Ok(PoolAttrs {
            window,
            ceil_mode: a.int("ceil_mode")?,
        })
    }

    pub fn export(&self, l: AttrList) -> AttrList {
        self.window.export(l).opt_int("ceil_mode", self.ceil_mode)
    }

    /// Geometry of every spatial axis for input shape `x` (`[N, C, D1...]`).
    pub fn axes(&self, op: &str, x: &[usize]) -> Result<Vec<Axis>> {
        if x.len() < 3 {
            bail!("{op}: input must be [N, C, D1, ...], got shape {x:?}");
        }
        let win = self
            .window
            .resolve(op, x.len() - 2, None, self.ceil_mode.unwrap_or(0) != 0)?;
        win.axes(op, &x[2..])
    }

    /// Output type: `[N, C, O1...]` of the input's dtype (or `dtype`).
    pub fn infer(&self, op: &str, x: &TensorType, dtype: Option<DType>) -> Result<ValueType> {
        let shape = match &x.shape {
            Some(s) if s.len() < 3 => bail!("{op}: input must have rank >= 3, got {}", s.len()),
            Some(s) => {
                let win =
                    self.window
                        .resolve(op, s.len() - 2, None, self.ceil_mode.unwrap_or(0) != 0)?;
                let mut out = s[..2].to_vec();
                out.extend(win.infer_spatial(op, &s[2..])?);
                Some(out)
            }
            None => None,
        };
        Ok(ValueType::Tensor(TensorType {
            dtype: dtype.or(x.dtype),
            shape,
        }))
    }
}

/// Output shape `[N, C, O1...]` for input shape `x`.
pub fn out_shape(x: &[usize], axes: &[Axis]) -> Result<Vec<usize>> {
    let mut s = x[..2].to_vec();
    s.extend(axes.iter().map(|a| a.output));
    checked_numel(&s)?;
    Ok(s)
}

/// For each output index of one axis: the input indices inside the window, and how many window
/// taps fall inside the input or its explicit padding (the `count_include_pad` divisor).
fn axis_taps(a: &Axis) -> Vec<(Vec<usize>, usize)> {
    let (lo, hi) = (-(a.pad_begin as i64), (a.input + a.pad_end) as i64);
    (0..a.output)
        .map(|o| {
            let start = (o * a.stride) as i64 - a.pad_begin as i64;
            let taps = (0..a.kernel).map(|j| start + (j * a.dilation) as i64);
            let padded = taps.clone().filter(|&i| i >= lo && i < hi).count();
            let valid = taps
                .filter(|&i| i >= 0 && i < a.input as i64)
                .map(|i| i as usize)
                .collect();
            (valid, padded)
        })
        .collect()
}

/// Calls `f(out_index, inputs, padded_count)` for each output position of one `(n, c)` plane:
/// `inputs` are the row-major offsets (within the plane) of the window's input elements.
pub fn for_each_window(axes: &[Axis], mut f: impl FnMut(usize, &[usize], usize)) {
    let taps: Vec<Vec<(Vec<usize>, usize)>> = axes.iter().map(axis_taps).collect();
    let nd = axes.len();
    let mut in_stride = vec![1usize; nd];
    for i in (0..nd.saturating_sub(1)).rev() {
        in_stride[i] = in_stride[i + 1] * axes[i + 1].input;
    }
    let total: usize = axes.iter().map(|a| a.output).product();
    let mut o = vec![0usize; nd];
    let mut offsets: Vec<usize> = Vec::new();
    let mut next: Vec<usize> = Vec::new();
    for flat in 0..total {
        offsets.clear();
        offsets.push(0);
        let mut padded = 1;
        for a in 0..nd {
            let (valid, count) = &taps[a][o[a]];
            padded *= count;
            next.clear();
            for &base in &offsets {
                next.extend(valid.iter().map(|&i| base + i * in_stride[a]));
            }
            std::mem::swap(&mut offsets, &mut next);
        }
        f(flat, &offsets, padded);
        for a in (0..nd).rev() {
            o[a] += 1;
            if o[a] < axes[a].output {
                break;
            }
            o[a] = 0;
        }
    }
}

/// Pools f64 values of `x` with `reduce(window values, divisor)`; shared with LpPool.
pub fn pool_f64(
    op: &str,
    pool: &PoolAttrs,
    x: &Tensor,
    include_pad: bool,
    reduce: impl Fn(&mut dyn Iterator<Item = f64>, usize) -> f64,
) -> Result<Tensor> {
    if !x.dtype().is_float() {
        crate::bail!(
            "{op}: dtype {} is not supported (expected a float type)",
            x.dtype()
        );
    }
    let axes = pool.axes(op, x.shape())?;
    let shape = out_shape(x.shape(), &axes)?;
    let xv = x.to_f64_vec()?;
    let pin: usize = axes.iter().map(|a| a.input).product();
    let mut y = Vec::with_capacity(shape.iter().product());
    for plane in xv.chunks(pin.max(1)).take(shape[0] * shape[1]) {
        for_each_window(&axes, |_, ins, padded| {
            let n = if include_pad { padded } else { ins.len() };
            y.push(reduce(&mut ins.iter().map(|&i| plane[i]), n));
        });
    }
    Ok(Tensor::from_f64s(x.dtype(), shape, &y)?)
}

/// Symbolic `[N, C, 1, 1...]` for global pools.
pub fn global_shape(x: &[Dim]) -> Vec<Dim> {
    x.iter()
        .enumerate()
        .map(|(i, d)| if i < 2 { d.clone() } else { Dim::Known(1) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_with_padding_and_ceil() {
        // 1-D: input 4, kernel 3, stride 2, pads 1/1 -> windows [-1,0,1], [1,2,3].
        let a = Axis {
            input: 4,
            output: 2,
            kernel: 3,
            stride: 2,
            dilation: 1,
            pad_begin: 1,
            pad_end: 1,
        };
        let mut seen = vec![];
        for_each_window(&[a], |o, ins, padded| seen.push((o, ins.to_vec(), padded)));
        assert_eq!(seen, vec![(0, vec![0, 1], 3), (1, vec![1, 2, 3], 3)]);
        // 2-D offsets are row-major in the plane; a ceil-mode window past the padding counts
        // only the taps inside input + padding.
        let h = Axis {
            input: 2,
            output: 1,
            kernel: 2,
            stride: 1,
            dilation: 1,
            pad_begin: 0,
            pad_end: 0,
        };
        let w = Axis {
            input: 3,
            output: 2,
            kernel: 2,
            stride: 2,
            dilation: 1,
            pad_begin: 0,
            pad_end: 0,
        };
        let mut seen = vec![];
        for_each_window(&[h, w], |o, ins, padded| {
            seen.push((o, ins.to_vec(), padded))
        });
        assert_eq!(seen, vec![(0, vec![0, 1, 3, 4], 4), (1, vec![2, 5], 2)]);
    }
}
