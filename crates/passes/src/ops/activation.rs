//! The activations a fused op applies to its result, recognized from standard ONNX nodes and
//! written back as standard ONNX nodes by `decompose`.
//!
//! Parameters travel as ONNX Runtime's `com.microsoft::FusedConv` does it: a string attribute
//! `activation` and a float list `activation_params`.

use crate::rewrite::Editor;
use edgeopt_ir::attr::{AttrList, Attrs};
use edgeopt_ir::ops::math::clip::Clip;
use edgeopt_ir::ops::math::unary::{Unary, UnaryKind};
use edgeopt_ir::{bail, Attribute, BuildCtx, NodeId, Op, Registry, Result, ValueId, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug, PartialEq)]
pub enum Activation {
    Relu,
    /// `min(max(x, min), max)`; a missing bound is infinite. Relu6 is `Clip { 0, 6 }`.
    Clip {
        min: f32,
        max: f32,
    },
    Sigmoid,
    Tanh,
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// `x * HardSigmoid(x; alpha, beta)`. ONNX HardSwish is alpha = 1/6, beta = 0.5; PaddlePaddle
    /// exports the same shape with its own constants.
    HardSwish {
        alpha: f32,
        beta: f32,
    },
    LeakyRelu {
        alpha: f32,
    },
    /// One slope per channel, or a single one for all channels.
    PRelu {
        slope: Vec<f32>,
    },
}

/// Where the channels of a fused op's output are: axis 1 for Conv, the last axis for matrix
/// products. PRelu slopes are indexed along it.
#[derive(Clone, Copy, Debug)]
pub struct Channels {
    pub axis: usize,
    pub rank: usize,
    pub count: usize,
}

pub const HARD_SWISH_ALPHA: f32 = 1.0 / 6.0;

fn float_attr(op: &dyn Op, name: &str) -> Option<f32> {
    op.attributes().into_iter().find_map(|(k, a)| match a {
        Attribute::Float(v) if k == name => Some(v),
        _ => None,
    })
}

