//! Runs a recurrent cell: reads and validates X, W, R, B, sequence_lens and the initial states,
//! converts them to f64 and layout 0, steps the cell over the sequence for each direction and
//! batch element (honouring `sequence_lens`: padded steps give zeros, the reverse direction
//! starts at the last valid step), and returns Y, Y_h, Y_c in X's dtype and layout.

use super::common::RnnAttrs;
use crate::op::Inputs;
use crate::ops::cast::kernel::{cast_tensor, CastOpts};
use crate::ops::quant::common::values_f64;
use crate::{bail, Result, Value};
use edgeopt_tensor::{DType, Tensor};

/// The validated inputs, converted to f64 and to layout 0.
pub struct RnnInputs {
    pub dtype: DType,
    pub seq: usize,
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
    pub dirs: usize,
    /// [seq, batch, input]
    pub x: Vec<f64>,
    /// [dirs, G*hidden, input]
    pub w: Vec<f64>,
    /// [dirs, G*hidden, hidden]
    pub r: Vec<f64>,
    /// [dirs, 2*G*hidden] (zeros when absent)
    pub b: Vec<f64>,
    /// Valid steps per batch element.
    pub lens: Vec<usize>,
    /// [dirs, batch, hidden] (zeros when absent)
    pub h0: Vec<f64>,
}

/// Swaps the first two axes of a row-major [a, b, rest] array.
pub fn swap01(v: &[f64], a: usize, b: usize, rest: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.len());
    for j in 0..b {
        for i in 0..a {
            out.extend_from_slice(&v[(i * b + j) * rest..(i * b + j + 1) * rest]);
        }
    }
    out
}

/// Y from [seq, dirs, batch, hidden] to layout 1's [batch, seq, dirs, hidden].
fn y_batch_first(y: &[f64], seq: usize, dirs: usize, batch: usize, hid: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(y.len());
    for b in 0..batch {
        for t in 0..seq {
            for d in 0..dirs {
                out.extend_from_slice(&y[((t * dirs + d) * batch + b) * hid..][..hid]);
            }
        }
    }
    out
}

fn expect_shape(op: &str, name: &str, t: &Tensor, want: &[usize]) -> Result<()> {
    if t.shape() != want {
        bail!("{op}: {name} has shape {:?}, expected {want:?}", t.shape());
    }
    Ok(())
}

impl RnnAttrs {
    /// Reads X, W, R, B, sequence_lens and initial_h (inputs 0..=5) for a cell with `gates`.
    pub fn inputs(&self, op: &str, inputs: &Inputs, gates: usize) -> Result<RnnInputs> {
        let (x, w, r) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let dtype = x.dtype();
        if !matches!(dtype, DType::F32 | DType::F64 | DType::F16 | DType::BF16) {
            bail!("{op}: X must be a float tensor, got {dtype}");
        }
        if x.rank() != 3 || w.rank() != 3 || r.rank() != 3 {
            bail!(
                "{op}: X {:?}, W {:?} and R {:?} must be 3-D",
                x.shape(),
                w.shape(),
                r.shape()
            );
        }
        let (seq, batch, input) = if self.batch_first() {
            (x.shape()[1], x.shape()[0], x.shape()[2])
        } else {
            (x.shape()[0], x.shape()[1], x.shape()[2])
        };
        let dirs = self.num_dirs();
        let hidden = r.shape()[2];
        if self.hidden_size.is_some_and(|h| h as usize != hidden) {
            bail!(
                "{op}: hidden_size {:?} differs from R's shape {:?}",
                self.hidden_size,
                r.shape()
            );
        }
        let gh = gates * hidden;
        expect_shape(op, "W", w, &[dirs, gh, input])?;
        expect_shape(op, "R", r, &[dirs, gh, hidden])?;
        let mut xv = values_f64(x)?;
        if self.batch_first() {
            xv = swap01(&xv, batch, seq, input);
        }
        let b = match inputs.opt_tensor(3)? {
            Some(b) => {
                expect_shape(op, "B", b, &[dirs, 2 * gh])?;
                values_f64(b)?
            }
            None => vec![0.0; dirs * 2 * gh],
        };
        let lens = match inputs.opt_tensor(4)? {
            Some(l) => {
                expect_shape(op, "sequence_lens", l, &[batch])?;
                let v = l.to_i64_vec()?;
                if let Some(bad) = v.iter().find(|&&n| n < 0 || n as usize > seq) {
                    bail!("{op}: sequence_lens value {bad} is outside 0..={seq}");
                }
                v.into_iter().map(|n| n as usize).collect()
            }
            None => vec![seq; batch],
        };
        let h0 = self.state(op, "initial_h", inputs.opt_tensor(5)?, dirs, batch, hidden)?;
        Ok(RnnInputs {
            dtype,
            seq,
            batch,
            input,
            hidden,
            dirs,
            x: xv,
            w: values_f64(w)?,
            r: values_f64(r)?,
            b,
            lens,
            h0,
        })
    }

