//! FusedElementwise (domain `com.edgeopt`): a chain of element-wise ops on one tensor as one
//! node, so a runtime makes one pass over memory instead of one per op.
//!
//! The chain is a small expression list: each step is a standard element-wise op whose
//! arguments are the node's input, an earlier step's result or a constant; the node's output
//! is the last step's result. Every step keeps the input's shape and dtype (constants broadcast
//! into it), so the output has the input's type.
//!
//! Export: attribute `body`, a graph with one input and the steps as nodes (constants as its
//! initializers); `decompose` writes the steps back as standard nodes.

use super::{Fused, DOMAIN};
use crate::rewrite::Editor;
use edgeopt_ir::attr::AttrList;
use edgeopt_ir::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs};
use edgeopt_ir::{bail, Attribute, BuildCtx, Graph, NodeId, Op, Result, Value, ValueId, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug)]
pub enum Arg {
    /// The fused node's input.
    Input,
    /// The result of an earlier step.
    Step(usize),
    Const(Tensor),
}

#[derive(Clone, Debug)]
pub struct Step {
    pub op: Box<dyn Op>,
    pub args: Vec<Option<Arg>>,
}

#[derive(Clone, Debug)]
pub struct FusedElementwise {
    pub steps: Vec<Step>,
}

impl FusedElementwise {
    /// The steps as a graph: input `x`, output the last step's result.
    pub fn body(&self) -> Graph {
        let mut g = Graph::new("body");
        let x = g.add_value("x", ValueType::Unknown);
        g.inputs.push(x);
        let mut results: Vec<ValueId> = Vec::new();
        for (k, s) in self.steps.iter().enumerate() {
            let inputs = s
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| match a {
                    None => None,
                    Some(Arg::Input) => Some(x),
                    Some(Arg::Step(j)) => results.get(*j).copied(),
                    Some(Arg::Const(t)) => Some(g.add_initializer(&format!("c{k}_{i}"), t.clone())),
                })
                .collect();
            let y = g.add_value(&format!("s{k}"), ValueType::Unknown);
            g.add_node(&format!("step{k}"), s.op.clone(), inputs, vec![Some(y)]);
            results.push(y);
        }
        if let Some(&y) = results.last() {
            g.outputs.push(y);
        }
        g
    }

    /// The inverse of [`FusedElementwise::body`].
    pub fn from_body(g: &Graph) -> Result<FusedElementwise> {
        let Some(&x) = g.inputs.first() else {
            bail!("FusedElementwise: the body has no input")
        };
        let mut steps = Vec::new();
        let mut results: Vec<ValueId> = Vec::new();
        for n in &g.nodes {
            let args = n
                .inputs
                .iter()
                .map(|v| match v {
                    None => Ok(None),
                    Some(v) if *v == x => Ok(Some(Arg::Input)),
                    Some(v) => match (g.initializers.get(v), results.iter().position(|r| r == v)) {
                        (Some(t), _) => Ok(Some(Arg::Const(t.clone()))),
                        (None, Some(j)) => Ok(Some(Arg::Step(j))),
                        _ => bail!(
                            "FusedElementwise: body reads unknown '{}'",
                            g.value(*v).name
                        ),
                    },
                })
                .collect::<Result<_>>()?;
            let Some(Some(y)) = n.outputs.first() else {
                bail!("FusedElementwise: body node '{}' has no output", n.name)
            };
            results.push(*y);
            steps.push(Step {
                op: n.op.clone(),
                args,
            });
        }
        if steps.is_empty() || g.outputs.first() != results.last() {
            bail!("FusedElementwise: the body's output must be its last node's");
        }
        Ok(FusedElementwise { steps })
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let body = ctx.attrs.req_graph("body")?;
    Ok(Box::new(FusedElementwise::from_body(&body)?))
}

impl Op for FusedElementwise {
    fn op_type(&self) -> &str {
        "FusedElementwise"
    }

    fn domain(&self) -> &str {
        DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let mut results: Vec<Value> = Vec::with_capacity(self.steps.len());
        for s in &self.steps {
            let args: Vec<Option<Value>> = s
                .args
                .iter()
                .map(|a| match a {
                    None => Ok(None),
                    Some(Arg::Input) => Ok(Some(Value::Tensor(x.clone()))),
                    Some(Arg::Const(t)) => Ok(Some(Value::Tensor(t.clone()))),
                    Some(Arg::Step(j)) => match results.get(*j) {
                        Some(v) => Ok(Some(v.clone())),
                        None => bail!("FusedElementwise: step reads a later step {j}"),
                    },
                })
                .collect::<Result<_>>()?;
            let sub = EvalCtx {
                opset: ctx.opset,
                num_outputs: 1,
                scope: ctx.scope,
            };
            let y = s.op.eval(&sub, &Inputs { values: &args })?;
            match y.into_iter().next() {
                Some(v) => results.push(v),
                None => bail!("FusedElementwise: step {} returned nothing", s.op.op_type()),
            }
        }
        match results.pop() {
            Some(v) => Ok(vec![v]),
            None => bail!("FusedElementwise: no steps"),
        }
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(self.steps.len() as u64)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().graph("body", &self.body()).build()
    }
}

impl Fused for FusedElementwise {
    fn decompose(&self, ed: &mut Editor, n: NodeId, _opset: i64) -> Result<()> {
        let node = ed.node(n);
        let name = node.name.clone();
        let (Some(x), Some(y)) = (
            node.inputs.first().copied().flatten(),
            node.outputs.first().copied().flatten(),
        ) else {
            bail!("FusedElementwise '{name}' needs one input and one output")
        };
        let ty = ed.value_type(x).clone();
        ed.remove_node(n);
        let mut results: Vec<ValueId> = Vec::new();
        for (k, s) in self.steps.iter().enumerate() {
            let mut inputs = Vec::with_capacity(s.args.len());
            for (i, a) in s.args.iter().enumerate() {
                inputs.push(match a {
                    None => None,
                    Some(Arg::Input) => Some(x),
                    Some(Arg::Step(j)) => results.get(*j).copied(),
                    Some(Arg::Const(t)) => {
                        Some(ed.add_initializer(&format!("{name}_c{k}_{i}"), t.clone()))
                    }
                });
            }
            let out = if k + 1 == self.steps.len() {
                y
            } else {
                ed.add_value(&format!("{name}_s{k}"), ty.clone())
            };
            ed.add_node(
                &format!("{name}_{k}"),
                s.op.clone(),
                inputs,
                vec![Some(out)],
            )?;
            results.push(out);
        }
        Ok(())
    }
}
