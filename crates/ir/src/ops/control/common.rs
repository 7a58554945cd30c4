//! Helpers shared by the ops that run subgraphs (If, Loop, Scan, SequenceMap).

use crate::ops::sequence::common::refine;
use crate::{Graph, ValueType};

/// Output types of `body` when fed inputs of types `inputs`: the body's declared output types,
/// refined by running type inference on a copy of the body with those input types. Inference
/// problems inside the body leave the declared types as they are.
pub fn body_output_types(body: &Graph, inputs: &[ValueType], opset: i64) -> Vec<ValueType> {
    let declared: Vec<ValueType> = body
        .outputs
        .iter()
        .map(|o| body.value(*o).ty.clone())
        .collect();
    let mut g = body.clone();
    for (id, t) in body.inputs.iter().zip(inputs) {
        let ty = refine(&g.value(*id).ty, t);
        g.value_mut(*id).ty = ty;
    }
    if crate::infer::infer_types(&mut g, opset).is_err() {
        return declared;
    }
    g.outputs
        .iter()
        .zip(&declared)
        .map(|(o, d)| refine(d, &g.value(*o).ty))
        .collect()
}

/// Small graphs and ops for the control-flow unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::op::{EvalCtx, InferCtx, Inputs, Op};
    use crate::ops::util::{broadcast_map, infer_broadcast};
    use crate::{Graph, Result, Value, ValueType};

    /// f32 addition with broadcasting, standing in for the real Add in these tests.
    #[derive(Clone, Debug)]
    pub struct TestAdd;

    impl Op for TestAdd {
        fn op_type(&self) -> &str {
            "TestAdd"
        }
        fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
            Ok(vec![infer_broadcast(ctx.inputs, None)?])
        }
        fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
            let y = broadcast_map(inputs.tensor(0)?, inputs.tensor(1)?, |a: f32, b: f32| a + b)?;
            Ok(vec![y.into()])
        }
    }

    /// Passes its input through (any value kind).
    #[derive(Clone, Debug)]
    pub struct TestIdentity;

    impl Op for TestIdentity {
        fn op_type(&self) -> &str {
            "TestIdentity"
        }
        fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
            Ok(vec![ctx.input(0).clone()])
        }
        fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
            Ok(vec![inputs
                .value(0)
                .cloned()
                .ok_or_else(|| crate::IrError::Op("missing".into()))?])
        }
    }

    /// One node for [`graph`]: the op, its input names and its output names.
    pub type TestNode<'a> = (Box<dyn Op>, &'a [&'a str], &'a [&'a str]);

    /// Builds a graph: typed inputs, nodes as (op, input names, output names), output names.
    /// Names that are neither inputs nor node outputs become captures of the enclosing scope.
    pub fn graph(
        name: &str,
        inputs: &[(&str, ValueType)],
        nodes: Vec<TestNode>,
        outputs: &[&str],
    ) -> Graph {
        let mut g = Graph::new(name);
        for (n, t) in inputs {
            let id = g.add_value(n, t.clone());
            g.inputs.push(id);
        }
        let produced: Vec<&str> = nodes
            .iter()
            .flat_map(|(_, _, o)| o.iter().copied())
            .collect();
        for (i, (op, ins, outs)) in nodes.into_iter().enumerate() {
            let ins = ins
                .iter()
                .map(|n| {
                    let known = g.find(n).is_some();
                    let id = g.value_named(n);
                    if !known && !produced.contains(n) {
                        g.captures.push(id);
                    }
                    Some(id)
                })
                .collect();
            let outs = outs.iter().map(|n| Some(g.value_named(n))).collect();
            g.add_node(&format!("n{i}"), op, ins, outs);
        }
        g.outputs = outputs.iter().map(|n| g.value_named(n)).collect();
        g
    }
}