impl Activation {
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Relu => "Relu",
            Activation::Clip { .. } => "Clip",
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::HardSigmoid { .. } => "HardSigmoid",
            Activation::HardSwish { .. } => "HardSwish",
            Activation::LeakyRelu { .. } => "LeakyRelu",
            Activation::PRelu { .. } => "PRelu",
        }
    }

    pub fn params(&self) -> Vec<f32> {
        match self {
            Activation::Clip { min, max } => vec![*min, *max],
            Activation::HardSigmoid { alpha, beta } | Activation::HardSwish { alpha, beta } => {
                vec![*alpha, *beta]
            }
            Activation::LeakyRelu { alpha } => vec![*alpha],
            Activation::PRelu { slope } => slope.clone(),
            _ => Vec::new(),
        }
    }

    /// The inverse of `name` + `params`, for builders of exported fused ops.
    pub fn from_parts(name: &str, p: &[f32]) -> Result<Activation> {
        Ok(match (name, p) {
            ("Relu", []) => Activation::Relu,
            ("Sigmoid", []) => Activation::Sigmoid,
            ("Tanh", []) => Activation::Tanh,
            ("Clip", [min, max]) => Activation::Clip {
                min: *min,
                max: *max,
            },
            ("HardSigmoid", [alpha, beta]) => Activation::HardSigmoid {
                alpha: *alpha,
                beta: *beta,
            },
            ("HardSwish", [alpha, beta]) => Activation::HardSwish {
                alpha: *alpha,
                beta: *beta,
            },
            ("LeakyRelu", [alpha]) => Activation::LeakyRelu { alpha: *alpha },
            ("PRelu", s) if !s.is_empty() => Activation::PRelu { slope: s.to_vec() },
            _ => bail!("unknown activation {name:?} with parameters {p:?}"),
        })
    }

    /// Reads `activation` / `activation_params` (both absent: no activation).
    pub fn parse(attrs: &mut Attrs) -> Result<Option<Activation>> {
        match attrs.string("activation")? {
            None => Ok(None),
            Some(name) => {
                let p = attrs.floats("activation_params")?.unwrap_or_default();
                Activation::from_parts(&name, &p).map(Some)
            }
        }
    }

    pub fn export(&self, l: AttrList) -> AttrList {
        let l = l.string("activation", self.name());
        match self.params() {
            p if p.is_empty() => l,
            p => l.floats("activation_params", &p),
        }
    }

    /// The activation computed by a single standard node reading the fused op's output, when
    /// it is one (`ch` describes that output, for PRelu slopes).
    pub fn recognize(ed: &Editor, n: NodeId, ch: Channels) -> Option<Activation> {
        let node = ed.node(n);
        let op = node.op.as_ref();
        let input = |i: usize| node.inputs.get(i).copied().flatten();
        let one_input = input(0).is_some() && node.inputs.iter().skip(1).all(|i| i.is_none());
        if !op.domain().is_empty() {
            return None;
        }
        Some(match op.op_type() {
            "Relu" if one_input => Activation::Relu,
            "Sigmoid" if one_input => Activation::Sigmoid,
            "Tanh" if one_input => Activation::Tanh,
            "Clip" => {
                let c = op.downcast_ref::<Clip>()?;
                let bound = |i: usize, attr: Option<f32>, inf: f32| match (attr, input(i)) {
                    (Some(v), _) => Some(v),
                    (None, None) => Some(inf),
                    (None, Some(v)) => ed.scalar(v).map(|x| x as f32),
                };
                Activation::Clip {
                    min: bound(1, c.min, f32::NEG_INFINITY)?,
                    max: bound(2, c.max, f32::INFINITY)?,
                }
            }
            "HardSigmoid" if one_input => Activation::HardSigmoid {
                alpha: float_attr(op, "alpha").unwrap_or(0.2),
                beta: float_attr(op, "beta").unwrap_or(0.5),
            },
            "HardSwish" if one_input => Activation::HardSwish {
                alpha: HARD_SWISH_ALPHA,
                beta: 0.5,
            },
            "LeakyRelu" if one_input => Activation::LeakyRelu {
                alpha: float_attr(op, "alpha").unwrap_or(0.01),
            },
            "PRelu" => {
                let slope = ed.constant(input(1)?)?;
                Activation::PRelu {
                    slope: per_channel(slope, ch)?,
                }
            }
            _ => return None,
        })
    }

    /// The activation of one element of channel `c`.
    #[inline]
    pub fn apply(&self, x: f32, c: usize) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Clip { min, max } => {
                let v = if x < *min { *min } else { x };
                if v > *max {
                    *max
                } else {
                    v
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Activation::HardSwish { alpha, beta } => x * (alpha * x + beta).clamp(0.0, 1.0),
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::PRelu { slope } => {
                if x >= 0.0 {
                    x
                } else {
                    slope.get(c).or(slope.first()).copied().unwrap_or(0.0) * x
                }
            }
        }
    }

    /// Applies the activation to `t`, whose channels lie along `axis`. Float types only: f32
    /// and f64 natively, others through f64.
    pub fn apply_tensor(&self, t: Tensor, axis: usize) -> Result<Tensor> {
        let shape = t.shape().to_vec();
        let count = shape.get(axis).copied().unwrap_or(1).max(1);
        let inner: usize = shape.iter().skip(axis + 1).product::<usize>().max(1);
        let ch = |i: usize| (i / inner) % count;
        match t.dtype() {
            DType::F32 => {
                let y: Vec<f32> = t
                    .as_slice::<f32>()?
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| self.apply(v, ch(i)))
                    .collect();
                Ok(Tensor::from_vec(shape, y)?)
            }
            d if d.is_float() => {
                // f64 keeps its precision through an f32 formula only approximately; the fused
                // ops are built for f32 models, other float types are a correctness fallback.
                let y: Vec<f64> = t
                    .to_f64_vec()?
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| self.apply(v as f32, ch(i)) as f64)
                    .collect();
                Ok(Tensor::from_f64s(d, shape, &y)?)
            }
            d => bail!("{}: dtype {d} is not a float type", self.name()),
        }
    }

    /// Emits standard ONNX nodes computing `y = act(x)`.
    pub fn decompose(
        &self,
        ed: &mut Editor,
        name: &str,
        x: ValueId,
        y: ValueId,
        ch: Channels,
        opset: i64,
    ) -> Result<()> {
        let dtype = ed.dtype(x).unwrap_or(DType::F32);
        let scalar = |ed: &mut Editor, tag: &str, v: f32| -> Result<ValueId> {
            let t = Tensor::from_f64s(dtype, vec![], &[v as f64])?;
            Ok(ed.add_initializer(&format!("{name}_{tag}"), t))
        };
        let one = |ed: &mut Editor, op: Box<dyn Op>, inputs: Vec<Option<ValueId>>| {
            ed.add_node(name, op, inputs, vec![Some(y)]).map(|_| ())
        };
        match self {
            Activation::Relu => one(ed, Box::new(Unary::new(UnaryKind::Relu)), vec![Some(x)]),
            Activation::Sigmoid => one(ed, Box::new(Unary::new(UnaryKind::Sigmoid)), vec![Some(x)]),
            Activation::Tanh => one(ed, Box::new(Unary::new(UnaryKind::Tanh)), vec![Some(x)]),
            Activation::Clip { min, max } if opset < 11 => {
                let op = Clip {
                    min: min.is_finite().then_some(*min),
                    max: max.is_finite().then_some(*max),
                };
                one(ed, Box::new(op), vec![Some(x)])
            }
            Activation::Clip { min, max } => {
                let lo = min
                    .is_finite()
                    .then(|| scalar(ed, "min", *min))
                    .transpose()?;
                let hi = max
                    .is_finite()
                    .then(|| scalar(ed, "max", *max))
                    .transpose()?;
                one(ed, Box::<Clip>::default(), vec![Some(x), lo, hi])
            }
            Activation::HardSigmoid { alpha, beta } => {
                let op = standard("HardSigmoid", opset, &[("alpha", *alpha), ("beta", *beta)])?;
                one(ed, op, vec![Some(x)])
            }
            Activation::HardSwish { alpha, beta }
                if opset >= 14 && *alpha == HARD_SWISH_ALPHA && *beta == 0.5 =>
            {
                one(ed, standard("HardSwish", opset, &[])?, vec![Some(x)])
            }
            Activation::HardSwish { alpha, beta } => {
                let hs = ed.add_value(&format!("{name}_hardsigmoid"), ed.value_type(x).clone());
                let op = standard("HardSigmoid", opset, &[("alpha", *alpha), ("beta", *beta)])?;
                ed.add_node(name, op, vec![Some(x)], vec![Some(hs)])?;
                let mul = standard("Mul", opset, &[])?;
                one(ed, mul, vec![Some(x), Some(hs)])
            }
            Activation::LeakyRelu { alpha } => {
                let op = standard("LeakyRelu", opset, &[("alpha", *alpha)])?;
                one(ed, op, vec![Some(x)])
            }
            Activation::PRelu { slope } => {
                // Shaped to broadcast along the channel axis: [C, 1, ..., 1].
                let mut shape = vec![slope.len()];
                shape.extend(std::iter::repeat_n(1, ch.rank.saturating_sub(ch.axis + 1)));
                let v: Vec<f64> = slope.iter().map(|&s| s as f64).collect();
                let t = Tensor::from_f64s(dtype, shape, &v)?;
                let s = ed.add_initializer(&format!("{name}_slope"), t);
                one(ed, standard("PRelu", opset, &[])?, vec![Some(x), Some(s)])
            }
        }
    }
}

