//! Phase 2: the static memory plan.
//!
//! Every intermediate tensor whose dtype and shape are known after [`crate::prepare`] gets a
//! fixed byte range in one arena, computed once per input shape:
//! - **liveness**: a value lives from the step producing it (graph inputs: step 0) to its last
//!   reader (graph outputs: past the last step);
//! - **aliases**: Reshape/Flatten/Squeeze/Unsqueeze/Identity outputs share their input's bytes
//!   (zero copy), which extends the buffer's lifetime;
//! - **in place**: an element-wise node writes over an input of the same shape and dtype whose
//!   buffer dies at that node;
//! - **placement**: buffers sorted by size (largest first) go to the lowest 64-byte aligned
//!   offset that overlaps no already placed buffer alive at the same time (the greedy-by-size
//!   heuristic of TFLite and ONNX Runtime).
//!
//! Graph inputs are copied into the arena by `run`; graph outputs stay in it until the next
//! run (`Session::run` copies them out). Kernel scratch (im2col) is a separate buffer sized by
//! the largest need of any kernel, so the activation peak is independent of the kernels.

use crate::prepare::{prepare, Prepared};
use crate::Result;
use edgeopt_ir::{Graph, Model, ValueId};
use edgeopt_tensor::DType;

/// Alignment of every buffer in the arena, in bytes.
pub const ALIGN: usize = 64;

/// Where one value lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedValue {
    pub value: ValueId,
    pub name: String,
    /// Byte offset in the arena.
    pub offset: usize,
    /// Bytes of this value.
    pub size: usize,
    /// Step producing it (0 for graph inputs).
    pub first: usize,
    /// Last step reading it (the step count for graph outputs).
    pub last: usize,
    /// The value whose buffer this one shares (an alias or an in-place result).
    pub shares: Option<ValueId>,
}

/// The arena layout of one prepared model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Arena bytes for activations (inputs, intermediates, outputs).
    pub peak_bytes: usize,
    /// Planned values, by value id order.
    pub values: Vec<PlannedValue>,
    /// For each value id, its index in `values` (None: constant, or not planned because its
    /// shape is only known at run time).
    pub index: Vec<Option<usize>>,
    /// Sum of the planned buffers' sizes: what a plan without reuse would take.
    pub naive_bytes: usize,
}

impl MemoryPlan {
    /// The planned value `v`, if any.
    pub fn get(&self, v: ValueId) -> Option<&PlannedValue> {
        self.index
            .get(v.0 as usize)
            .copied()
            .flatten()
            .map(|i| &self.values[i])
    }
}

/// Ops whose output is their first input reinterpreted (same bytes).
pub fn is_alias_op(domain: &str, op_type: &str) -> bool {
    domain.is_empty()
        && matches!(
            op_type,
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Identity"
        )
}

/// Element-wise ops that may write over an input of their output's shape.
pub fn is_inplace_op(domain: &str, op_type: &str) -> bool {
    match domain {
        "" => matches!(
            op_type,
            "Add"
                | "Sub"
                | "Mul"
                | "Div"
                | "Relu"
                | "Clip"
                | "Sigmoid"
                | "Tanh"
                | "HardSigmoid"
                | "HardSwish"
                | "LeakyRelu"
                | "Neg"
                | "Abs"
                | "Exp"
                | "Sqrt"
        ),
        "com.edgeopt" => op_type == "FusedElementwise",
        _ => false,
    }
}

/// Static byte size of value `v` when it can live in the arena.
fn static_bytes(g: &Graph, v: ValueId) -> Option<(DType, usize)> {
    let t = g.value(v).ty.as_tensor()?;
    let dtype = t.dtype?;
    if dtype == DType::String {
        return None;
    }
    let shape = t.concrete_shape()?;
    let n = edgeopt_tensor::shape::checked_numel(&shape).ok()?;
    Some((dtype, n.checked_mul(dtype.size_of())?))
}

