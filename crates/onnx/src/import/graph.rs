//! Phase: GraphProto -> Graph. Builds values and ops, resolves outer-scope captures of
//! subgraphs, and collects every unsupported op instead of stopping at the first.

use super::attrs::{convert, densify};
use super::functions::{inline_functions, Functions};
use crate::proto::GraphProto;
use crate::tensor::tensor_from_proto;
use crate::types::type_from_proto;
use crate::{OnnxError, Result};
use edgeopt_ir::registry::qualified;
use edgeopt_ir::{Attrs, BuildCtx, Graph, IrError, Registry};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

pub struct GraphImporter<'a> {
    pub opsets: HashMap<String, i64>,
    pub base_dir: Option<&'a Path>,
    pub functions: Functions<'a>,
    /// (node name, op) of every node no builder exists for, across all subgraphs.
    pub unsupported: Vec<(String, String)>,
    pub fresh: usize,
    /// Builds ops; the IR's own ops unless the caller passed a larger registry.
    pub registry: &'a Registry,
}

/// Subgraph nesting limit, so hostile files cannot exhaust the stack.
const MAX_NESTING: usize = 64;

impl<'a> GraphImporter<'a> {
    fn opset(&self, domain: &str) -> i64 {
        let d = edgeopt_ir::registry::canonical_domain(domain);
        self.opsets.get(d).copied().unwrap_or(1)
    }

