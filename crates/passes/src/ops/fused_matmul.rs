//! Matrix products with the bias add and activation fused in (domain `com.edgeopt`):
//!
//! - `FusedGemm`: `activation(Gemm(A, B, C))`; Gemm's attributes plus `activation` and
//!   `activation_params`.
//! - `FusedMatMul`: `activation(MatMul(A, B) + bias)` for any rank, `bias` (optional) broadcast
//!   along the last axis; the activation attributes are optional. It covers MatMul + Add where
//!   Gemm cannot (A of rank > 2, as in transformer blocks).
//!
//! Channels (PRelu slopes) lie along the last axis of the output.

use super::activation::{Activation, Channels};
use super::{Fused, DOMAIN};
use crate::rewrite::Editor;
use edgeopt_ir::attr::AttrList;
use edgeopt_ir::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs};
use edgeopt_ir::ops::linalg::gemm::{self, Gemm};
use edgeopt_ir::ops::linalg::matmul::MatMul;
use edgeopt_ir::ops::math::binary::{Binary, BinaryKind};
use edgeopt_ir::{bail, Attribute, BuildCtx, NodeId, Op, Result, Value, ValueId, ValueType};

#[derive(Clone, Debug)]
pub struct FusedGemm {
    pub gemm: Gemm,
    pub activation: Activation,
}

#[derive(Clone, Debug)]
pub struct FusedMatMul {
    pub activation: Option<Activation>,
}

pub fn build_gemm(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let Some(activation) = Activation::parse(ctx.attrs)? else {
        bail!("FusedGemm: attribute 'activation' is missing");
    };
    let op = gemm::build(ctx)?;
    match op.downcast_ref::<Gemm>() {
        Some(g) => Ok(Box::new(FusedGemm {
            gemm: g.clone(),
            activation,
        })),
        None => bail!("FusedGemm: the Gemm builder returned a {}", op.op_type()),
    }
}

pub fn build_matmul(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(FusedMatMul {
        activation: Activation::parse(ctx.attrs)?,
    }))
}

fn tensor_out(op: &str, v: Vec<Value>) -> Result<edgeopt_tensor::Tensor> {
    match v.into_iter().next() {
        Some(Value::Tensor(t)) => Ok(t),
        _ => bail!("{op}: the product returned no tensor"),
    }
}

/// Activation along the last axis of `t`.
fn activate(a: Option<&Activation>, t: edgeopt_tensor::Tensor) -> Result<Value> {
    let axis = t.rank().saturating_sub(1);
    Ok(match a {
        Some(a) => a.apply_tensor(t, axis)?.into(),
        None => t.into(),
    })
}

impl Op for FusedGemm {
    fn op_type(&self) -> &str {
        "FusedGemm"
    }

    fn domain(&self) -> &str {
        DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        self.gemm.infer(ctx)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let y = tensor_out("FusedGemm", self.gemm.eval(ctx, inputs)?)?;
        Ok(vec![activate(Some(&self.activation), y)?])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let mut c = self.gemm.cost(ctx);
        c.flops += ctx.output_elems(0);
        c
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.activation
            .export(AttrList(self.gemm.attributes()))
            .build()
    }
}

impl Op for FusedMatMul {
    fn op_type(&self) -> &str {
        "FusedMatMul"
    }

    fn domain(&self) -> &str {
        DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let k = ctx.inputs.len().min(2);
        let sub = InferCtx {
            opset: ctx.opset,
            inputs: &ctx.inputs[..k],
            consts: &ctx.consts[..ctx.consts.len().min(2)],
            num_outputs: 1,
        };
        MatMul.infer(&sub)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        if inputs.len() < 2 {
            bail!("FusedMatMul: needs inputs A and B, got {}", inputs.len());
        }
        let ab = Inputs {
            values: &inputs.values[..2],
        };
        let mut y = tensor_out("FusedMatMul", MatMul.eval(ctx, &ab)?)?;
        if let Some(bias) = inputs.opt_tensor(2)? {
            let args = [Some(Value::Tensor(y)), Some(Value::Tensor(bias.clone()))];
            let add = Binary::new(BinaryKind::Add).eval(ctx, &Inputs { values: &args })?;
            y = tensor_out("FusedMatMul", add)?;
        }
        Ok(vec![activate(self.activation.as_ref(), y)?])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let k = ctx.inputs.len().min(2);
        let mut c = MatMul.cost(&CostCtx {
            inputs: &ctx.inputs[..k],
            outputs: ctx.outputs,
            is_param: &ctx.is_param[..ctx.is_param.len().min(2)],
        });
        let per = u64::from(ctx.inputs.len() > 2) + u64::from(self.activation.is_some());
        c.flops += per * ctx.output_elems(0);
        c
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        match &self.activation {
            Some(a) => a.export(AttrList::default()).build(),
            None => Vec::new(),
        }
    }
}

/// Channels of a matrix product's output `y`: its last axis.
fn channels(ed: &Editor, y: ValueId) -> Channels {
    let shape = ed.value_type(y).shape().cloned().unwrap_or_default();
    let rank = shape.len().max(1);
    let count = shape.last().and_then(|d| d.known()).unwrap_or(1);
    Channels {
        axis: rank - 1,
        rank,
        count,
    }
}

/// Turns node `n` into `product` writing a fresh value, and returns (name, fresh, y).
fn detach(ed: &mut Editor, n: NodeId, product: Box<dyn Op>) -> Result<(String, ValueId, ValueId)> {
    let node = ed.node(n);
    let name = node.name.clone();
    let Some(y) = node.outputs.first().copied().flatten() else {
        bail!("'{name}' has no output")
    };
    let t = ed.add_value(&format!("{name}_product"), ed.value_type(y).clone());
    ed.set_op(n, product);
    ed.set_output(n, 0, t)?;
    Ok((name, t, y))
}

impl Fused for FusedGemm {
    fn decompose(&self, ed: &mut Editor, n: NodeId, opset: i64) -> Result<()> {
        let (name, t, y) = detach(ed, n, Box::new(self.gemm.clone()))?;
        let ch = channels(ed, y);
        self.activation
            .decompose(ed, &format!("{name}_act"), t, y, ch, opset)
    }
}

impl Fused for FusedMatMul {
    fn decompose(&self, ed: &mut Editor, n: NodeId, opset: i64) -> Result<()> {
        let bias = ed.node(n).inputs.get(2).copied().flatten();
        let ab: Vec<Option<ValueId>> = ed.node(n).inputs.iter().take(2).copied().collect();
        if bias.is_none() && self.activation.is_none() {
            ed.set_inputs(n, ab);
            ed.set_op(n, Box::new(MatMul));
            return Ok(());
        }
        let (name, mut t, y) = detach(ed, n, Box::new(MatMul))?;
        ed.set_inputs(n, ab);
        let ch = channels(ed, y);
        if let Some(b) = bias {
            let out = match self.activation {
                Some(_) => ed.add_value(&format!("{name}_biased"), ed.value_type(y).clone()),
                None => y,
            };
            let add = Box::new(Binary::new(BinaryKind::Add));
            ed.add_node(
                &format!("{name}_bias"),
                add,
                vec![Some(t), Some(b)],
                vec![Some(out)],
            )?;
            t = out;
        }
        match &self.activation {
            Some(a) => a.decompose(ed, &format!("{name}_act"), t, y, ch, opset),
            None => Ok(()),
        }
    }
}
