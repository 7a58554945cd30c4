//! The channel dependency graph (after DepGraph, Fang et al. 2023): which channels of which
//! tensors must be removed together.
//!
//! Every tensor that carries a prunable dimension ("channels": axis 1 of NCHW activations, the
//! feature axis of Gemm/MatMul outputs) is *tracked*, and each of its channels is an element of
//! a union-find. Op rules unite elements that are the same channel seen by two tensors (a BN's
//! input and output, both sides of a residual Add, a Concat input and its slice of the output,
//! a depthwise conv's input and output, a channel and its block of features after Flatten).
//! A connected component is one channel that can be removed as a unit; components touching the
//! same tensors form a group (a "layer" in pruning terms) that is pruned at one ratio. Elements
//! touching a network input or output, or consumed by an op without a rule, are blocked.
//!
//! Rules also record the constant slices that shrink with each tracked tensor ([`ParamSlice`])
//! and attribute fixups (depthwise `group`, Reshape targets).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use edgeopt_ir::{Graph, NodeId, ValueId};

use crate::attrs;

/// A tensor with a prunable dimension.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The tensor.
    pub value: ValueId,
    /// Its channel axis.
    pub axis: usize,
    /// Channels (size of `axis`).
    pub size: usize,
    /// Index of its channel 0 in the union-find.
    base: usize,
}

/// How a constant slice relates to the channels it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A producer's output slice (a conv filter, a Gemm row): measured for importance.
    Out,
    /// A consumer's input slice: zeroed when masking, removed when shrinking.
    In,
    /// Per-channel parameters (BN, biases of element-wise ops): removed when shrinking.
    Own,
}

/// Axis `axis` of constant `tensor` follows the channels of tracked tensor `channels`.
#[derive(Debug, Clone)]
pub struct ParamSlice {
    /// The initializer.
    pub tensor: ValueId,
    /// Its axis that follows the channels.
    pub axis: usize,
    /// The tracked tensor whose kept channels this axis keeps.
    pub channels: ValueId,
    /// What the slice is.
    pub role: Role,
    /// The node using it.
    pub node: NodeId,
}

/// An attribute or constant that must be rewritten after shrinking.
#[derive(Debug, Clone)]
pub enum Fixup {
    /// A depthwise conv's `group` becomes the kept channels of `channels`.
    Group {
        /// The conv.
        node: NodeId,
        /// Its output.
        channels: ValueId,
    },
    /// A Split's sizes (constant input 1, or the `split` attribute before opset 13) become the
    /// kept channels of each output.
    Split {
        /// The Split node.
        node: NodeId,
        /// Its constant sizes input, when it has one.
        sizes: Option<ValueId>,
        /// Its outputs, in order.
        outputs: Vec<ValueId>,
    },
    /// A Reshape target `[batch, features]` whose features become the kept channels of
    /// `channels` (literal targets only; -1 needs no fixup).
    ReshapeTarget {
        /// The shape initializer.
        shape: ValueId,
        /// The reshaped output.
        channels: ValueId,
    },
}

/// Channels that are removed together, and the tensors they span.
#[derive(Debug, Clone)]
pub struct Group {
    /// Tracked tensors the group's channels live in (sorted, unique).
    pub values: Vec<ValueId>,
    /// Union-find roots of its channels (one per prunable unit).
    pub units: Vec<usize>,
    /// Nodes whose output slices belong to the group (convs, Gemms): who "owns" it.
    pub producers: Vec<NodeId>,
    /// Why it may not be pruned, if so.
    pub blocked: Option<String>,
}

/// The dependency graph of one model.
#[derive(Debug, Default)]
pub struct DepGraph {
    tracked: Vec<Tracked>,
    index: HashMap<ValueId, usize>,
    parent: Vec<usize>,
    blocked: Vec<Option<String>>,
    /// Constant slices that follow tracked channels.
    pub params: Vec<ParamSlice>,
    /// Attributes and constants to rewrite after shrinking.
    pub fixups: Vec<Fixup>,
}

impl DepGraph {
    /// The tracked tensor `v`, if it carries channels.
    pub fn tracked(&self, v: ValueId) -> Option<&Tracked> {
        self.index.get(&v).map(|&i| &self.tracked[i])
    }

    /// Every tracked tensor.
    pub fn all_tracked(&self) -> &[Tracked] {
        &self.tracked
    }

