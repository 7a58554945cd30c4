//! If: runs one of two subgraphs depending on a boolean condition.
//! Spec: <https://onnx.ai/onnx/operators/onnx__If.html>
//!
//! Attributes: `then_branch`, `else_branch` (graphs without inputs; both have as many outputs as
//! the node, of matching types; they read outer values by name). Input: `cond`, a one-element
//! bool tensor. Outputs: the chosen branch's outputs (tensors, and since opset 13 sequences,
//! since opset 16 optionals). Opsets 1, 11 (shapes of the branches may differ), 13, 16, 19, 21,
//! 23, 24, 25: later versions only widen the element types.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::control::common::body_output_types;
use crate::ops::sequence::common::{scalar_bool, unify};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Graph, Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct If {
    pub then_branch: Graph,
    pub else_branch: Graph,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let then_branch = ctx.attrs.req_graph("then_branch")?;
    let else_branch = ctx.attrs.req_graph("else_branch")?;
    for (name, g) in [("then_branch", &then_branch), ("else_branch", &else_branch)] {
        if g.outputs.len() != ctx.num_outputs {
            bail!(
                "If: {name} has {} outputs but the node has {}",
                g.outputs.len(),
                ctx.num_outputs
            );
        }
    }
    Ok(Box::new(If {
        then_branch,
        else_branch,
    }))
}

impl Op for If {
    fn op_type(&self) -> &str {
        "If"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let t = body_output_types(&self.then_branch, &[], ctx.opset);
        let e = body_output_types(&self.else_branch, &[], ctx.opset);
        // A constant condition picks one branch statically; otherwise the types must cover both.
        let pick = ctx.konst(0).and_then(|c| scalar_bool(c, "If: cond").ok());
        Ok(match pick {
            Some(true) => t,
            Some(false) => e,
            None => t.iter().zip(&e).map(|(a, b)| unify(a, b)).collect(),
        })
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let cond = scalar_bool(inputs.tensor(0)?, "If: cond")?;
        let branch = if cond {
            &self.then_branch
        } else {
            &self.else_branch
        };
        let outs = ctx.run_subgraph(branch, Vec::new())?;
        if outs.len() != ctx.num_outputs {
            bail!(
                "If: the branch produced {} outputs, the node has {}",
                outs.len(),
                ctx.num_outputs
            );
        }
        Ok(outs)
    }

    fn cost(&self, _ctx: &crate::CostCtx) -> crate::Cost {
        crate::Cost::default()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .graph("then_branch", &self.then_branch)
            .graph("else_branch", &self.else_branch)
            .build()
    }

    fn subgraphs(&self) -> Vec<&Graph> {
        vec![&self.then_branch, &self.else_branch]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::run_scoped;
    use crate::ops::control::common::testing::{graph, TestAdd, TestIdentity};
    use crate::ops::sequence::sequence_construct::SequenceConstruct;
    use edgeopt_tensor::{DType, Dim, Tensor};

    /// Outer graph: y = If(cond) { x + x } else { SequenceConstruct(x) -> seq } over input x.
    fn model(then_seq: bool) -> Graph {
        let f = ValueType::known(DType::F32, &[2]);
        let then_b = if then_seq {
            graph(
                "then",
                &[],
                vec![(Box::new(SequenceConstruct), &["x"], &["s"])],
                &["s"],
            )
        } else {
            graph(
                "then",
                &[],
                vec![(Box::new(TestAdd), &["x", "x"], &["s"])],
                &["s"],
            )
        };
        let else_b = graph(
            "else",
            &[],
            vec![(Box::new(TestIdentity), &["x"], &["e"])],
            &["e"],
        );
        let mut op = If {
            then_branch: then_b,
            else_branch: else_b,
        };
        // The importer types captured values from the outer graph; do the same here.
        for g in [&mut op.then_branch, &mut op.else_branch] {
            let x = g.find("x").unwrap();
            g.value_mut(x).ty = f.clone();
        }
        let b = ValueType::known(DType::Bool, &[]);
        graph(
            "main",
            &[("cond", b), ("x", f)],
            vec![(Box::new(op), &["cond", "x"], &["y"])],
            &["y"],
        )
    }

    fn run(g: &Graph, cond: bool) -> Vec<Value> {
        let x = Tensor::vec1(vec![1f32, 2.]);
        run_scoped(g, vec![Tensor::scalar(cond).into(), x.into()], None, 16).unwrap()
    }

    #[test]
    fn runs_the_chosen_branch_with_outer_values() {
        let g = model(false);
        assert_eq!(
            run(&g, true)[0]
                .as_tensor()
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            vec![2., 4.]
        );
        assert_eq!(
            run(&g, false)[0]
                .as_tensor()
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            vec![1., 2.]
        );
        let g = model(true);
        assert!(matches!(&run(&g, true)[0], Value::Sequence(s) if s.len() == 1));
    }

    #[test]
    fn infers_from_branch_types() {
        let mut g = model(false);
        // The branches declare no output types; inference runs the bodies.
        crate::infer::infer_types(&mut g, 16).unwrap();
        let y = g.find("y").unwrap();
        assert_eq!(
            g.value(y).ty,
            ValueType::tensor(DType::F32, vec![Dim::Known(2)])
        );
    }

    #[test]
    fn refuses_non_scalar_condition() {
        let g = model(false);
        let cond = Tensor::vec1(vec![true, false]);
        let x = Tensor::vec1(vec![1f32, 2.]);
        assert!(run_scoped(&g, vec![cond.into(), x.into()], None, 16).is_err());
    }
}
