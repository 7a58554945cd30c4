//! Phase 4: one executable plan per input shape: the arena, the lowered steps with their
//! buffer views precomputed, and the loop that runs them.

use crate::kernel::{Buf, Io, Kernel};
use crate::lower::{LowerCtx, LoweringRegistry, TensorInfo};
use crate::plan::{is_alias_op, is_inplace_op, plan_memory, MemoryPlan, ALIGN};
use crate::prepare::Prepared;
use crate::{Error, Result};
use bytes::Bytes;
use edgeopt_ir::exec::Scope;
use edgeopt_ir::op::{EvalCtx, Inputs};
use edgeopt_ir::{Graph, Value, ValueId};
use edgeopt_tensor::{DType, Tensor};
use std::time::{Duration, Instant};

/// Where a value lives while the plan runs.
#[derive(Clone, Debug)]
enum Loc {
    Arena {
        offset: usize,
        size: usize,
        dtype: DType,
        shape: Vec<usize>,
    },
    Const,
    /// Shape known only at run time (or not a tensor): held as a `Value`.
    Dynamic,
}

enum Action {
    Kernel(Box<dyn Kernel>),
    /// The IR's reference eval.
    Fallback,
    /// An alias whose output already shares its input's bytes.
    Nop,
}

struct Step {
    node: usize,
    action: Action,
    ins: Vec<Buf>,
    outs: Vec<Buf>,
}

/// Timing of one step, from a profiled run.
#[derive(Clone, Debug)]
pub struct StepProfile {
    pub node: String,
    pub op_type: String,
    /// Kernel name, `reference` for the fallback, `alias` for zero-copy views.
    pub kernel: String,
    pub time: Duration,
    /// Multiply-accumulates of the node, from the IR's cost model.
    pub macs: u64,
}

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; ALIGN]);

/// A prepared model lowered for one set of input shapes.
pub struct Executable {
    pub(crate) prepared: Prepared,
    pub(crate) plan: MemoryPlan,
    arena: Vec<Line>,
    scratch: Vec<f32>,
    steps: Vec<Step>,
    locs: Vec<Loc>,
    dynamic: Vec<Option<Value>>,
    feeds: Vec<ValueId>,
    pub(crate) threads: usize,
    times: Vec<Duration>,
    pub(crate) profiling: bool,
    /// Clock of profiled step times in seconds (`None`: wall time).
    pub(crate) step_clock: Option<fn() -> f64>,
}

// SAFETY: the raw pointers in steps point into `arena` and into constant tensors owned by
// `prepared`; both move with the executable and are only used through `&mut self`.
unsafe impl Send for Executable {}

fn info(g: &Graph, v: ValueId) -> Option<TensorInfo> {
    let t = g.value(v).ty.as_tensor()?;
    Some(TensorInfo {
        dtype: t.dtype?,
        shape: t.concrete_shape()?,
    })
}

