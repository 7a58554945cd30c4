//! Gradient (ai.onnx.preview.training, v1): gradients of tensor `y` of the enclosing graph with
//! respect to the tensors named in `xs`, computed by re-running the forward nodes between them
//! and applying each op's vector-Jacobian product in reverse.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxpreviewtraining_Gradient.html>
//!
//! Inputs: the values of `xs` then `zs` (other graph inputs the forward pass needs).
//! Outputs: dY/dX for each of `xs`, shaped like X. Supported forward ops: Add, Sub, Mul, Div,
//! Neg, Identity, Relu (the training engine will bring the full set of gradient rules).

use crate::exec::Scope;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Graph, Result, Value, ValueType};
use edgeopt_tensor::shape::{broadcast_strides, strides};
use edgeopt_tensor::{DType, Tensor};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct Gradient {
    pub xs: Vec<String>,
    pub zs: Vec<String>,
    pub y: String,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let xs = ctx.attrs.strings("xs")?.unwrap_or_default();
    let zs = ctx.attrs.strings("zs")?.unwrap_or_default();
    let y = ctx
        .attrs
        .string("y")?
        .ok_or_else(|| crate::IrError::Op("Gradient: attribute 'y' is required".into()))?;
    if xs.is_empty() {
        bail!("Gradient: attribute 'xs' must name at least one tensor");
    }
    Ok(Box::new(Gradient { xs, zs, y }))
}

/// Sums `g` (of the broadcast shape) down to `shape`.
fn unbroadcast(g: &[f64], gshape: &[usize], shape: &[usize]) -> Vec<f64> {
    let mut out = vec![0.0; shape.iter().product()];
    let s = broadcast_strides(shape, gshape);
    let n: usize = gshape.iter().product();
    let gs = strides(gshape);
    for (flat, &v) in g.iter().enumerate().take(n) {
        let mut off = 0;
        let mut rem = flat;
        for d in 0..gshape.len() {
            let i = rem / gs[d];
            rem %= gs[d];
            off += i * s[d];
        }
        out[off] += v;
    }
    out
}

/// Reads `t` broadcast to `shape` as f64.
fn expand(t: &Tensor, shape: &[usize]) -> Result<Vec<f64>> {
    let v = t.to_f64_vec()?;
    let s = broadcast_strides(t.shape(), shape);
    let gs = strides(shape);
    let n: usize = shape.iter().product();
    Ok((0..n)
        .map(|flat| {
            let (mut off, mut rem) = (0, flat);
            for d in 0..shape.len() {
                off += (rem / gs[d]) * s[d];
                rem %= gs[d];
            }
            v[off]
        })
        .collect())
}

/// Vector-Jacobian product of one node: gradients for its (first two) inputs given `gy`.
fn vjp(op: &str, ins: &[Tensor], out: &Tensor, gy: &[f64]) -> Result<Vec<Vec<f64>>> {
    let oshape = out.shape();
    let un = |g: Vec<f64>, i: usize| unbroadcast(&g, oshape, ins[i].shape());
    Ok(match op {
        "Identity" => vec![gy.to_vec()],
        "Neg" => vec![gy.iter().map(|g| -g).collect()],
        "Relu" => {
            let x = ins[0].to_f64_vec()?;
            vec![gy
                .iter()
                .zip(&x)
                .map(|(g, x)| if *x > 0.0 { *g } else { 0.0 })
                .collect()]
        }
        "Add" => vec![un(gy.to_vec(), 0), un(gy.to_vec(), 1)],
        "Sub" => vec![un(gy.to_vec(), 0), un(gy.iter().map(|g| -g).collect(), 1)],
        "Mul" => {
            let (a, b) = (expand(&ins[0], oshape)?, expand(&ins[1], oshape)?);
            vec![
                un(gy.iter().zip(&b).map(|(g, b)| g * b).collect(), 0),
                un(gy.iter().zip(&a).map(|(g, a)| g * a).collect(), 1),
            ]
        }
        "Div" => {
            let (a, b) = (expand(&ins[0], oshape)?, expand(&ins[1], oshape)?);
            vec![
                un(gy.iter().zip(&b).map(|(g, b)| g / b).collect(), 0),
                un(
                    gy.iter()
                        .zip(a.iter().zip(&b))
                        .map(|(g, (a, b))| -g * a / (b * b))
                        .collect(),
                    1,
                ),
            ]
        }
        other => bail!("Gradient: no gradient rule for {other} yet"),
    })
}

