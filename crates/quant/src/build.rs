//! Small graph-building helpers shared by the rewrites: ops from the IR registry, unique node
//! names, opset upgrades.

use crate::{QuantError, Result};
use edgeopt_ir::{Attribute, Attrs, BuildCtx, Graph, Model, Op, Registry, ValueId, ValueType};
use std::collections::{BTreeMap, HashSet};

/// Builds a default-domain op from its attributes with the IR registry (so the reference
/// executor can run it).
pub fn make_op(
    op_type: &str,
    attrs: Vec<(&str, Attribute)>,
    num_inputs: usize,
    opset: i64,
) -> Result<Box<dyn Op>> {
    let map: BTreeMap<String, Attribute> =
        attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut attrs = Attrs::new(map);
    let mut ctx = BuildCtx {
        opset,
        attrs: &mut attrs,
        num_inputs,
        num_outputs: 1,
    };
    Ok(Registry::global().build("", op_type, &mut ctx)?)
}

/// Adds nodes with names unique in the graph (ONNX Runtime refuses duplicates).
pub struct NodeAdder {
    names: HashSet<String>,
    pub opset: i64,
}

impl NodeAdder {
    pub fn new(g: &Graph, opset: i64) -> Self {
        NodeAdder {
            names: g.nodes.iter().map(|n| n.name.clone()).collect(),
            opset,
        }
    }

    pub fn unique(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while !self.names.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    /// Adds `op_type` reading `inputs` and writing `output`.
    pub fn add(
        &mut self,
        g: &mut Graph,
        name: &str,
        op_type: &str,
        attrs: Vec<(&str, Attribute)>,
        inputs: Vec<Option<ValueId>>,
        output: ValueId,
    ) -> Result<()> {
        let op = make_op(op_type, attrs, inputs.len(), self.opset)?;
        let name = self.unique(name);
        g.add_node(&name, op, inputs, vec![Some(output)]);
        Ok(())
    }

    /// Adds `op_type` with a fresh output value of type `ty` named after `out_name`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_fresh(
        &mut self,
        g: &mut Graph,
        name: &str,
        op_type: &str,
        attrs: Vec<(&str, Attribute)>,
        inputs: Vec<Option<ValueId>>,
        out_name: &str,
        ty: ValueType,
    ) -> Result<ValueId> {
        let out = g.add_value(out_name, ty);
        self.add(g, name, op_type, attrs, inputs, out)?;
        Ok(out)
    }
}

/// Raises the default-domain opset to at least `min`, rewriting the ops whose definition changes
/// on the way (`edgeopt_onnx::upgrade_opset`); the model is untouched when that is impossible.
pub fn ensure_opset(model: &mut Model, min: i64) -> Result<()> {
    let cur = model.opset();
    if cur >= min {
        return Ok(());
    }
    edgeopt_onnx::upgrade_opset(model, min).map_err(|e| {
        QuantError::Config(format!(
            "this needs opset {min} but the model is opset {cur}: {e} (convert the model first)"
        ))
    })?;
    Ok(())
}

/// Sorts, checks and re-infers types after a rewrite.
pub fn finish(model: &mut Model) -> Result<()> {
    model.graph.topo_sort()?;
    model.graph.check()?;
    let opset = model.opset();
    edgeopt_ir::infer::infer_types(&mut model.graph, opset)?;
    Ok(())
}
