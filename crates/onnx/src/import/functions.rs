//! Phase: inline calls to model-local functions (FunctionProto) into plain nodes.

use crate::proto::{AttributeProto, FunctionProto, NodeProto};
use crate::{OnnxError, Result};
use std::collections::HashMap;

/// Local functions by (domain, name).
pub type Functions<'a> = HashMap<(String, String), &'a FunctionProto>;

/// Call depth limit: recursive functions are invalid ONNX, and hostile files must not hang us.
const MAX_DEPTH: usize = 32;

/// Expands every node calling a local function, recursively. `fresh` makes unique value names.
pub fn inline_functions(
    nodes: &[NodeProto],
    funcs: &Functions,
    fresh: &mut usize,
) -> Result<Vec<NodeProto>> {
    let mut out = Vec::with_capacity(nodes.len());
    for n in nodes {
        expand(n, funcs, fresh, 0, &mut out)?;
    }
    Ok(out)
}

fn expand(
    n: &NodeProto,
    funcs: &Functions,
    fresh: &mut usize,
    depth: usize,
    out: &mut Vec<NodeProto>,
) -> Result<()> {
    let key = (
        n.domain.clone().unwrap_or_default(),
        n.op_type.clone().unwrap_or_default(),
    );
    let Some(f) = funcs.get(&key) else {
        out.push(n.clone());
        return Ok(());
    };
    if depth >= MAX_DEPTH {
        return Err(OnnxError::Model(format!(
            "function '{}' nests deeper than {MAX_DEPTH} calls (recursive?)",
            key.1
        )));
    }
    *fresh += 1;
    let prefix = format!(
        "{}__{}_{}",
        key.1,
        n.name.clone().unwrap_or_default(),
        fresh
    );
    let mut rename: HashMap<String, String> = HashMap::new();
    for (i, formal) in f.input.iter().enumerate() {
        rename.insert(formal.clone(), n.input.get(i).cloned().unwrap_or_default());
    }
    for (i, formal) in f.output.iter().enumerate() {
        rename.insert(formal.clone(), n.output.get(i).cloned().unwrap_or_default());
    }
    let map = |name: &String, rename: &mut HashMap<String, String>| -> String {
        if name.is_empty() {
            return String::new();
        }
        rename
            .entry(name.clone())
            .or_insert_with(|| format!("{prefix}/{name}"))
            .clone()
    };
    // Attribute values: the call's, else the function's defaults.
    let mut actual: HashMap<String, AttributeProto> = HashMap::new();
    for a in &f.attribute_proto {
        actual.insert(a.name.clone().unwrap_or_default(), a.clone());
    }
    for a in &n.attribute {
        actual.insert(a.name.clone().unwrap_or_default(), a.clone());
    }
    for inner in &f.node {
        let mut m = inner.clone();
        m.input = inner.input.iter().map(|s| map(s, &mut rename)).collect();
        m.output = inner.output.iter().map(|s| map(s, &mut rename)).collect();
        m.name = Some(format!(
            "{prefix}/{}",
            inner.name.clone().unwrap_or_default()
        ));
        m.attribute = inner
            .attribute
            .iter()
            .filter_map(|a| match &a.ref_attr_name {
                Some(r) if !r.is_empty() => actual.get(r).map(|v| {
                    let mut v = v.clone();
                    v.name = a.name.clone();
                    v
                }),
                _ => Some(a.clone()),
            })
            .collect();
        expand(&m, funcs, fresh, depth + 1, out)?;
    }
    Ok(())
}