impl Executable {
    /// Plans memory and lowers every scheduled node.
    pub fn build(prepared: Prepared, registry: &LoweringRegistry, threads: usize) -> Result<Self> {
        let plan = crate::trace::phase("memory plan", || plan_memory(&prepared));
        let g = &prepared.model.graph;
        let opset = prepared.model.opset();
        let lines = plan.peak_bytes.div_ceil(ALIGN);
        let mut arena = vec![Line([0; ALIGN]); lines];
        let base = arena.as_mut_ptr() as *mut u8;
        let mut locs = vec![Loc::Dynamic; g.values.len()];
        for (v, loc) in locs.iter_mut().enumerate() {
            if prepared.consts[v].is_some() {
                *loc = Loc::Const;
            } else if let Some(p) = plan.get(ValueId(v as u32)) {
                let i = info(g, p.value).expect("planned values have static types");
                *loc = Loc::Arena {
                    offset: p.offset,
                    size: p.size,
                    dtype: i.dtype,
                    shape: i.shape,
                };
            }
        }
        let buf = |v: ValueId| -> Option<Buf> {
            match &locs[v.0 as usize] {
                // SAFETY (of the pointer arithmetic): offset + size <= peak_bytes <= arena bytes.
                Loc::Arena { offset, size, .. } => {
                    Some(Buf::new(unsafe { base.add(*offset) }, *size))
                }
                Loc::Const => {
                    let t = prepared.consts[v.0 as usize].as_ref()?;
                    let b = t.as_bytes();
                    Some(Buf::new(b.as_ptr() as *mut u8, b.len()))
                }
                Loc::Dynamic => None,
            }
        };
        let root = |v: ValueId| plan.get(v).map(|p| p.shares.unwrap_or(p.value));
        let mut steps = Vec::with_capacity(prepared.schedule.len());
        let mut scratch_len = 0usize;
        for &ni in &prepared.schedule {
            let node = &g.nodes[ni];
            let (dom, op) = (node.op.domain(), node.op_type());
            let ins: Option<Vec<Buf>> = node
                .inputs
                .iter()
                .map(|v| match v {
                    None => Some(Buf::EMPTY),
                    Some(v) => buf(*v),
                })
                .collect();
            let outs: Option<Vec<Buf>> = node
                .outputs
                .iter()
                .map(|v| match v {
                    None => Some(Buf::EMPTY),
                    Some(v) if matches!(locs[v.0 as usize], Loc::Arena { .. }) => buf(*v),
                    Some(_) => None,
                })
                .collect();
            let fallback = Step {
                node: ni,
                action: Action::Fallback,
                ins: Vec::new(),
                outs: Vec::new(),
            };
            let (Some(mut ins), Some(outs)) = (ins, outs) else {
                steps.push(fallback);
                continue;
            };
            let out0 = node.outputs.first().copied().flatten();
            let in0 = node.inputs.first().copied().flatten();
            if is_alias_op(dom, op) && out0.is_some() && out0.and_then(root) == in0.and_then(root) {
                steps.push(Step {
                    node: ni,
                    action: Action::Nop,
                    ins,
                    outs,
                });
                continue;
            }
            let mut inplace = None;
            if let Some(r) = out0.and_then(root) {
                if is_inplace_op(dom, op) {
                    inplace = node.inputs.iter().position(|v| v.and_then(root) == Some(r));
                }
            }
            if let Some(k) = inplace {
                ins[k] = Buf::EMPTY;
            }
            let ctx = LowerCtx {
                node,
                opset,
                inputs: node
                    .inputs
                    .iter()
                    .map(|v| v.and_then(|v| info(g, v)))
                    .collect(),
                outputs: node
                    .outputs
                    .iter()
                    .map(|v| v.and_then(|v| info(g, v)))
                    .collect(),
                consts: node
                    .inputs
                    .iter()
                    .map(|v| v.and_then(|v| prepared.consts[v.0 as usize].clone()))
                    .collect(),
                inplace,
            };
            let kernel = registry.lower(&ctx).map_err(|e| Error::Node {
                node: node.name.clone(),
                op_type: op.to_string(),
                msg: format!("lowering failed: {e}"),
            })?;
            match kernel {
                Some(k) => {
                    scratch_len = scratch_len.max(k.scratch_len());
                    steps.push(Step {
                        node: ni,
                        action: Action::Kernel(k),
                        ins,
                        outs,
                    });
                }
                None => steps.push(fallback),
            }
        }
        let feeds = edgeopt_ir::exec::feed_inputs(g);
        let n = steps.len();
        let nv = g.values.len();
        Ok(Executable {
            plan,
            arena,
            scratch: vec![0.0; scratch_len],
            steps,
            locs,
            dynamic: vec![None; nv],
            feeds,
            threads: threads.max(1),
            times: vec![Duration::ZERO; n],
            profiling: false,
            step_clock: None,
            prepared,
        })
    }

