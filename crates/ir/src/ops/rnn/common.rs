//! What RNN, GRU and LSTM share: their common attributes (parsing, export, activations per
//! direction, clip), shape inference and cost. `driver.rs` runs the cells, `activation.rs`
//! holds the activation functions.
//!
//! Shapes (layout 0 / layout 1):
//! X [seq, batch, input] / [batch, seq, input]; W [dirs, G*hidden, input];
//! R [dirs, G*hidden, hidden]; B [dirs, 2*G*hidden]; initial_h, initial_c, Y_h, Y_c
//! [dirs, batch, hidden] / [batch, dirs, hidden]; Y [seq, dirs, batch, hidden] /
//! [batch, seq, dirs, hidden]. Computation is in f64; outputs take X's dtype.

use super::activation::{parse_acts, Act};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, InferCtx};
use crate::registry::BuildCtx;
use crate::{bail, Result, ValueType};
use edgeopt_tensor::Dim;

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

    pub fn batch_first(&self) -> bool {
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
