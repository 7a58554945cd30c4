//! Per-op rules that build the [`DepGraph`]: which channels an op unites, which constant
//! slices follow them, and which ops block pruning.

use std::collections::HashMap;

use edgeopt_ir::{Graph, Node, NodeId, ValueId};
use edgeopt_tensor::Dim;

use crate::depgraph::{attr_int, attr_ints, DepGraph, Fixup, ParamSlice, Role};

/// Ops that keep every channel where it is (element-wise on one tensor, pooling, BN, resizes).
const PASS_THROUGH: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Elu",
    "Selu",
    "Softplus",
    "Softsign",
    "Gelu",
    "Mish",
    "Identity",
    "Dropout",
    "Neg",
    "Abs",
    "Sqrt",
    "Exp",
    "Erf",
    "Floor",
    "Ceil",
    "Round",
    "Cast",
    "MaxPool",
    "AveragePool",
    "LpPool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GlobalLpPool",
    "BatchNormalization",
    "InstanceNormalization",
    "Resize",
    "Upsample",
    "Pad",
    "DepthToSpace",
];

/// Element-wise ops with several (broadcast) inputs.
const ELEMENTWISE: &[&str] = &[
    "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Pow",
];

struct Ctx<'g> {
    graph: &'g Graph,
    dg: DepGraph,
    uses: HashMap<ValueId, usize>,
}

fn dims(graph: &Graph, v: ValueId) -> Option<Vec<Option<usize>>> {
    graph
        .value(v)
        .ty
        .shape()
        .map(|s| s.iter().map(Dim::known).collect())
}

impl Ctx<'_> {
    fn konst(&self, v: Option<ValueId>) -> Option<ValueId> {
        v.filter(|v| self.graph.initializers.contains_key(v) && !self.graph.inputs.contains(v))
    }

    fn const_shape(&self, v: ValueId) -> Vec<usize> {
        self.graph.initializers[&v].shape().to_vec()
    }

    /// A constant used by exactly one node (slicing a shared one would change its other uses).
    fn private_const(&self, v: Option<ValueId>) -> Option<ValueId> {
        self.konst(v).filter(|v| self.uses.get(v) == Some(&1))
    }

    fn param(&mut self, tensor: ValueId, axis: usize, channels: ValueId, role: Role, node: usize) {
        self.dg.params.push(ParamSlice {
            tensor,
            axis,
            channels,
            role,
            node: NodeId(node as u32),
        });
    }

    /// Tracks `v` at `axis` if its size there is known.
    fn track(&mut self, v: Option<ValueId>, axis: usize) -> bool {
        let Some(v) = v else { return false };
        match dims(self.graph, v).and_then(|d| d.get(axis).copied().flatten()) {
            Some(size) => {
                self.dg.track(v, axis, size);
                true
            }
            None => false,
        }
    }

    fn block_inputs(&mut self, node: &Node, why: &str) {
        for v in node.inputs.iter().flatten() {
            self.dg.block_value(*v, why);
        }
    }
}

/// Builds the dependency graph of `graph` (types inferred, weights as initializers).
pub fn analyze(graph: &Graph) -> DepGraph {
    let mut uses: HashMap<ValueId, usize> = HashMap::new();
    for n in &graph.nodes {
        for v in n.inputs.iter().flatten().chain(&n.implicit_inputs) {
            *uses.entry(*v).or_default() += 1;
        }
    }
    let mut cx = Ctx {
        graph,
        dg: DepGraph::default(),
        uses,
    };
    for &v in &graph.inputs {
        if dims(graph, v).is_some_and(|d| d.len() >= 2) && cx.track(Some(v), 1) {
            cx.dg.block_value(v, "network input");
        }
    }
    for (i, node) in graph.nodes.iter().enumerate() {
        let known = node.op.domain().is_empty() && node.implicit_inputs.is_empty();
        let handled = known && apply_rule(&mut cx, i, node);
        if !handled {
            let why = format!("consumed by {} node '{}'", node.op_type(), node.name);
            cx.block_inputs(node, &why);
        }
    }
    for &v in &graph.outputs {
        cx.dg.block_value(v, "network output");
    }
    cx.dg
}

