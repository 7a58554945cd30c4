//! What RNN, GRU and LSTM share: their common attributes, the activation functions, input
//! validation and layout handling, shape inference, cost, and a driver that runs a cell over
//! the sequence for each direction and batch element (honouring `sequence_lens`).
//!
//! Shapes (layout 0 / layout 1):
//! X [seq, batch, input] / [batch, seq, input]; W [dirs, G*hidden, input];
//! R [dirs, G*hidden, hidden]; B [dirs, 2*G*hidden]; initial_h, initial_c, Y_h, Y_c
//! [dirs, batch, hidden] / [batch, dirs, hidden]; Y [seq, dirs, batch, hidden] /
//! [batch, seq, dirs, hidden]. Computation is in f64; outputs take X's dtype.

use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, InferCtx, Inputs};
use crate::ops::cast::kernel::{cast_tensor, CastOpts};
use crate::ops::quant::common::values_f64;
use crate::registry::BuildCtx;
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

/// An activation function with its alpha / beta.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    Tanh,
    Sigmoid,
    Affine(f64, f64),
    LeakyRelu(f64),
    ThresholdedRelu(f64),
    ScaledTanh(f64, f64),
    HardSigmoid(f64, f64),
    Elu(f64),
    Softsign,
    Softplus,
}

impl Act {
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Act::Relu => x.max(0.0),
            Act::Tanh => x.tanh(),
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Affine(a, b) => a * x + b,
            Act::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Act::ThresholdedRelu(a) => {
                if x > a {
                    x
                } else {
                    0.0
                }
            }
            Act::ScaledTanh(a, b) => a * (b * x).tanh(),
            Act::HardSigmoid(a, b) => (a * x + b).clamp(0.0, 1.0),
            Act::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x.exp_m1()
                }
            }
            Act::Softsign => x / (1.0 + x.abs()),
            Act::Softplus => {
                if x > 30.0 {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
        }
    }
}

/// Builds the activations named in `names`, consuming `alphas` / `betas` in order by the
/// functions that take them (as onnxruntime does); missing values take the ONNX op defaults.
pub fn parse_acts(op: &str, names: &[String], alphas: &[f32], betas: &[f32]) -> Result<Vec<Act>> {
    let (mut ai, mut bi) = (alphas.iter(), betas.iter());
    let mut a = |d: f64| ai.next().map(|&v| v as f64).unwrap_or(d);
    let mut b = |d: f64| bi.next().map(|&v| v as f64).unwrap_or(d);
    names
        .iter()
        .map(|n| {
            Ok(match n.to_ascii_lowercase().as_str() {
                "relu" => Act::Relu,
                "tanh" => Act::Tanh,
                "sigmoid" => Act::Sigmoid,
                "affine" => Act::Affine(a(1.0), b(0.0)),
                "leakyrelu" => Act::LeakyRelu(a(0.01)),
                "thresholdedrelu" => Act::ThresholdedRelu(a(1.0)),
                "scaledtanh" => Act::ScaledTanh(a(1.0), b(1.0)),
                "hardsigmoid" => Act::HardSigmoid(a(0.2), b(0.5)),
                "elu" => Act::Elu(a(1.0)),
                "softsign" => Act::Softsign,
                "softplus" => Act::Softplus,
                _ => bail!("{op}: unknown activation '{n}'"),
            })
        })
        .collect()
}

/// The attributes every recurrent op has, as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RnnAttrs {
    pub activations: Option<Vec<String>>,
    pub activation_alpha: Option<Vec<f32>>,
    pub activation_beta: Option<Vec<f32>>,
    pub clip: Option<f32>,
    pub direction: Option<String>,
    pub hidden_size: Option<i64>,
    pub layout: Option<i64>,
}

impl RnnAttrs {
    pub fn parse(ctx: &mut BuildCtx, op: &str) -> Result<RnnAttrs> {
        let a = RnnAttrs {
            activations: ctx.attrs.strings("activations")?,
            activation_alpha: ctx.attrs.floats("activation_alpha")?,
            activation_beta: ctx.attrs.floats("activation_beta")?,
            clip: ctx.attrs.float("clip")?,
            direction: ctx.attrs.string("direction")?,
            hidden_size: ctx.attrs.int("hidden_size")?,
            layout: ctx.attrs.int("layout")?,
        };
        // Opset 1 had `output_sequence`; Y is produced whenever it is requested anyway.
        ctx.attrs.int("output_sequence")?;
        if !matches!(
            a.direction.as_deref(),
            None | Some("forward" | "reverse" | "bidirectional")
        ) {
            bail!(
                "{op}: direction must be forward, reverse or bidirectional, got {:?}",
                a.direction
            );
        }
        if a.hidden_size.is_some_and(|h| h < 1) {
            bail!(
                "{op}: hidden_size must be positive, got {:?}",
                a.hidden_size
            );
        }
        if !matches!(a.layout, None | Some(0 | 1)) {
            bail!("{op}: layout must be 0 or 1, got {:?}", a.layout);
        }
        if a.clip.is_some_and(|c| c.is_nan() || c <= 0.0) {
            bail!("{op}: clip must be positive, got {:?}", a.clip);
        }
        Ok(a)
    }

    pub fn export(&self, l: AttrList) -> AttrList {
        let mut l = l;
        if let Some(v) = &self.activations {
            l = l.strings("activations", v);
        }
        if let Some(v) = &self.activation_alpha {
            l = l.floats("activation_alpha", v);
        }
        if let Some(v) = &self.activation_beta {
            l = l.floats("activation_beta", v);
        }
        l.opt_float("clip", self.clip)
            .opt_string("direction", self.direction.as_deref())
            .opt_int("hidden_size", self.hidden_size)
            .opt_int("layout", self.layout)
    }