/// Builds a standard op through the IR's registry (so this crate does not depend on which
/// activation structs the IR has).
pub fn standard(op_type: &str, opset: i64, floats: &[(&str, f32)]) -> Result<Box<dyn Op>> {
    let mut attrs = Attrs::default();
    for (k, v) in floats {
        attrs.insert(k, Attribute::Float(*v));
    }
    let mut ctx = BuildCtx {
        opset,
        attrs: &mut attrs,
        num_inputs: 1,
        num_outputs: 1,
    };
    Registry::global().build("", op_type, &mut ctx)
}

/// A PRelu slope as one value per channel, when it varies along the channel axis only.
fn per_channel(slope: &Tensor, ch: Channels) -> Option<Vec<f32>> {
    let s = slope.shape();
    if s.len() > ch.rank {
        return None;
    }
    // Right-aligned broadcasting: slope dim i sits at output axis i + offset.
    let offset = ch.rank - s.len();
    let varies = s
        .iter()
        .enumerate()
        .any(|(i, &d)| d != 1 && (i + offset != ch.axis || d != ch.count));
    if varies {
        return None;
    }
    let v: Vec<f32> = slope.to_f64_vec().ok()?.iter().map(|&x| x as f32).collect();
    (v.len() == 1 || v.len() == ch.count).then_some(v)
}

/// The static type of a tensor value is float (activations are fused for floats only).
pub fn is_float(ty: &ValueType) -> bool {
    ty.dtype().is_some_and(|d| d.is_float())
}
