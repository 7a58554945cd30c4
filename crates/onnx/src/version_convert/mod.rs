//! Opset conversion: upgrades a model's default-domain opset (e.g. 11 or 12 -> 13) and rewrites
//! the nodes whose op definition changes on the way, so the model computes the same thing at the
//! new opset. For every node, each definition change crossed between the two opsets must be
//! either known to keep the meaning (`same_meaning.rs`: only new types, or new attributes and
//! optional inputs whose defaults give the old behavior) or handled by a rewrite rule (one file
//! per op family: attributes that became inputs, Softmax's 2-D coercion before 13, ...).
//! Anything else is refused with the list of ops, before the model is touched.
//! Rewritten ops are rebuilt from their attributes at the target opset, as import would do.

mod dropout;
mod reduce;
mod resize;
mod same_meaning;
mod softmax;
mod split;
mod squeeze;

use crate::op_versions::OP_VERSIONS;
use crate::{OnnxError, Result};
use edgeopt_ir::{Attribute, Attrs, BuildCtx, Graph, Model, Node, Registry, ValueId, ValueType};
use edgeopt_tensor::Tensor;
use std::collections::BTreeMap;

/// What a rule sees: the graph, the node being converted (its attributes and inputs as they
/// will be rebuilt at the target opset) and the target opset.
pub(crate) struct Ctx<'a> {
    pub g: &'a mut Graph,
    pub node: usize,
    pub target: i64,
    pub attrs: BTreeMap<String, Attribute>,
    pub inputs: Vec<Option<ValueId>>,
}