    /// Scratch floats shared by the kernels.
    pub fn scratch_len(&self) -> usize {
        self.scratch.len()
    }

    /// Steps run by the reference eval, as (node, op_type).
    pub fn fallback_nodes(&self) -> Vec<(String, String)> {
        let g = &self.prepared.model.graph;
        self.steps
            .iter()
            .filter(|s| matches!(s.action, Action::Fallback))
            .map(|s| {
                (
                    g.nodes[s.node].name.clone(),
                    g.nodes[s.node].op_type().to_string(),
                )
            })
            .collect()
    }

    fn arena_bytes(&mut self, offset: usize, size: usize) -> &mut [u8] {
        let base = self.arena.as_mut_ptr() as *mut u8;
        // SAFETY: planned ranges lie inside the arena; no other view is live (we hold &mut).
        unsafe { std::slice::from_raw_parts_mut(base.add(offset), size) }
    }

    /// Copies the inputs in (their shapes and dtypes were checked by the session).
    pub(crate) fn set_input(&mut self, i: usize, v: &Value) -> Result<()> {
        let id = self.feeds[i];
        match (&self.locs[id.0 as usize], v) {
            (Loc::Arena { offset, size, .. }, Value::Tensor(t)) => {
                let (o, s) = (*offset, *size);
                let src = t.as_bytes();
                if src.len() != s {
                    return Err(Error::Input(format!(
                        "input {i} has {} bytes, the plan expects {s}",
                        src.len()
                    )));
                }
                self.arena_bytes(o, s).copy_from_slice(src);
            }
            _ => self.dynamic[id.0 as usize] = Some(v.clone()),
        }
        Ok(())
    }

    /// Runs every step.
    pub(crate) fn run_steps(&mut self) -> Result<()> {
        for si in 0..self.steps.len() {
            let t0 = self.profiling.then(Instant::now);
            let c0 = self.step_clock.filter(|_| self.profiling).map(|f| f());
            let step = &mut self.steps[si];
            match &mut step.action {
                Action::Kernel(k) => {
                    // SAFETY: the memory plan keeps the buffers of one step disjoint (in-place
                    // inputs are handed over empty), and they point into live memory.
                    let mut io =
                        unsafe { Io::new(&step.ins, &step.outs, &mut self.scratch, self.threads) };
                    k.run(&mut io).map_err(|e| {
                        let node = &self.prepared.model.graph.nodes[step.node];
                        Error::Node {
                            node: node.name.clone(),
                            op_type: node.op_type().to_string(),
                            msg: e.to_string(),
                        }
                    })?;
                }
                Action::Nop => {}
                Action::Fallback => {
                    let ni = step.node;
                    self.fallback(ni)?;
                }
            }
            if let Some(t0) = t0 {
                self.times[si] += match (c0, self.step_clock) {
                    (Some(c0), Some(f)) => Duration::from_secs_f64((f() - c0).max(0.0)),
                    _ => t0.elapsed(),
                };
            }
        }
        Ok(())
    }

    fn read(&mut self, v: ValueId) -> Result<Value> {
        match self.locs[v.0 as usize].clone() {
            Loc::Arena {
                offset,
                size,
                dtype,
                shape,
            } => {
                let b = Bytes::copy_from_slice(self.arena_bytes(offset, size));
                Ok(Value::Tensor(Tensor::from_bytes(dtype, shape, b)?))
            }
            Loc::Const => Ok(Value::Tensor(
                self.prepared.consts[v.0 as usize].clone().expect("const"),
            )),
            Loc::Dynamic => self.dynamic[v.0 as usize].clone().ok_or_else(|| {
                Error::Other(format!(
                    "'{}' is read before it is computed",
                    self.prepared.model.graph.value(v).name
                ))
            }),
        }
    }

