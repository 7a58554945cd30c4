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

/// Ops whose new versions between opsets 13 and 21 only add types, or attributes / optional
/// inputs whose defaults keep the old behavior (from the ONNX changelog), so re-declaring a
/// model at a newer opset does not change what they compute.
const SAME_MEANING_13_TO_21: &[&str] = &[
    "Relu",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Identity",
    "Cast",
    "CastLike",
    "Constant",
    "ConstantOfShape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Reshape",
    "Shape",
    "Size",
    "Where",
    "Equal",
    "Less",
    "LessOrEqual",
    "Greater",
    "GreaterOrEqual",
    "BatchNormalization",
    "Pad",
    "Resize",
    "QuantizeLinear",
    "DequantizeLinear",
    "Trilu",
    "CumSum",
    "Scan",
];

/// Raises the default-domain opset to at least `min` when no op of the model changes meaning.
pub fn ensure_opset(model: &mut Model, min: i64) -> Result<()> {
    let cur = model.opset();
    if cur >= min {
        return Ok(());
    }
    let conflicts: Vec<String> = edgeopt_onnx::opset_change_conflicts(&model.graph, cur, min)
        .into_iter()
        .filter(|c| {
            !(cur >= 13
                && min <= 21
                && SAME_MEANING_13_TO_21.contains(&c.split(' ').next().unwrap_or("")))
        })
        .collect();
    if !conflicts.is_empty() {
        return Err(QuantError::Config(format!(
            "this needs opset {min} but the model is opset {cur}, and these ops change meaning \
             between them: {} (convert the model first)",
            conflicts.join(", ")
        )));
    }
    match model
        .opsets
        .iter_mut()
        .find(|(d, _)| d.is_empty() || d == "ai.onnx")
    {
        Some(o) => o.1 = min,
        None => model.opsets.push((String::new(), min)),
    }
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