/// Applies the rule for `node`; false when the op has no rule or the rule's conditions fail
/// (its tracked inputs are then blocked by the caller).
fn apply_rule(cx: &mut Ctx, i: usize, node: &Node) -> bool {
    let x = node.inputs.first().copied().flatten();
    let y = node.outputs.first().copied().flatten();
    let op = node.op_type();
    let tracked_x = x.and_then(|x| cx.dg.tracked(x).cloned());
    match op {
        "Conv" | "ConvTranspose" => conv(cx, i, node, op == "ConvTranspose"),
        "Gemm" => gemm(cx, i, node),
        "MatMul" => matmul(cx, i, node),
        _ if PASS_THROUGH.contains(&op) => {
            let Some(t) = tracked_x else { return true };
            if matches!(op, "Pad" | "DepthToSpace") || op == "Resize" && resize_sizes(cx, node) {
                return false;
            }
            if !cx.track(y, t.axis) || !cx.dg.unite_values(t.value, y.unwrap_or(t.value)) {
                return false;
            }
            let extra = if op == "BatchNormalization" || op == "InstanceNormalization" {
                &node.inputs[1..]
            } else if op == "PRelu" {
                &node.inputs[1..2.min(node.inputs.len())]
            } else {
                &[]
            };
            for p in extra {
                let bn = op != "PRelu";
                if !per_channel_const(cx, i, *p, t.axis, dims_len(cx, t.value), t.value, bn) {
                    return false;
                }
            }
            true
        }
        _ if ELEMENTWISE.contains(&op) => elementwise(cx, i, node),
        "Concat" => concat(cx, node),
        "Split" => split(cx, i, node),
        "Flatten" | "Reshape" => flatten(cx, node),
        "Transpose" => {
            let Some(t) = tracked_x else { return true };
            let rank = dims_len(cx, t.value);
            let perm = attr_ints(node, "perm")
                .unwrap_or_else(|| (0..rank as i64).rev().collect::<Vec<_>>());
            let Some(out_axis) = perm.iter().position(|&p| p == t.axis as i64) else {
                return false;
            };
            cx.track(y, out_axis) && cx.dg.unite_values(t.value, y.unwrap_or(t.value))
        }
        "LayerNormalization" => {
            let Some(t) = tracked_x else { return true };
            let rank = dims_len(cx, t.value) as i64;
            let axis = attr_int(node, "axis").unwrap_or(-1);
            let norm_axis = if axis < 0 { axis + rank } else { axis };
            if t.axis as i64 != rank - 1 || norm_axis != rank - 1 {
                return false;
            }
            if !cx.track(y, t.axis) || !cx.dg.unite_values(t.value, y.unwrap_or(t.value)) {
                return false;
            }
            node.inputs[1..]
                .iter()
                .all(|p| per_channel_const(cx, i, *p, t.axis, rank as usize, t.value, false))
        }
        // Ops that read no channel data: their outputs are untracked, inputs untouched.
        "Constant" => true,
        _ => {
            tracked_x.is_none()
                && node
                    .inputs
                    .iter()
                    .flatten()
                    .all(|v| cx.dg.tracked(*v).is_none())
        }
    }
}

fn dims_len(cx: &Ctx, v: ValueId) -> usize {
    dims(cx.graph, v).map_or(0, |d| d.len())
}

/// Resize with an explicit `sizes` input names the channel count: not handled.
fn resize_sizes(cx: &Ctx, node: &Node) -> bool {
    node.inputs.get(3).copied().flatten().is_some_and(|s| {
        cx.konst(Some(s))
            .is_none_or(|s| !cx.graph.initializers[&s].is_empty())
    })
}