    fn fallback(&mut self, ni: usize) -> Result<()> {
        let node = self.prepared.model.graph.nodes[ni].clone();
        let err = |msg: String| Error::Node {
            node: node.name.clone(),
            op_type: node.op_type().to_string(),
            msg,
        };
        let args: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|v| v.map(|v| self.read(v)).transpose())
            .collect::<Result<_>>()?;
        // Subgraphs resolve outer values by name: give them every value they capture.
        let mut scope_values: Vec<Option<Value>> = Vec::new();
        if !node.implicit_inputs.is_empty() {
            scope_values = vec![None; self.prepared.model.graph.values.len()];
            for &v in &node.implicit_inputs {
                scope_values[v.0 as usize] = Some(self.read(v)?);
            }
        }
        let outs = {
            let g = &self.prepared.model.graph;
            let scope = Scope::root(g, &scope_values);
            let ctx = EvalCtx {
                opset: self.prepared.model.opset(),
                num_outputs: node.outputs.len(),
                scope: &scope,
            };
            node.op
                .eval(&ctx, &Inputs { values: &args })
                .map_err(|e| err(e.to_string()))?
        };
        for (slot, v) in node.outputs.iter().zip(outs) {
            let Some(id) = slot else { continue };
            match self.locs[id.0 as usize].clone() {
                Loc::Arena {
                    offset,
                    size,
                    dtype,
                    shape,
                } => {
                    let Value::Tensor(t) = &v else {
                        return Err(err(format!(
                            "output is a {}, a tensor was planned",
                            v.kind()
                        )));
                    };
                    if t.dtype() != dtype || t.shape() != shape.as_slice() {
                        return Err(err(format!(
                            "output '{}' is {} {:?}, the plan inferred {dtype} {shape:?}",
                            self.prepared.model.graph.value(*id).name,
                            t.dtype(),
                            t.shape()
                        )));
                    }
                    self.arena_bytes(offset, size).copy_from_slice(t.as_bytes());
                }
                Loc::Const => {}
                Loc::Dynamic => self.dynamic[id.0 as usize] = Some(v),
            }
        }
        Ok(())
    }

    /// Graph output `i` as a value (copied out of the arena).
    pub(crate) fn output(&mut self, i: usize) -> Result<Value> {
        let v = self.prepared.model.graph.outputs[i];
        self.read(v)
    }

    /// Graph output `i` as f32 data inside the arena (no copy), when it is planned f32.
    pub(crate) fn output_f32(&self, i: usize) -> Option<&[f32]> {
        let v = self.prepared.model.graph.outputs.get(i)?;
        match &self.locs[v.0 as usize] {
            Loc::Arena {
                offset,
                size,
                dtype: DType::F32,
                ..
            } => {
                let base = self.arena.as_ptr() as *const u8;
                // SAFETY: inside the arena, f32-aligned (64-byte offsets), no writer is live.
                Some(unsafe {
                    std::slice::from_raw_parts(base.add(*offset) as *const f32, size / 4)
                })
            }
            _ => None,
        }
    }

    /// Per-step timings accumulated by profiled runs, with kernel names and MACs.
    pub(crate) fn profile(&self) -> Vec<StepProfile> {
        let g = &self.prepared.model.graph;
        let costs = edgeopt_ir::infer::node_costs(g);
        self.steps
            .iter()
            .zip(&self.times)
            .map(|(s, t)| {
                let n = &g.nodes[s.node];
                StepProfile {
                    node: n.name.clone(),
                    op_type: n.op_type().to_string(),
                    kernel: match &s.action {
                        Action::Kernel(k) => k.name().to_string(),
                        Action::Fallback => "reference".into(),
                        Action::Nop => "alias".into(),
                    },
                    time: *t,
                    macs: costs.get(s.node).map_or(0, |c| c.macs),
                }
            })
            .collect()
    }

    pub(crate) fn reset_profile(&mut self) {
        self.times.iter_mut().for_each(|t| *t = Duration::ZERO);
    }
}