/// The memory plan of a prepared model.
pub fn plan_memory(p: &Prepared) -> MemoryPlan {
    let g = &p.model.graph;
    let nv = g.values.len();
    let steps = p.schedule.len();
    let mut size: Vec<Option<(DType, usize)>> = vec![None; nv];
    let mut first = vec![0usize; nv];
    let mut last = vec![0usize; nv];
    let feeds = edgeopt_ir::exec::feed_inputs(g);
    for &v in &feeds {
        size[v.0 as usize] = static_bytes(g, v);
    }
    for (s, &ni) in p.schedule.iter().enumerate() {
        let node = &g.nodes[ni];
        for v in node.inputs.iter().flatten().chain(&node.implicit_inputs) {
            last[v.0 as usize] = s;
        }
        for v in node.outputs.iter().flatten() {
            if p.consts[v.0 as usize].is_none() {
                size[v.0 as usize] = static_bytes(g, *v);
                first[v.0 as usize] = s;
                last[v.0 as usize] = s;
            }
        }
    }
    for o in &g.outputs {
        last[o.0 as usize] = steps;
    }
    // Union-find-free sharing: each value points at the root owning its buffer.
    let mut root: Vec<usize> = (0..nv).collect();
    let mut buf_last = last.clone();
    for &ni in &p.schedule {
        let node = &g.nodes[ni];
        let (dom, op) = (node.op.domain(), node.op_type());
        let Some(Some(out)) = node.outputs.first().copied() else {
            continue;
        };
        let o = out.0 as usize;
        let Some((odt, osz)) = size[o] else { continue };
        let mut share = None;
        if is_alias_op(dom, op) && node.outputs.len() == 1 {
            if let Some(Some(x)) = node.inputs.first() {
                if size[x.0 as usize].is_some_and(|(d, s)| d == odt && s == osz) {
                    share = Some(x.0 as usize);
                }
            }
        } else if is_inplace_op(dom, op) {
            let here = first[o];
            let ins: Vec<usize> = node.inputs.iter().flatten().map(|v| v.0 as usize).collect();
            share = ins.iter().copied().find(|&x| {
                let r = root[x];
                let same_type = size[x] == Some((odt, osz)) && same_shape(g, x, o);
                let dies_here = buf_last[r] == here;
                let read_once = ins.iter().filter(|&&y| root[y] == r).count() == 1;
                same_type && dies_here && read_once
            });
        }
        if let Some(x) = share {
            let r = root[x];
            root[o] = r;
            buf_last[r] = buf_last[r].max(last[o]);
        }
    }
    // Buffers: one per root.
    let mut bufs: Vec<(usize, usize, usize, usize)> = Vec::new(); // (root, size, first, last)
    for v in 0..nv {
        if let Some((_, s)) = size[v] {
            if root[v] == v {
                bufs.push((v, s, first[v], buf_last[v]));
            }
        }
    }
    bufs.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new(); // (offset, size, first, last)
    let mut offset_of = vec![0usize; nv];
    let mut peak = 0usize;
    for &(r, s, f, l) in &bufs {
        let mut live: Vec<(usize, usize)> = placed
            .iter()
            .filter(|p| p.2 <= l && f <= p.3)
            .map(|p| (p.0, p.1))
            .collect();
        live.sort();
        let mut at = 0usize;
        for (o, ps) in live {
            if at + s <= o {
                break;
            }
            at = at.max(align(o + ps));
        }
        placed.push((at, s, f, l));
        offset_of[r] = at;
        peak = peak.max(align(at + s));
    }
    let mut values = Vec::new();
    let mut index = vec![None; nv];
    let mut naive = 0usize;
    for v in 0..nv {
        let Some((_, s)) = size[v] else { continue };
        naive += align(s);
        index[v] = Some(values.len());
        let r = root[v];
        values.push(PlannedValue {
            value: ValueId(v as u32),
            name: g.values[v].name.clone(),
            offset: offset_of[r],
            size: s,
            first: first[v],
            last: last[v],
            shares: (r != v).then_some(ValueId(r as u32)),
        });
    }
    MemoryPlan {
        peak_bytes: peak,
        values,
        index,
        naive_bytes: naive,
    }
}

fn same_shape(g: &Graph, a: usize, b: usize) -> bool {
    let s = |v: usize| g.values[v].ty.as_tensor().and_then(|t| t.concrete_shape());
    s(a).is_some() && s(a) == s(b)
}

fn align(x: usize) -> usize {
    x.div_ceil(ALIGN) * ALIGN
}

/// The memory plan the runtime uses for `model` with `shapes` at `opt_level`, without
/// building kernels: what a cost model reports as peak activation memory.
pub fn memory_plan(
    model: &Model,
    shapes: &[(String, Vec<usize>)],
    opt_level: u8,
) -> Result<MemoryPlan> {
    Ok(plan_memory(&prepare(model, shapes, opt_level)?))
}
