//! The one way passes edit a graph: an [`Editor`] over a `Graph` applies edits eagerly (so every
//! query sees the current graph), keeps removed nodes as tombstones until [`Editor::commit`], and
//! marks every node it touches so two rewrites in one sweep never overlap.
//!
//! `commit` then restores the invariants the rest of edgeopt relies on: graph outputs keep their
//! names (the replacement value is renamed, or an Identity is inserted), removed nodes and unused
//! initializers are dropped, nodes are re-sorted topologically and `Graph::check` runs.

use edgeopt_ir::ops::array::constant::Constant;
use edgeopt_ir::ops::array::identity::Identity;
use edgeopt_ir::{Graph, IrError, Node, NodeId, Op, Result, TensorType, ValueId, ValueType};
use edgeopt_tensor::{DType, Tensor};
use std::collections::{BTreeSet, HashSet};

pub struct Editor<'g> {
    g: &'g mut Graph,
    removed: Vec<bool>,
    touched: Vec<bool>,
    /// Values that subgraphs read by name: renaming or bypassing them would break the capture.
    pinned: HashSet<ValueId>,
    /// `replace_uses` history, to find what a graph output became.
    replaced: Vec<(ValueId, ValueId)>,
    /// Node names in use: added nodes get fresh ones (ONNX Runtime refuses duplicates).
    names: HashSet<String>,
    edits: usize,
}

impl<'g> Editor<'g> {
    pub fn new(g: &'g mut Graph) -> Self {
        let n = g.nodes.len();
        let mut pinned: HashSet<ValueId> = g.captures.iter().copied().collect();
        pinned.extend(
            g.nodes
                .iter()
                .flat_map(|n| n.implicit_inputs.iter().copied()),
        );
        let names = g.nodes.iter().map(|n| n.name.clone()).collect();
        Editor {
            g,
            removed: vec![false; n],
            touched: vec![false; n],
            pinned,
            replaced: Vec::new(),
            names,
            edits: 0,
        }
    }

    pub fn graph(&self) -> &Graph {
        self.g
    }

    /// Number of edits so far.
    pub fn edits(&self) -> usize {
        self.edits
    }

    pub fn node(&self, n: NodeId) -> &Node {
        self.g.node(n)
    }