    pub(crate) fn track(&mut self, value: ValueId, axis: usize, size: usize) -> usize {
        if let Some(&i) = self.index.get(&value) {
            return i;
        }
        let base = self.parent.len();
        self.parent.extend(base..base + size);
        self.blocked.resize(base + size, None);
        self.tracked.push(Tracked {
            value,
            axis,
            size,
            base,
        });
        self.index.insert(value, self.tracked.len() - 1);
        self.tracked.len() - 1
    }

    /// Union-find element of channel `c` of tracked tensor `v`.
    pub fn element(&self, v: ValueId, c: usize) -> Option<usize> {
        self.tracked(v).filter(|t| c < t.size).map(|t| t.base + c)
    }

    /// Root of element `e`.
    pub fn find(&self, mut e: usize) -> usize {
        while self.parent[e] != e {
            e = self.parent[e];
        }
        e
    }

    pub(crate) fn unite(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
        // Path halving on both sides keeps later finds short.
        for start in [a, b] {
            let mut e = start;
            while self.parent[e] != e {
                let next = self.parent[e];
                self.parent[e] = self.parent[next];
                e = next;
            }
        }
    }

    pub(crate) fn block_element(&mut self, e: usize, why: &str) {
        if self.blocked[e].is_none() {
            self.blocked[e] = Some(why.to_string());
        }
    }

    /// Blocks every channel of `v` (a no-op when `v` is not tracked).
    pub(crate) fn block_value(&mut self, v: ValueId, why: &str) {
        if let Some(t) = self.tracked(v).cloned() {
            for e in t.base..t.base + t.size {
                self.block_element(e, why);
            }
        }
    }

    /// Unites channel `c` of `a` with channel `c` of `b` for every `c` (sizes must match).
    pub(crate) fn unite_values(&mut self, a: ValueId, b: ValueId) -> bool {
        match (self.tracked(a).cloned(), self.tracked(b).cloned()) {
            (Some(ta), Some(tb)) if ta.size == tb.size => {
                for c in 0..ta.size {
                    self.unite(ta.base + c, tb.base + c);
                }
                true
            }
            _ => false,
        }
    }

    /// The prunable groups: components grouped by the tensors they span.
    pub fn groups(&self, graph: &Graph) -> Vec<Group> {
        let mut members: BTreeMap<usize, BTreeSet<ValueId>> = BTreeMap::new();
        let mut why: BTreeMap<usize, String> = BTreeMap::new();
        for t in &self.tracked {
            for e in t.base..t.base + t.size {
                let r = self.find(e);
                members.entry(r).or_default().insert(t.value);
                if let Some(w) = &self.blocked[e] {
                    why.entry(r).or_insert_with(|| w.clone());
                }
            }
        }
        let mut by_sig: BTreeMap<Vec<ValueId>, Group> = BTreeMap::new();
        for (root, vals) in members {
            let values: Vec<ValueId> = vals.into_iter().collect();
            let g = by_sig.entry(values.clone()).or_insert_with(|| Group {
                values,
                units: Vec::new(),
                producers: Vec::new(),
                blocked: None,
            });
            g.units.push(root);
            if let Some(w) = why.get(&root) {
                g.blocked.get_or_insert_with(|| w.clone());
            }
        }
        let mut groups: Vec<Group> = by_sig.into_values().collect();
        for g in &mut groups {
            let mut prods: BTreeSet<NodeId> = BTreeSet::new();
            for p in self.params.iter().filter(|p| p.role == Role::Out) {
                if g.values.binary_search(&p.channels).is_ok() {
                    prods.insert(p.node);
                }
            }
            g.producers = prods.into_iter().collect();
            if g.producers.is_empty() && g.blocked.is_none() {
                g.blocked = Some("no conv/gemm produces these channels".into());
            }
        }
        groups.sort_by_key(|g| g.producers.first().map(|n| n.0).unwrap_or(u32::MAX));
        let _ = graph;
        groups
    }

    /// Indices kept along the channel axis of tracked `v`, given removed roots.
    pub fn kept(&self, v: ValueId, removed: &BTreeSet<usize>) -> Vec<usize> {
        match self.tracked(v) {
            Some(t) => (0..t.size)
                .filter(|c| !removed.contains(&self.find(t.base + c)))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Node attribute reader re-exported for the rules.
pub(crate) use attrs::{int as attr_int, ints as attr_ints};