/// A constant broadcast against a tracked tensor of rank `rank` at `axis`: fine when it has
/// size 1 there (or lacks the axis), recorded as an [`Role::Own`] slice when it has one value
/// per channel; false for anything else (a non-constant, or a shared constant).
fn per_channel_const(
    cx: &mut Ctx,
    i: usize,
    p: Option<ValueId>,
    axis: usize,
    rank: usize,
    channels: ValueId,
    one_d_is_channel: bool,
) -> bool {
    let Some(p) = p else { return true };
    let Some(size) = cx.dg.tracked(channels).map(|t| t.size) else {
        return false;
    };
    let Some(c) = cx.konst(Some(p)) else {
        return false;
    };
    let shape = cx.const_shape(c);
    // Per-channel BN parameters are 1-D; broadcast operands align to the right.
    let a = if one_d_is_channel && shape.len() == 1 {
        Some(0)
    } else {
        (axis + shape.len()).checked_sub(rank)
    };
    match a {
        None => true,
        Some(a) if shape[a] == 1 => true,
        Some(a) if shape[a] == size && cx.private_const(Some(c)).is_some() => {
            cx.param(c, a, channels, Role::Own, i);
            true
        }
        _ => false,
    }
}

fn conv(cx: &mut Ctx, i: usize, node: &Node, transposed: bool) -> bool {
    let (x, y) = (node.inputs[0], node.outputs.first().copied().flatten());
    let Some(w) = cx.private_const(node.inputs.get(1).copied().flatten()) else {
        return false;
    };
    let ws = cx.const_shape(w);
    let group = attr_int(node, "group").unwrap_or(1);
    if ws.len() < 3 || group < 1 {
        return false;
    }
    let bias = node.inputs.get(2).copied().flatten();
    if bias.is_some() && cx.private_const(bias).is_none() {
        return false;
    }
    let cout = if transposed {
        ws[1] * group as usize
    } else {
        ws[0]
    };
    if !cx.track(y, 1) {
        return false;
    }
    let y = y.unwrap_or(w);
    let (w_out_axis, w_in_axis) = if transposed { (1, 0) } else { (0, 1) };
    if group == 1 {
        cx.param(w, w_out_axis, y, Role::Out, i);
        if let Some(x) = x.filter(|x| cx.dg.tracked(*x).is_some()) {
            cx.param(w, w_in_axis, x, Role::In, i);
        }
    } else {
        // Depthwise (one input and one output channel per group): input channel c is output
        // channel c. Other grouped convs are not handled.
        let cin = x.and_then(|x| cx.dg.tracked(x).map(|t| t.size));
        let per_group_in = if transposed {
            ws[0] / group as usize
        } else {
            ws[1]
        };
        let per_group_out = if transposed {
            ws[1]
        } else {
            ws[0] / group as usize
        };
        if transposed || per_group_in != 1 || per_group_out != 1 || cin != Some(cout) {
            return false;
        }
        let Some(x) = x else { return false };
        if !cx.dg.unite_values(x, y) {
            return false;
        }
        cx.param(w, 0, y, Role::Out, i);
        cx.dg.fixups.push(Fixup::Group {
            node: NodeId(i as u32),
            channels: y,
        });
    }
    if let Some(b) = bias {
        cx.param(b, 0, y, Role::Own, i);
    }
    true
}

