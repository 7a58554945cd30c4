//! The graph: an arena of values and nodes. Nodes are kept in topological order.

use crate::op::Op;
use crate::{IrError, Result, ValueType};
use edgeopt_tensor::Tensor;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// A named, typed edge of the graph.
#[derive(Clone, Debug)]
pub struct ValueInfo {
    pub name: String,
    pub ty: ValueType,
    pub doc: String,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub op: Box<dyn Op>,
    /// `None` for an omitted optional input.
    pub inputs: Vec<Option<ValueId>>,
    /// `None` for an omitted optional output.
    pub outputs: Vec<Option<ValueId>>,
    /// Outer values read by this node's subgraphs; they order the node like inputs do.
    pub implicit_inputs: Vec<ValueId>,
    pub doc: String,
}

impl Node {
    pub fn op_type(&self) -> &str {
        self.op.op_type()
    }
}

/// A graph (the model's main graph or an If/Loop/Scan body).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub name: String,
    pub doc: String,
    pub values: Vec<ValueInfo>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    pub initializers: BTreeMap<ValueId, Tensor>,
    /// Values this (sub)graph reads from an enclosing graph, by name.
    pub captures: Vec<ValueId>,
    by_name: HashMap<String, ValueId>,
}

impl Graph {
    pub fn new(name: &str) -> Self {
        Graph {
            name: name.to_string(),
            ..Default::default()
        }
    }

    pub fn value(&self, id: ValueId) -> &ValueInfo {
        &self.values[id.0 as usize]
    }

    pub fn value_mut(&mut self, id: ValueId) -> &mut ValueInfo {
        &mut self.values[id.0 as usize]
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    pub fn find(&self, name: &str) -> Option<ValueId> {
        self.by_name.get(name).copied()
    }

    /// The value named `name`, created (untyped) if it does not exist yet.
    pub fn value_named(&mut self, name: &str) -> ValueId {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        self.add_value(name, ValueType::Unknown)
    }

    /// Adds a new value. Names are unique: a taken name gets a numeric suffix.
    pub fn add_value(&mut self, name: &str, ty: ValueType) -> ValueId {
        let mut unique = name.to_string();
        let mut k = 1;
        while self.by_name.contains_key(&unique) {
            unique = format!("{name}_{k}");
            k += 1;
        }
        let id = ValueId(self.values.len() as u32);
        self.by_name.insert(unique.clone(), id);
        self.values.push(ValueInfo {
            name: unique,
            ty,
            doc: String::new(),
        });
        id
    }

    pub fn add_initializer(&mut self, name: &str, t: Tensor) -> ValueId {
        let id = self.value_named(name);
        self.value_mut(id).ty = ValueType::Tensor(crate::TensorType::of(&t));
        self.initializers.insert(id, t);
        id
    }

    pub fn add_node(
        &mut self,
        name: &str,
        op: Box<dyn Op>,
        inputs: Vec<Option<ValueId>>,
        outputs: Vec<Option<ValueId>>,
    ) -> NodeId {
        self.nodes.push(Node {
            name: name.to_string(),
            op,
            inputs,
            outputs,
            implicit_inputs: Vec::new(),
            doc: String::new(),
        });
        NodeId(self.nodes.len() as u32 - 1)
    }

    /// For each value, the node producing it.
    pub fn producers(&self) -> Vec<Option<NodeId>> {
        let mut p = vec![None; self.values.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for o in n.outputs.iter().flatten() {
                p[o.0 as usize] = Some(NodeId(i as u32));
            }
        }
        p
    }

    /// Values available before any node runs: inputs, initializers and captures.
    fn sources(&self) -> Vec<bool> {
        let mut avail = vec![false; self.values.len()];
        for v in self
            .inputs
            .iter()
            .chain(self.initializers.keys())
            .chain(&self.captures)
        {
            avail[v.0 as usize] = true;
        }
        avail
    }

    /// Reorders nodes topologically (stable for already-sorted graphs). Errors name the nodes on
    /// a cycle, or the node reading a value nothing produces.
    pub fn topo_sort(&mut self) -> Result<()> {
        let n = self.nodes.len();
        let mut producer: Vec<Option<usize>> = vec![None; self.values.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            for o in node.outputs.iter().flatten() {
                if let Some(prev) = producer[o.0 as usize] {
                    return Err(IrError::Graph(format!(
                        "value '{}' is produced by both '{}' and '{}'",
                        self.value(*o).name,
                        self.nodes[prev].name,
                        node.name
                    )));
                }
                producer[o.0 as usize] = Some(i);
            }
        }
        let sources = self.sources();
        let mut indeg = vec![0usize; n];
        let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, node) in self.nodes.iter().enumerate() {
            for v in node.inputs.iter().flatten().chain(&node.implicit_inputs) {
                match producer[v.0 as usize] {
                    Some(p) => {
                        indeg[i] += 1;
                        users[p].push(i);
                    }
                    None if sources[v.0 as usize] => {}
                    None => {
                        return Err(IrError::Graph(format!(
                            "node '{}' ({}) reads '{}', which is not a graph input, an initializer or any node's output",
                            node.name,
                            node.op_type(),
                            self.value(*v).name
                        )))
                    }
                }
            }
        }
        // Kahn's algorithm with a min-heap on the original index keeps the given order when valid.
        let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..n)
            .filter(|&i| indeg[i] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(std::cmp::Reverse(i)) = ready.pop() {
            order.push(i);
            for &u in &users[i] {
                indeg[u] -= 1;
                if indeg[u] == 0 {
                    ready.push(std::cmp::Reverse(u));
                }
            }
        }
        if order.len() != n {
            let stuck: Vec<String> = (0..n)
                .filter(|&i| indeg[i] > 0)
                .take(8)
                .map(|i| format!("'{}' ({})", self.nodes[i].name, self.nodes[i].op_type()))
                .collect();
            return Err(IrError::Graph(format!(
                "the graph has a cycle through nodes {}",
                stuck.join(", ")
            )));
        }
        let mut old: Vec<Option<Node>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order
            .into_iter()
            .map(|i| old[i].take().expect("each index once"))
            .collect();
        Ok(())
    }