    /// An initial state in layout 0 ([dirs, batch, hidden]), zeros when absent.
    pub fn state(
        &self,
        op: &str,
        name: &str,
        t: Option<&Tensor>,
        dirs: usize,
        batch: usize,
        hidden: usize,
    ) -> Result<Vec<f64>> {
        let Some(t) = t else {
            return Ok(vec![0.0; dirs * batch * hidden]);
        };
        if self.batch_first() {
            expect_shape(op, name, t, &[batch, dirs, hidden])?;
            Ok(swap01(&values_f64(t)?, batch, dirs, hidden))
        } else {
            expect_shape(op, name, t, &[dirs, batch, hidden])?;
            values_f64(t)
        }
    }

    /// Runs `cell(dir, x_t, h, c) -> (h, c)` over every direction and batch element and returns
    /// the requested outputs (Y, Y_h, Y_c) as tensors of X's dtype.
    pub fn run<F>(
        &self,
        io: &RnnInputs,
        c0: &[f64],
        num_outputs: usize,
        cell: F,
    ) -> Result<Vec<Value>>
    where
        F: Fn(usize, &[f64], &[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
    {
        let (seq, batch, hid, dirs) = (io.seq, io.batch, io.hidden, io.dirs);
        let mut y = vec![0.0; seq * dirs * batch * hid];
        let mut yh = io.h0.clone();
        let mut yc = c0.to_vec();
        let reverse = |d: usize| d == 1 || self.direction.as_deref() == Some("reverse");
        for d in 0..dirs {
            for b in 0..batch {
                let s = (d * batch + b) * hid;
                let (mut h, mut c) = (io.h0[s..s + hid].to_vec(), c0[s..s + hid].to_vec());
                let steps: Vec<usize> = if reverse(d) {
                    (0..io.lens[b]).rev().collect()
                } else {
                    (0..io.lens[b]).collect()
                };
                for t in steps {
                    let xt = &io.x[(t * batch + b) * io.input..][..io.input];
                    (h, c) = cell(d, xt, &h, &c);
                    y[((t * dirs + d) * batch + b) * hid..][..hid].copy_from_slice(&h);
                }
                yh[s..s + hid].copy_from_slice(&h);
                yc[s..s + hid].copy_from_slice(&c);
            }
        }
        let (y, y_shape, yh, yc, h_shape) = if self.batch_first() {
            (
                y_batch_first(&y, seq, dirs, batch, hid),
                vec![batch, seq, dirs, hid],
                swap01(&yh, dirs, batch, hid),
                swap01(&yc, dirs, batch, hid),
                vec![batch, dirs, hid],
            )
        } else {
            (
                y,
                vec![seq, dirs, batch, hid],
                yh,
                yc,
                vec![dirs, batch, hid],
            )
        };
        let mk = |v: Vec<f64>, s: Vec<usize>| -> Result<Value> {
            Ok(cast_tensor(&Tensor::from_vec(s, v)?, io.dtype, CastOpts::default())?.into())
        };
        let mut out = vec![mk(y, y_shape)?];
        if num_outputs > 1 {
            out.push(mk(yh, h_shape.clone())?);
        }
        if num_outputs > 2 {
            out.push(mk(yc, h_shape)?);
        }
        Ok(out)
    }
}

/// `out[i] = bias[i] + sum_j m[i, j] * v[j]` for a row-major [rows, v.len()] matrix.
pub fn matvec(m: &[f64], v: &[f64], bias: &[f64]) -> Vec<f64> {
    let cols = v.len();
    bias.iter()
        .enumerate()
        .map(|(i, &b)| {
            b + m[i * cols..(i + 1) * cols]
                .iter()
                .zip(v)
                .map(|(a, x)| a * x)
                .sum::<f64>()
        })
        .collect()
}

/// Weights of direction `d`: (W_d, R_d, Wb_d + Rb_d, Rb_d).
pub fn dir_weights(io: &RnnInputs, gates: usize, d: usize) -> (&[f64], &[f64], &[f64], &[f64]) {
    let gh = gates * io.hidden;
    let w = &io.w[d * gh * io.input..(d + 1) * gh * io.input];
    let r = &io.r[d * gh * io.hidden..(d + 1) * gh * io.hidden];
    let b = &io.b[d * 2 * gh..(d + 1) * 2 * gh];
    (w, r, &b[..gh], &b[gh..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_axes() {
        // [2, 3] -> [3, 2]
        assert_eq!(
            swap01(&[1., 2., 3., 4., 5., 6.], 2, 3, 1),
            vec![1., 4., 2., 5., 3., 6.]
        );
    }
}
