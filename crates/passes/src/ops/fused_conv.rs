//! FusedConv (domain `com.edgeopt`): `activation(Conv(X, W, B))` in one node, so a runtime
//! applies the activation while the convolution's output is still in cache.
//!
//! Attributes: Conv's, plus `activation` (string) and `activation_params` (floats), the way
//! ONNX Runtime's `com.microsoft::FusedConv` spells them. Inputs and output: Conv's.

use super::activation::{Activation, Channels};
use super::{Fused, DOMAIN};
use crate::rewrite::Editor;
use edgeopt_ir::attr::AttrList;
use edgeopt_ir::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs};
use edgeopt_ir::ops::nn::conv::{self, Conv};
use edgeopt_ir::{bail, Attribute, BuildCtx, NodeId, Op, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct FusedConv {
    pub conv: Conv,
    pub activation: Activation,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let Some(activation) = Activation::parse(ctx.attrs)? else {
        bail!("FusedConv: attribute 'activation' is missing");
    };
    let op = conv::build(ctx)?;
    match op.downcast_ref::<Conv>() {
        Some(conv) => Ok(Box::new(FusedConv {
            conv: conv.clone(),
            activation,
        })),
        None => bail!("FusedConv: the Conv builder returned a {}", op.op_type()),
    }
}

impl Op for FusedConv {
    fn op_type(&self) -> &str {
        "FusedConv"
    }

    fn domain(&self) -> &str {
        DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        self.conv.infer(ctx)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let y = self.conv.eval(ctx, inputs)?;
        match y.into_iter().next() {
            Some(Value::Tensor(t)) => Ok(vec![self.activation.apply_tensor(t, 1)?.into()]),
            _ => bail!("FusedConv: Conv returned no tensor"),
        }
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let mut c = self.conv.cost(ctx);
        c.flops += ctx.output_elems(0);
        c
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let l = AttrList(self.conv.attributes());
        self.activation.export(l).build()
    }
}

impl Fused for FusedConv {
    fn decompose(&self, ed: &mut Editor, n: NodeId, opset: i64) -> Result<()> {
        let node = ed.node(n);
        let (name, y) = (node.name.clone(), node.outputs.first().copied().flatten());
        let Some(y) = y else {
            bail!("FusedConv '{name}' has no output")
        };
        let w = node.inputs.get(1).copied().flatten();
        let rank = w
            .and_then(|w| ed.value_type(w).shape().map(|s| s.len()))
            .unwrap_or(4);
        let count = w
            .and_then(|w| ed.shape(w))
            .and_then(|s| s.first().copied())
            .unwrap_or(1);
        let t = ed.add_value(&format!("{name}_conv"), ed.value_type(y).clone());
        ed.set_op(n, Box::new(self.conv.clone()));
        ed.set_output(n, 0, t)?;
        let ch = Channels {
            axis: 1,
            rank,
            count,
        };
        self.activation
            .decompose(ed, &format!("{name}_act"), t, y, ch, opset)
    }
}