    /// Checks the invariants: unique producers, every read defined earlier, outputs defined.
    pub fn check(&self) -> Result<()> {
        let mut defined = self.sources();
        for node in &self.nodes {
            for v in node.inputs.iter().flatten().chain(&node.implicit_inputs) {
                if !defined[v.0 as usize] {
                    return Err(IrError::Graph(format!(
                        "node '{}' ({}) reads '{}' before it is defined",
                        node.name,
                        node.op_type(),
                        self.value(*v).name
                    )));
                }
            }
            for o in node.outputs.iter().flatten() {
                if defined[o.0 as usize] {
                    return Err(IrError::Graph(format!(
                        "node '{}' redefines '{}'",
                        node.name,
                        self.value(*o).name
                    )));
                }
                defined[o.0 as usize] = true;
            }
        }
        for o in &self.outputs {
            if !defined[o.0 as usize] {
                return Err(IrError::Graph(format!(
                    "graph output '{}' is never produced",
                    self.value(*o).name
                )));
            }
        }
        Ok(())
    }

    /// Rebuilds the name index (after values are renamed).
    pub fn reindex(&mut self) {
        self.by_name = self
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name.clone(), ValueId(i as u32)))
            .collect();
    }
}

/// A model: the main graph plus the metadata ONNX carries.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub graph: Graph,
    /// (domain, version) pairs; "" is the default ONNX domain.
    pub opsets: Vec<(String, i64)>,
    pub ir_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub domain: String,
    pub model_version: i64,
    pub doc: String,
    pub metadata: Vec<(String, String)>,
}

impl Model {
    /// Version of the default ONNX domain.
    pub fn opset(&self) -> i64 {
        self.opsets
            .iter()
            .find(|(d, _)| d.is_empty() || d == "ai.onnx")
            .map(|(_, v)| *v)
            .unwrap_or(1)
    }
}