impl Ctx<'_> {
    /// Name of the node, for messages.
    pub fn name(&self) -> String {
        let n = &self.g.nodes[self.node];
        format!("{} '{}'", n.op_type(), n.name)
    }

    /// Moves the ints attribute `attr` (if present) into input `index` as an int64 initializer.
    pub fn ints_attr_to_input(&mut self, attr: &str, index: usize) -> Result<()> {
        let Some(a) = self.attrs.remove(attr) else {
            return Ok(());
        };
        let Attribute::Ints(v) = a else {
            return Err(OnnxError::Model(format!(
                "{}: attribute '{attr}' should be ints, is {}",
                self.name(),
                a.kind()
            )));
        };
        let node_name = self.g.nodes[self.node].name.clone();
        let t = Tensor::from_vec(vec![v.len()], v)?;
        let id = self.unique_initializer(&format!("{node_name}_{attr}"), t);
        if self.inputs.len() <= index {
            self.inputs.resize(index + 1, None);
        }
        self.inputs[index] = Some(id);
        Ok(())
    }

    /// Adds an initializer under a name no value of the graph has yet.
    pub fn unique_initializer(&mut self, base: &str, t: Tensor) -> ValueId {
        let name = self.unique_value_name(base);
        self.g.add_initializer(&name, t)
    }

    /// A value name not used in the graph.
    pub fn unique_value_name(&self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while self.g.find(&name).is_some() {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    /// Adds a default-domain node built at the target opset, writing a fresh value.
    pub fn add_node(
        &mut self,
        op_type: &str,
        attrs: Vec<(&str, Attribute)>,
        inputs: Vec<Option<ValueId>>,
        out_name: &str,
        ty: ValueType,
    ) -> Result<ValueId> {
        let op = build_op(op_type, attrs_map(attrs), inputs.len(), 1, self.target)?;
        let out_name = self.unique_value_name(out_name);
        let out = self.g.add_value(&out_name, ty);
        let base = format!("{}_{op_type}", self.g.nodes[self.node].name);
        let mut name = base.clone();
        let mut k = 1;
        while self.g.nodes.iter().any(|n| n.name == name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.g.add_node(&name, op, inputs, vec![Some(out)]);
        Ok(out)
    }
}

fn attrs_map(attrs: Vec<(&str, Attribute)>) -> BTreeMap<String, Attribute> {
    attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Builds a default-domain op at `opset` from `attrs`; attributes it does not read are an error.
fn build_op(
    op_type: &str,
    attrs: BTreeMap<String, Attribute>,
    num_inputs: usize,
    num_outputs: usize,
    opset: i64,
) -> Result<Box<dyn edgeopt_ir::Op>> {
    let mut attrs = Attrs::new(attrs);
    let mut ctx = BuildCtx {
        opset,
        attrs: &mut attrs,
        num_inputs,
        num_outputs,
    };
    let op = Registry::global().build("", op_type, &mut ctx)?;
    let left = attrs.leftover();
    if !left.is_empty() {
        return Err(OnnxError::Model(format!(
            "{op_type} at opset {opset} has no attribute(s) {}",
            left.join(", ")
        )));
    }
    Ok(op)
}

/// A rewrite for the definition change of `op_types` at opset `version`.
pub(crate) struct Rule {
    pub op_types: &'static [&'static str],
    pub version: i64,
    pub apply: fn(&mut Ctx) -> Result<()>,
}

fn rules() -> Vec<Rule> {
    let mut r = Vec::new();
    r.extend(squeeze::rules());
    r.extend(reduce::rules());
    r.extend(split::rules());
    r.extend(softmax::rules());
    r.extend(resize::rules());
    r.extend(dropout::rules());
    r
}

/// The definition changes of `op` in `(from, to]`, as opsets.
fn crossed(op: &str, from: i64, to: i64) -> Vec<i64> {
    OP_VERSIONS
        .iter()
        .find(|(n, _)| *n == op)
        .map(|(_, vs)| {
            vs.iter()
                .copied()
                .filter(|&v| v > from && v <= to)
                .collect()
        })
        .unwrap_or_default()
}

/// What [`upgrade_opset`] did.
#[derive(Clone, Debug, Default)]
pub struct ConvertReport {
    pub from: i64,
    pub to: i64,
    /// Nodes rewritten by a rule: `(node name, op type)`.
    pub rewritten: Vec<(String, String)>,
    /// Nodes rebuilt at the new opset with the same attributes.
    pub rebuilt: usize,
}

/// Ops of `graph` that cannot be converted from `from` to `to` (empty: convertible).
pub fn upgrade_blockers(graph: &Graph, from: i64, to: i64) -> Vec<String> {
    let rules = rules();
    let mut out = Vec::new();
    collect_blockers(graph, from, to, &rules, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect_blockers(g: &Graph, from: i64, to: i64, rules: &[Rule], out: &mut Vec<String>) {
    collect(g, from, to, rules, true, out)
}

/// Subgraph nodes are not rewritten (only changes that keep the meaning pass there).
fn collect(g: &Graph, from: i64, to: i64, rules: &[Rule], top: bool, out: &mut Vec<String>) {
    for n in &g.nodes {
        if n.op.domain().is_empty() {
            let op = n.op_type();
            if !OP_VERSIONS.iter().any(|(o, _)| *o == op) {
                out.push(format!("{op} (not a standard op)"));
            }
            for v in crossed(op, from, to) {
                let handled = same_meaning::keeps_meaning(op, v)
                    || (top
                        && rules
                            .iter()
                            .any(|r| r.version == v && r.op_types.contains(&op)));
                if !handled {
                    let place = if top { "" } else { " in a subgraph" };
                    out.push(format!("{op} (changes at opset {v}){place}"));
                }
            }
        }
        for sg in n.op.subgraphs() {
            collect(sg, from, to, rules, false, out);
        }
    }
}

/// Upgrades the default-domain opset of `model` to `target`, rewriting nodes whose definition
/// changes. Refuses (leaving the model untouched) when some op has no known conversion, and
/// never downgrades. Types are re-inferred afterwards.
pub fn upgrade_opset(model: &mut Model, target: i64) -> Result<ConvertReport> {
    let from = model.opset();
    let mut report = ConvertReport {
        from,
        to: target,
        ..Default::default()
    };
    if target == from {
        return Ok(report);
    }
    if target < from {
        return Err(OnnxError::Model(format!(
            "cannot convert opset {from} down to {target} (only upgrades are supported)"
        )));
    }
    if target > crate::MAX_OPSET {
        return Err(OnnxError::Model(format!(
            "opset {target} is newer than the newest supported ({})",
            crate::MAX_OPSET
        )));
    }
    let blockers = upgrade_blockers(&model.graph, from, target);
    if !blockers.is_empty() {
        return Err(OnnxError::Model(format!(
            "cannot convert opset {from} to {target}: no conversion for {}",
            blockers.join(", ")
        )));
    }
    let mut g = model.graph.clone();
    let rules = rules();
    let count = g.nodes.len();
    for i in 0..count {
        if !g.nodes[i].op.domain().is_empty() {
            continue;
        }
        let op = g.nodes[i].op_type().to_string();
        let versions = crossed(&op, from, target);
        if versions.is_empty() {
            continue;
        }
        let mut ctx = Ctx {
            attrs: g.nodes[i].op.attributes().into_iter().collect(),
            inputs: g.nodes[i].inputs.clone(),
            g: &mut g,
            node: i,
            target,
        };
        let mut rewritten = false;
        for v in versions {
            if let Some(rule) = rules
                .iter()
                .find(|r| r.version == v && r.op_types.contains(&op.as_str()))
            {
                (rule.apply)(&mut ctx)?;
                rewritten = true;
            }
        }
        let (attrs, inputs) = (ctx.attrs, ctx.inputs);
        let num_outputs = g.nodes[i].outputs.len();
        let new_op = build_op(&op, attrs, inputs.len(), num_outputs, target)
            .map_err(|e| OnnxError::Model(format!("converting {op} '{}': {e}", g.nodes[i].name)))?;
        let n: &mut Node = &mut g.nodes[i];
        n.op = new_op;
        n.inputs = inputs;
        if rewritten {
            report.rewritten.push((n.name.clone(), op));
        } else {
            report.rebuilt += 1;
        }
    }
    g.topo_sort()?;
    g.check()?;
    edgeopt_ir::infer::infer_types(&mut g, target)?;
    model.graph = g;
    match model
        .opsets
        .iter_mut()
        .find(|(d, _)| d.is_empty() || d == "ai.onnx")
    {
        Some(o) => o.1 = target,
        None => model.opsets.push((String::new(), target)),
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