    /// Ids of every node, in the current (possibly unsorted, tombstoned) order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.g.nodes.len() as u32).map(NodeId)
    }

    pub fn is_removed(&self, n: NodeId) -> bool {
        self.removed[n.0 as usize]
    }

    /// Neither removed nor edited in this sweep: a rule may match it.
    pub fn is_live(&self, n: NodeId) -> bool {
        !self.removed[n.0 as usize] && !self.touched[n.0 as usize]
    }

    pub fn is_pinned(&self, v: ValueId) -> bool {
        self.pinned.contains(&v)
    }

    pub fn is_graph_output(&self, v: ValueId) -> bool {
        self.g.outputs.contains(&v)
    }

    pub fn is_graph_input(&self, v: ValueId) -> bool {
        self.g.inputs.contains(&v)
    }

    /// The node producing `v`, unless removed.
    pub fn producer(&self, v: ValueId) -> Option<NodeId> {
        self.node_ids()
            .find(|&n| !self.is_removed(n) && self.g.node(n).outputs.contains(&Some(v)))
    }

    /// Nodes reading `v` (each once, in graph order), including reads by subgraphs.
    pub fn consumers(&self, v: ValueId) -> Vec<NodeId> {
        self.node_ids()
            .filter(|&n| {
                let node = self.g.node(n);
                !self.is_removed(n)
                    && (node.inputs.contains(&Some(v)) || node.implicit_inputs.contains(&v))
            })
            .collect()
    }

    /// The only reader of `v` when `v` is read by exactly one node and is not a graph output:
    /// the condition for fusing `v`'s producer into that reader.
    pub fn sole_consumer(&self, v: ValueId) -> Option<NodeId> {
        if self.is_graph_output(v) || self.is_pinned(v) {
            return None;
        }
        match self.consumers(v).as_slice() {
            [c] => Some(*c),
            _ => None,
        }
    }

    /// Whether `v` is read only by the nodes in `within` (and is not a graph output).
    pub fn used_only_by(&self, v: ValueId, within: &[NodeId]) -> bool {
        !self.is_graph_output(v)
            && !self.is_pinned(v)
            && self.consumers(v).iter().all(|c| within.contains(c))
    }

    /// The constant value of `v`: an initializer that is not an overridable graph input, or the
    /// output of a live Constant node.
    pub fn constant(&self, v: ValueId) -> Option<&Tensor> {
        if let Some(t) = self.g.initializers.get(&v) {
            return (!self.is_graph_input(v)).then_some(t);
        }
        let p = self.producer(v)?;
        self.g
            .node(p)
            .op
            .downcast_ref::<Constant>()
            .map(|c| &c.value)
    }

    /// A scalar constant as f64 (any numeric dtype, one element).
    pub fn scalar(&self, v: ValueId) -> Option<f64> {
        let t = self.constant(v)?;
        if t.len() != 1 {
            return None;
        }
        t.to_f64_vec().ok()?.first().copied()
    }

    pub fn value_type(&self, v: ValueId) -> &ValueType {
        &self.g.value(v).ty
    }

    /// The fully known shape of `v`.
    pub fn shape(&self, v: ValueId) -> Option<Vec<usize>> {
        self.value_type(v).as_tensor()?.concrete_shape()
    }

    pub fn dtype(&self, v: ValueId) -> Option<DType> {
        self.value_type(v).dtype()
    }

    /// Whether the graph-output name of `from` could move to `to` without an Identity.
    fn can_take_name(&self, to: ValueId) -> bool {
        !self.is_graph_input(to)
            && !self.is_graph_output(to)
            && !self.g.initializers.contains_key(&to)
            && !self.is_pinned(to)
            && self.producer(to).is_some()
    }

    /// Whether `from` can be bypassed by `to` cleanly: not read by a subgraph, and when `from` is
    /// a graph output, `to` can take over its name (otherwise commit would add an Identity and
    /// a pass removing Identities would loop).
    pub fn can_replace(&self, from: ValueId, to: ValueId) -> bool {
        from != to
            && !self.is_pinned(from)
            && (!self.is_graph_output(from) || self.can_take_name(to))
    }

    fn touch(&mut self, n: NodeId) {
        self.touched[n.0 as usize] = true;
        self.edits += 1;
    }

    /// Makes every reader of `from` read `to`. A graph output `from` is resolved at commit.
    pub fn replace_uses(&mut self, from: ValueId, to: ValueId) -> Result<()> {
        if self.is_pinned(from) {
            return Err(IrError::Graph(format!(
                "cannot replace '{}': a subgraph reads it by name",
                self.g.value(from).name
            )));
        }
        for n in self.consumers(from) {
            for slot in self.g.nodes[n.0 as usize].inputs.iter_mut() {
                if *slot == Some(from) {
                    *slot = Some(to);
                }
            }
            self.touch(n);
        }
        self.replaced.push((from, to));
        self.edits += 1;
        Ok(())
    }

    pub fn remove_node(&mut self, n: NodeId) {
        self.removed[n.0 as usize] = true;
        self.touch(n);
    }

    pub fn set_op(&mut self, n: NodeId, op: Box<dyn Op>) {
        self.g.nodes[n.0 as usize].op = op;
        self.touch(n);
    }

    pub fn set_inputs(&mut self, n: NodeId, inputs: Vec<Option<ValueId>>) {
        self.g.nodes[n.0 as usize].inputs = inputs;
        self.touch(n);
    }

    /// Makes node `n` produce `v` in output `slot`; `v` must have no other live producer.
    pub fn set_output(&mut self, n: NodeId, slot: usize, v: ValueId) -> Result<()> {
        if let Some(p) = self.producer(v).filter(|&p| p != n) {
            return Err(IrError::Graph(format!(
                "'{}' is still produced by '{}'",
                self.g.value(v).name,
                self.g.node(p).name
            )));
        }
        let outputs = &mut self.g.nodes[n.0 as usize].outputs;
        match outputs.get_mut(slot) {
            Some(o) => *o = Some(v),
            None => return Err(IrError::Graph(format!("node has no output {slot}"))),
        }
        self.touch(n);
        Ok(())
    }

    /// A new value; a taken name gets a numeric suffix.
    pub fn add_value(&mut self, name: &str, ty: ValueType) -> ValueId {
        self.g.add_value(name, ty)
    }

    /// A new initializer under a fresh name derived from `name`.
    pub fn add_initializer(&mut self, name: &str, t: Tensor) -> ValueId {
        let id = self
            .g
            .add_value(name, ValueType::Tensor(TensorType::of(&t)));
        self.g.initializers.insert(id, t);
        self.edits += 1;
        id
    }

    /// Makes `v` an initializer holding `t`; its producer must be removed first. Keeps `v`'s
    /// name, so readers need no rewiring.
    pub fn make_initializer(&mut self, v: ValueId, t: Tensor) -> Result<()> {
        if self.producer(v).is_some() || self.is_graph_input(v) {
            return Err(IrError::Graph(format!(
                "'{}' is still produced by a node or is a graph input",
                self.g.value(v).name
            )));
        }
        self.g.value_mut(v).ty = ValueType::Tensor(TensorType::of(&t));
        self.g.initializers.insert(v, t);
        self.edits += 1;
        Ok(())
    }

    /// Appends a node (commit re-sorts) named `name`, or `name_k` when taken. Its outputs must
    /// not have another live producer.
    pub fn add_node(
        &mut self,
        name: &str,
        op: Box<dyn Op>,
        inputs: Vec<Option<ValueId>>,
        outputs: Vec<Option<ValueId>>,
    ) -> Result<NodeId> {
        for v in outputs.iter().flatten() {
            if let Some(p) = self.producer(*v) {
                return Err(IrError::Graph(format!(
                    "new node '{name}' would redefine '{}' (produced by '{}')",
                    self.g.value(*v).name,
                    self.g.node(p).name
                )));
            }
        }
        let mut unique = name.to_string();
        let mut k = 1;
        while self.names.contains(&unique) {
            unique = format!("{name}_{k}");
            k += 1;
        }
        self.names.insert(unique.clone());
        let id = self.g.add_node(&unique, op, inputs, outputs);
        self.removed.push(false);
        self.touched.push(false);
        self.touch(id);
        Ok(id)
    }

    fn defined(&self, v: ValueId) -> bool {
        self.is_graph_input(v)
            || self.g.initializers.contains_key(&v)
            || self.g.captures.contains(&v)
            || self.producer(v).is_some()
    }

    /// What graph output `o` (no longer defined) was replaced by.
    fn resolve(&self, o: ValueId) -> Option<ValueId> {
        let mut v = o;
        for _ in 0..=self.replaced.len() {
            if self.defined(v) {
                return Some(v);
            }
            v = self.replaced.iter().rev().find(|(f, _)| *f == v)?.1;
        }
        None
    }

    /// Keeps graph outputs' names: each undefined output takes its replacement's place by a
    /// rename, or through an Identity when the replacement cannot change its name.
    fn fix_outputs(&mut self) -> Result<()> {
        for i in 0..self.g.outputs.len() {
            let o = self.g.outputs[i];
            if self.defined(o) {
                continue;
            }
            let r = self.resolve(o).ok_or_else(|| {
                IrError::Graph(format!(
                    "graph output '{}' lost its producer",
                    self.g.value(o).name
                ))
            })?;
            if self.can_take_name(r) {
                let on = std::mem::take(&mut self.g.value_mut(o).name);
                let rn = std::mem::replace(&mut self.g.value_mut(r).name, on);
                self.g.value_mut(o).name = rn;
                let ty = self.g.value(o).ty.clone();
                if self.g.value(r).ty == ValueType::Unknown {
                    self.g.value_mut(r).ty = ty;
                }
                self.g.outputs[i] = r;
                self.g.reindex();
            } else {
                let name = format!("{}_identity", self.g.value(o).name);
                self.add_node(&name, Box::new(Identity), vec![Some(r)], vec![Some(o)])?;
            }
        }
        Ok(())
    }

    /// Applies the edits: keeps output names, drops removed nodes and unused initializers,
    /// re-sorts and checks the graph. Returns the number of edits.
    pub fn commit(mut self) -> Result<usize> {
        if self.edits == 0 {
            return Ok(0);
        }
        self.fix_outputs()?;
        let removed = std::mem::take(&mut self.removed);
        let mut k = 0;
        self.g.nodes.retain(|_| {
            k += 1;
            !removed[k - 1]
        });
        prune_initializers(self.g);
        self.g.topo_sort()?;
        self.g.check()?;
        Ok(self.edits)
    }
}

/// Drops initializers nothing reads (overridable graph inputs stay).
pub fn prune_initializers(g: &mut Graph) {
    let mut used: BTreeSet<ValueId> = g.inputs.iter().chain(&g.outputs).copied().collect();
    for n in &g.nodes {
        used.extend(n.inputs.iter().flatten().chain(&n.implicit_inputs));
    }
    g.initializers.retain(|v, _| used.contains(v));
}