fn gemm(cx: &mut Ctx, i: usize, node: &Node) -> bool {
    let (a, y) = (node.inputs[0], node.outputs.first().copied().flatten());
    let Some(b) = cx.private_const(node.inputs.get(1).copied().flatten()) else {
        return false;
    };
    if attr_int(node, "transA").unwrap_or(0) != 0 || cx.const_shape(b).len() != 2 {
        return false;
    }
    let trans_b = attr_int(node, "transB").unwrap_or(0) != 0;
    let (k_axis, n_axis) = if trans_b { (1, 0) } else { (0, 1) };
    let c = node.inputs.get(2).copied().flatten();
    if c.is_some() && cx.private_const(c).is_none() {
        return false;
    }
    if !cx.track(y, 1) {
        return false;
    }
    let y = y.unwrap_or(b);
    cx.param(b, n_axis, y, Role::Out, i);
    if let Some(a) = a.filter(|a| cx.dg.tracked(*a).is_some_and(|t| t.axis == 1)) {
        cx.param(b, k_axis, a, Role::In, i);
    } else if a.is_some_and(|a| cx.dg.tracked(a).is_some()) {
        return false;
    }
    per_channel_const(cx, i, c, 1, 2, y, false)
}

fn matmul(cx: &mut Ctx, i: usize, node: &Node) -> bool {
    let (a, y) = (node.inputs[0], node.outputs.first().copied().flatten());
    let Some(b) = cx.private_const(node.inputs.get(1).copied().flatten()) else {
        return false;
    };
    let (Some(a), Some(y)) = (a, y) else {
        return false;
    };
    let (ra, ry) = (dims_len(cx, a), dims_len(cx, y));
    if cx.const_shape(b).len() != 2 || ra < 2 || ry < 2 {
        return false;
    }
    if let Some(t) = cx.dg.tracked(a).cloned() {
        if t.axis != ra - 1 {
            return false;
        }
        cx.param(b, 0, a, Role::In, i);
    }
    if !cx.track(Some(y), ry - 1) {
        return false;
    }
    cx.param(b, 1, y, Role::Out, i);
    true
}

fn elementwise(cx: &mut Ctx, i: usize, node: &Node) -> bool {
    let Some(y) = node.outputs.first().copied().flatten() else {
        return false;
    };
    let ry = dims_len(cx, y);
    let mut axis = None;
    for v in node.inputs.iter().flatten() {
        if let Some(t) = cx.dg.tracked(*v) {
            let aligned = t.axis + ry - dims_len(cx, *v).min(ry);
            if axis.is_some_and(|a| a != aligned) {
                return false;
            }
            axis = Some(aligned);
        }
    }
    let Some(axis) = axis else { return true };
    if !cx.track(Some(y), axis) {
        return false;
    }
    for v in node.inputs.iter().flatten() {
        if cx.dg.tracked(*v).is_some() {
            if !cx.dg.unite_values(*v, y) {
                return false;
            }
        } else if !per_channel_const(cx, i, Some(*v), axis, ry, y, false) {
            // A non-constant operand broadcast along the channels is fine; one with a value
            // per channel that we do not track is not.
            let d = dims(cx.graph, *v).unwrap_or_default();
            let at = (axis + d.len())
                .checked_sub(ry)
                .and_then(|a| d.get(a).copied());
            if cx.konst(Some(*v)).is_some() || !matches!(at, None | Some(Some(1))) {
                return false;
            }
        }
    }
    true
}

fn concat(cx: &mut Ctx, node: &Node) -> bool {
    let Some(y) = node.outputs.first().copied().flatten() else {
        return false;
    };
    let ins: Vec<ValueId> = node.inputs.iter().flatten().copied().collect();
    if ins.iter().all(|v| cx.dg.tracked(*v).is_none()) {
        return true;
    }
    let rank = dims_len(cx, y) as i64;
    let a = attr_int(node, "axis").unwrap_or(0);
    let axis = if a < 0 { a + rank } else { a } as usize;
    let t_axis = ins.iter().find_map(|v| cx.dg.tracked(*v).map(|t| t.axis));
    if t_axis != Some(axis) || !cx.track(Some(y), axis) {
        return false;
    }
    let mut off = 0;
    for v in ins {
        let Some(len) = dims(cx.graph, v).and_then(|d| d.get(axis).copied().flatten()) else {
            return false;
        };
        for c in 0..len {
            let (Some(e_out), e_in) = (cx.dg.element(y, off + c), cx.dg.element(v, c)) else {
                return false;
            };
            match e_in {
                Some(e_in) if cx.dg.tracked(v).is_some_and(|t| t.axis == axis) => {
                    cx.dg.unite(e_in, e_out)
                }
                _ => cx
                    .dg
                    .block_element(e_out, "concatenated with an untracked tensor"),
            }
        }
        off += len;
    }
    true
}