    pub fn num_dirs(&self) -> usize {
        if self.direction.as_deref() == Some("bidirectional") {
            2
        } else {
            1
        }
    }

    fn batch_first(&self) -> bool {
        self.layout == Some(1)
    }

    /// One activation list per direction: `per_dir` functions each, from the attribute when
    /// given (one set shared by both directions if only one set is given), else `defaults`.
    pub fn acts(&self, op: &str, defaults: &[&str]) -> Result<Vec<Vec<Act>>> {
        let per = defaults.len();
        let names: Vec<String> = match &self.activations {
            Some(v) => v.clone(),
            None => defaults.iter().map(|s| s.to_string()).collect(),
        };
        let all = parse_acts(
            op,
            &names,
            self.activation_alpha.as_deref().unwrap_or(&[]),
            self.activation_beta.as_deref().unwrap_or(&[]),
        )?;
        if all.len() < per {
            bail!("{op}: needs {per} activations per direction, got {names:?}");
        }
        Ok((0..self.num_dirs())
            .map(|d| {
                if all.len() >= per * (d + 1) {
                    all[per * d..per * (d + 1)].to_vec()
                } else {
                    all[..per].to_vec()
                }
            })
            .collect())
    }

    /// Clamps an activation input to [-clip, clip] when clip is set.
    pub fn clip(&self, x: f64) -> f64 {
        match self.clip {
            Some(c) => x.clamp(-c as f64, c as f64),
            None => x,
        }
    }

    /// Types of Y, Y_h (and Y_c when `with_c`), as many as the node has outputs.
    pub fn infer(
        &self,
        op: &str,
        ctx: &InferCtx,
        gates: usize,
        max_outputs: usize,
    ) -> Result<Vec<ValueType>> {
        if ctx.num_outputs > max_outputs {
            bail!(
                "{op}: at most {max_outputs} outputs, got {}",
                ctx.num_outputs
            );
        }
        let x = ctx.tensor(0);
        let hidden = self
            .hidden_size
            .map(|h| Dim::Known(h as usize))
            .or_else(|| {
                ctx.tensor(2)
                    .shape
                    .and_then(|s| s.get(2).cloned())
                    .or_else(|| {
                        ctx.tensor(1)
                            .shape
                            .and_then(|s| s.get(1).and_then(Dim::known))
                            .map(|g| Dim::Known(g / gates))
                    })
            });
        let hidden = hidden.unwrap_or(Dim::Unknown);
        let dirs = Dim::Known(self.num_dirs());
        let types = match x.shape {
            Some(s) if s.len() == 3 => {
                let (seq, batch) = if self.batch_first() {
                    (&s[1], &s[0])
                } else {
                    (&s[0], &s[1])
                };
                let y = if self.batch_first() {
                    vec![batch.clone(), seq.clone(), dirs.clone(), hidden.clone()]
                } else {
                    vec![seq.clone(), dirs.clone(), batch.clone(), hidden.clone()]
                };
                let yh = if self.batch_first() {
                    vec![batch.clone(), dirs, hidden]
                } else {
                    vec![dirs, batch.clone(), hidden]
                };
                (Some(y), Some(yh))
            }
            Some(s) => bail!("{op}: X must be 3-D, got rank {}", s.len()),
            None => (None, None),
        };
        let t = |s: Option<Vec<Dim>>| match (x.dtype, s) {
            (Some(d), Some(s)) => ValueType::tensor(d, s),
            (Some(d), None) => ValueType::dtype_only(d),
            _ => ValueType::Unknown,
        };
        let mut out = vec![t(types.0), t(types.1.clone()), t(types.1)];
        out.truncate(ctx.num_outputs);
        Ok(out)
    }
}

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

/// MACs: every step of every direction multiplies W (G*hidden x input) and R (G*hidden x
/// hidden) by a vector per batch element.
pub fn rnn_cost(ctx: &CostCtx, gates: usize, dirs: usize) -> Cost {
    let base = ctx.movement();
    let (Some(x), Some(r)) = (ctx.input_shape(0), ctx.input_shape(2)) else {
        return base;
    };
    if x.len() != 3 || r.len() != 3 {
        return base;
    }
    let (steps, input, hidden) = ((x[0] * x[1]) as u64, x[2] as u64, r[2] as u64);
    let gh = gates as u64 * hidden;
    Cost {
        macs: dirs as u64 * steps * gh * (input + hidden),
        flops: dirs as u64 * steps * gh * 4,
        ..base
    }
}

/// Attribute export helper for the op files.
pub fn export(a: &RnnAttrs, extra: AttrList) -> Vec<(String, Attribute)> {
    a.export(extra).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_consume_alpha_in_order() {
        let names: Vec<String> = ["LeakyRelu", "Tanh", "HardSigmoid"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let acts = parse_acts("T", &names, &[0.5, 0.3], &[0.1]).unwrap();
        assert_eq!(
            acts,
            vec![
                Act::LeakyRelu(0.5),
                Act::Tanh,
                Act::HardSigmoid(0.30000001192092896, 0.10000000149011612)
            ]
        );
        assert!(parse_acts("T", &["Foo".to_string()], &[], &[]).is_err());
        assert_eq!(Act::Sigmoid.apply(0.0), 0.5);
    }

    #[test]
    fn swap_axes() {
        // [2, 3] -> [3, 2]
        assert_eq!(
            swap01(&[1., 2., 3., 4., 5., 6.], 2, 3, 1),
            vec![1., 4., 2., 5., 3., 6.]
        );
    }
}