    /// Imports `gp`. `outer` lists the names visible from enclosing graphs, innermost last.
    pub fn import(&mut self, gp: &GraphProto, outer: &[HashSet<String>]) -> Result<Graph> {
        if outer.len() > MAX_NESTING {
            return Err(OnnxError::Model(format!(
                "subgraphs nest deeper than {MAX_NESTING}"
            )));
        }
        let mut g = Graph::new(gp.name.as_deref().unwrap_or(""));
        g.doc = gp.doc_string.clone().unwrap_or_default();
        for tp in &gp.initializer {
            let name = tp.name.clone().unwrap_or_default();
            if g.find(&name)
                .is_some_and(|id| g.initializers.contains_key(&id))
            {
                return Err(OnnxError::Model(format!(
                    "initializer '{name}' is defined twice"
                )));
            }
            let t = tensor_from_proto(tp, self.base_dir)?;
            g.add_initializer(&name, t);
        }
        for sp in &gp.sparse_initializer {
            let name = sp
                .values
                .as_ref()
                .and_then(|v| v.name.clone())
                .unwrap_or_default();
            let t = densify(sp, self.base_dir)?;
            g.add_initializer(&name, t);
        }
        for vi in &gp.input {
            let name = vi.name.clone().unwrap_or_default();
            let id = g.value_named(&name);
            if let Some(tp) = &vi.r#type {
                if !g.initializers.contains_key(&id) {
                    g.value_mut(id).ty = type_from_proto(tp);
                }
            }
            g.inputs.push(id);
        }
        for vi in &gp.value_info {
            let id = g.value_named(vi.name.as_deref().unwrap_or(""));
            if let Some(tp) = &vi.r#type {
                g.value_mut(id).ty = type_from_proto(tp);
            }
        }
        let nodes = inline_functions(&gp.node, &self.functions, &mut self.fresh)?;
        let mut defined: HashSet<String> = gp.input.iter().filter_map(|v| v.name.clone()).collect();
        defined.extend(gp.initializer.iter().filter_map(|t| t.name.clone()));
        defined.extend(
            gp.sparse_initializer
                .iter()
                .filter_map(|s| s.values.as_ref().and_then(|v| v.name.clone())),
        );
        defined.extend(
            nodes
                .iter()
                .flat_map(|n| n.output.iter().filter(|s| !s.is_empty()).cloned()),
        );
        let mut captures: BTreeMap<String, ()> = BTreeMap::new();
        let visible_outside = |name: &str| outer.iter().any(|s| s.contains(name));

        for (k, np) in nodes.iter().enumerate() {
            let op_type = np.op_type.clone().unwrap_or_default();
            let domain = np.domain.clone().unwrap_or_default();
            let node_name = match np.name.as_deref() {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => format!("{op_type}_{k}"),
            };
            let mut scope: Vec<HashSet<String>> = outer.to_vec();
            scope.push(defined.clone());
            let mut implicit: Vec<String> = Vec::new();
            let mut attrs = BTreeMap::new();
            let base_dir = self.base_dir;
            for a in &np.attribute {
                let aname = a.name.clone().unwrap_or_default();
                let mut sub = |sg: &GraphProto| -> Result<Graph> {
                    let g = self_import(self, sg, &scope)?;
                    implicit.extend(g.captures.iter().map(|c| g.value(*c).name.clone()));
                    Ok(g)
                };
                let attr = convert(a, base_dir, &mut sub)
                    .map_err(|e| node_err(&node_name, &op_type, e))?;
                attrs.insert(aname, attr);
            }
            let inputs: Vec<Option<edgeopt_ir::ValueId>> = np
                .input
                .iter()
                .map(|s| {
                    if s.is_empty() {
                        return None;
                    }
                    if !defined.contains(s) && visible_outside(s) {
                        captures.insert(s.clone(), ());
                    }
                    Some(g.value_named(s))
                })
                .collect();
            let outputs: Vec<Option<edgeopt_ir::ValueId>> = np
                .output
                .iter()
                .map(|s| {
                    if s.is_empty() {
                        None
                    } else {
                        Some(g.value_named(s))
                    }
                })
                .collect();
            let mut implicit_ids = Vec::new();
            for name in implicit {
                if !defined.contains(&name) {
                    captures.insert(name.clone(), ());
                }
                let id = g.value_named(&name);
                if !implicit_ids.contains(&id) {
                    implicit_ids.push(id);
                }
            }
            let mut attrs = Attrs::new(attrs);
            let mut ctx = BuildCtx {
                opset: self.opset(&domain),
                attrs: &mut attrs,
                num_inputs: np.input.len(),
                num_outputs: np.output.len(),
            };
            match self.registry.build(&domain, &op_type, &mut ctx) {
                Ok(op) => {
                    let id = g.add_node(&node_name, op, inputs, outputs);
                    let node = &mut g.nodes[id.0 as usize];
                    node.implicit_inputs = implicit_ids;
                    node.doc = np.doc_string.clone().unwrap_or_default();
                }
                Err(IrError::Unsupported(_)) => self
                    .unsupported
                    .push((node_name, qualified(&domain, &op_type))),
                Err(e) => return Err(node_err(&node_name, &op_type, OnnxError::Ir(e))),
            }
        }
        for vi in &gp.output {
            let name = vi.name.clone().unwrap_or_default();
            if !defined.contains(&name) && visible_outside(&name) {
                captures.insert(name.clone(), ());
            }
            let id = g.value_named(&name);
            if let Some(tp) = &vi.r#type {
                let declared = type_from_proto(tp);
                if declared != edgeopt_ir::ValueType::Unknown {
                    g.value_mut(id).ty = declared;
                }
            }
            g.outputs.push(id);
        }
        g.captures = captures.keys().map(|n| g.value_named(n)).collect();
        if self.unsupported.is_empty() {
            g.topo_sort()?;
        }
        Ok(g)
    }
}

fn self_import(
    imp: &mut GraphImporter,
    gp: &GraphProto,
    scope: &[HashSet<String>],
) -> Result<Graph> {
    imp.import(gp, scope)
}

fn node_err(node: &str, op_type: &str, e: OnnxError) -> OnnxError {
    match e {
        OnnxError::Ir(ir) => OnnxError::Ir(IrError::Node {
            node: node.into(),
            op_type: op_type.into(),
            source: Box::new(ir),
        }),
        other => OnnxError::Ir(IrError::Node {
            node: node.into(),
            op_type: op_type.into(),
            source: Box::new(IrError::Op(other.to_string())),
        }),
    }
}