impl Gradient {
    fn compute(&self, graph: &Graph, scope: &Scope, inputs: &Inputs) -> Result<Vec<Tensor>> {
        let mut vals: HashMap<String, Tensor> = HashMap::new();
        for (i, name) in self.xs.iter().chain(&self.zs).enumerate() {
            vals.insert(name.clone(), inputs.tensor(i)?.clone());
        }
        // Forward: nodes (in topological order) that lead to y, re-evaluated from xs and zs.
        let mut tape = Vec::new();
        for node in &graph.nodes {
            if node.op.op_type() == "Gradient" {
                continue;
            }
            let names: Vec<String> = node
                .inputs
                .iter()
                .flatten()
                .map(|v| graph.value(*v).name.clone())
                .collect();
            let mut args = Vec::new();
            for n in &names {
                let t = match vals.get(n) {
                    Some(t) => t.clone(),
                    None => match graph.find(n).and_then(|id| graph.initializers.get(&id)) {
                        Some(t) => t.clone(),
                        None => match scope.lookup(n) {
                            Some(Value::Tensor(t)) => t,
                            _ => continue,
                        },
                    },
                };
                args.push(Some(Value::Tensor(t)));
            }
            if args.len() != names.len() {
                continue;
            }
            let ectx = EvalCtx {
                opset: 1,
                num_outputs: node.outputs.len(),
                scope,
            };
            let outs = node.op.eval(&ectx, &Inputs { values: &args })?;
            let out_names: Vec<String> = node
                .outputs
                .iter()
                .flatten()
                .map(|v| graph.value(*v).name.clone())
                .collect();
            for (n, v) in out_names.iter().zip(outs) {
                if let Value::Tensor(t) = v {
                    vals.insert(n.clone(), t);
                }
            }
            tape.push((node.op.op_type().to_string(), names, out_names));
            if vals.contains_key(&self.y) && tape.last().is_some_and(|t| t.2.contains(&self.y)) {
                break;
            }
        }
        let y = vals.get(&self.y).ok_or_else(|| {
            crate::IrError::Op(format!(
                "Gradient: '{}' is not computable from xs/zs",
                self.y
            ))
        })?;
        let mut grads: HashMap<String, Vec<f64>> = HashMap::new();
        grads.insert(self.y.clone(), vec![1.0; y.len()]);
        for (op, ins, outs) in tape.iter().rev() {
            let Some(gy) = outs.first().and_then(|o| grads.get(o)).cloned() else {
                continue;
            };
            let in_t: Vec<Tensor> = ins.iter().map(|n| vals[n].clone()).collect();
            let gs = vjp(op, &in_t, &vals[&outs[0]], &gy)?;
            for (n, g) in ins.iter().zip(gs) {
                let e = grads.entry(n.clone()).or_insert_with(|| vec![0.0; g.len()]);
                e.iter_mut().zip(&g).for_each(|(a, b)| *a += b);
            }
        }
        self.xs
            .iter()
            .map(|x| {
                let t = &vals[x];
                let g = grads.get(x).cloned().unwrap_or_else(|| vec![0.0; t.len()]);
                Ok(Tensor::from_f64s(t.dtype(), t.shape().to_vec(), &g)?)
            })
            .collect()
    }
}

impl Op for Gradient {
    fn op_type(&self) -> &str {
        "Gradient"
    }

    fn domain(&self) -> &str {
        super::common::DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok((0..ctx.num_outputs).map(|i| ctx.input(i).clone()).collect())
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        for i in 0..self.xs.len() {
            let dt = inputs.tensor(i)?.dtype();
            if !matches!(dt, DType::F32 | DType::F64 | DType::F16 | DType::BF16) {
                bail!(
                    "Gradient: '{}' is {dt}; only float tensors have gradients",
                    self.xs[i]
                );
            }
        }
        Ok(self
            .compute(ctx.scope.graph(), ctx.scope, inputs)?
            .into_iter()
            .map(Value::Tensor)
            .collect())
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = AttrList::default()
            .strings("xs", &self.xs)
            .string("y", &self.y);
        if !self.zs.is_empty() {
            a = a.strings("zs", &self.zs);
        }
        a.build()
    }
}