/// Flatten (axis 1) or Reshape to `[batch, features]` of a tensor tracked on axis 1: channel
/// `c` becomes the block of features `c * inner .. (c + 1) * inner`.
fn flatten(cx: &mut Ctx, node: &Node) -> bool {
    let (Some(x), Some(y)) = (node.inputs[0], node.outputs.first().copied().flatten()) else {
        return false;
    };
    let Some(t) = cx.dg.tracked(x).cloned() else {
        return true;
    };
    let (Some(dx), Some(dy)) = (dims(cx.graph, x), dims(cx.graph, y)) else {
        return false;
    };
    let inner: Option<usize> = dx[2..].iter().copied().product();
    // Flatten(axis 1) keeps the batch whatever it is; a Reshape must be seen to keep it.
    let batch_kept = dx[0] == dy[0] && (dx[0].is_some() || node.op_type() == "Flatten");
    if t.axis != 1 || dy.len() != 2 || dx.len() < 2 || !batch_kept {
        return false;
    }
    let Some(inner) = inner else { return false };
    if node.op_type() == "Flatten" {
        if attr_int(node, "axis").unwrap_or(1) != 1 {
            return false;
        }
    } else {
        let Some(s) = cx.private_const(node.inputs.get(1).copied().flatten()) else {
            return false;
        };
        let target = cx.graph.initializers[&s].to_i64_vec().unwrap_or_default();
        if target.len() != 2 || target[1] == 0 {
            return false;
        }
        if target[1] != -1 {
            cx.dg.fixups.push(Fixup::ReshapeTarget {
                shape: s,
                channels: y,
            });
        }
    }
    if !cx.track(Some(y), 1) {
        return false;
    }
    for c in 0..t.size {
        for j in 0..inner {
            if let (Some(a), Some(b)) = (cx.dg.element(x, c), cx.dg.element(y, c * inner + j)) {
                cx.dg.unite(a, b);
            }
        }
    }
    true
}

/// Split along the tracked axis: output `j`'s channel `c` is input channel `offset_j + c`; the
/// sizes (constant input or attribute) are rewritten after shrinking.
fn split(cx: &mut Ctx, i: usize, node: &Node) -> bool {
    let Some(x) = node.inputs.first().copied().flatten() else {
        return false;
    };
    let Some(t) = cx.dg.tracked(x).cloned() else {
        return true;
    };
    let rank = dims_len(cx, x) as i64;
    let a = attr_int(node, "axis").unwrap_or(0);
    if (if a < 0 { a + rank } else { a }) != t.axis as i64 {
        return false;
    }
    let sizes = node.inputs.get(1).copied().flatten();
    let has_attr = attr_ints(node, "split").is_some();
    if sizes.is_some() && cx.private_const(sizes).is_none() || sizes.is_none() && !has_attr {
        return false;
    }
    let outs: Vec<ValueId> = node.outputs.iter().flatten().copied().collect();
    if outs.len() != node.outputs.len() {
        return false;
    }
    let mut off = 0;
    for &y in &outs {
        if !cx.track(Some(y), t.axis) {
            return false;
        }
        let n = cx.dg.tracked(y).map_or(0, |o| o.size);
        for c in 0..n {
            match (cx.dg.element(x, off + c), cx.dg.element(y, c)) {
                (Some(a), Some(b)) => cx.dg.unite(a, b),
                _ => return false,
            }
        }
        off += n;
    }
    cx.dg.fixups.push(Fixup::Split {
        node: NodeId(i as u32),
        sizes,
        outputs: outs,
    });
    true
}
