//! The public entry point: a model, options, and one executable plan per input shape.

use crate::exec::{Executable, StepProfile};
use crate::plan::MemoryPlan;
use crate::prepare::prepare;
use crate::{Error, LoweringRegistry, Result};
use edgeopt_ir::{Model, Value};
use edgeopt_tensor::{DType, Tensor};
use std::path::Path;
use std::sync::Arc;

/// How a session is built.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Threads for intra-op parallelism (default: the available parallelism).
    pub threads: usize,
    /// Graph optimization level for `edgeopt_passes::optimize` (default 2).
    pub opt_level: u8,
    /// Shapes for inputs with dynamic dims, by name; other shapes come from the first run.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Lowerings (default: [`LoweringRegistry::with_defaults`]).
    pub lowering: Arc<LoweringRegistry>,
    /// Plans kept for different input shapes (the oldest is dropped beyond this).
    pub max_plans: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            opt_level: 2,
            input_shapes: Vec::new(),
            lowering: Arc::new(LoweringRegistry::with_defaults()),
            max_plans: 4,
        }
    }
}

/// One graph input the caller feeds.
#[derive(Clone, Debug)]
pub struct Feed {
    pub name: String,
    pub dtype: Option<DType>,
    /// Declared dims (None: symbolic or unknown).
    pub dims: Option<Vec<Option<usize>>>,
    /// Declared as a tensor (sequences and optionals are not specialized).
    pub is_tensor: bool,
}

/// A model ready to run many times.
pub struct Session {
    model: Model,
    opts: SessionOptions,
    feeds: Vec<Feed>,
    /// (input shapes, plan), most recently built last.
    plans: Vec<(Vec<Vec<usize>>, Executable)>,
    current: usize,
    step_clock: Option<fn() -> f64>,
}

impl Session {
    /// A session over `model`. When every input shape is known (declared or given in
    /// `opts.input_shapes`), the plan is built now; otherwise at the first run.
    pub fn new(model: Model, opts: SessionOptions) -> Result<Session> {
        let g = &model.graph;
        let feeds: Vec<Feed> = edgeopt_ir::exec::feed_inputs(g)
            .into_iter()
            .map(|v| {
                let ty = &g.value(v).ty;
                Feed {
                    name: g.value(v).name.clone(),
                    dtype: ty.dtype(),
                    dims: ty.shape().map(|s| s.iter().map(|d| d.known()).collect()),
                    is_tensor: ty.as_tensor().is_some(),
                }
            })
            .collect();
        let mut s = Session {
            model,
            opts,
            feeds,
            plans: Vec::new(),
            current: 0,
            step_clock: None,
        };
        if let Some(shapes) = s.static_shapes() {
            s.build_plan(shapes)?;
        }
        Ok(s)
    }

    /// Loads an ONNX file (with the passes' fused ops known) and builds a session.
    pub fn from_path(path: impl AsRef<Path>, opts: SessionOptions) -> Result<Session> {
        let model = crate::trace::phase("import", || {
            edgeopt_onnx::load_model(path.as_ref(), &edgeopt_onnx::LoadOptions::default())
        })?;
        Session::new(model, opts)
    }

    /// The inputs to feed, in order.
    pub fn feeds(&self) -> &[Feed] {
        &self.feeds
    }

    /// Names of the graph outputs, in order.
    pub fn output_names(&self) -> Vec<String> {
        let g = &self.model.graph;
        g.outputs.iter().map(|o| g.value(*o).name.clone()).collect()
    }

    /// Input shapes known without data.
    fn static_shapes(&self) -> Option<Vec<Vec<usize>>> {
        self.feeds
            .iter()
            .map(|f| {
                if let Some((_, s)) = self.opts.input_shapes.iter().find(|(n, _)| *n == f.name) {
                    return Some(s.clone());
                }
                f.dims
                    .as_ref()?
                    .iter()
                    .copied()
                    .collect::<Option<Vec<usize>>>()
            })
            .collect()
    }

    fn build_plan(&mut self, shapes: Vec<Vec<usize>>) -> Result<()> {
        let named: Vec<(String, Vec<usize>)> = self
            .feeds
            .iter()
            .zip(&shapes)
            .filter(|(f, _)| f.is_tensor)
            .map(|(f, s)| (f.name.clone(), s.clone()))
            .collect();
        let p = prepare(&self.model, &named, self.opts.opt_level)?;
        let mut exec = crate::trace::phase("plan + lower", || {
            Executable::build(p, &self.opts.lowering, self.opts.threads)
        })?;
        exec.step_clock = self.step_clock;
        if self.plans.len() >= self.opts.max_plans.max(1) {
            self.plans.remove(0);
        }
        self.plans.push((shapes, exec));
        self.current = self.plans.len() - 1;
        Ok(())
    }

    /// Picks (or builds) the plan for these input shapes, after checking count and dtypes.
    fn select(&mut self, inputs: &[Value]) -> Result<()> {
        if inputs.len() != self.feeds.len() {
            let names: Vec<&str> = self.feeds.iter().map(|f| f.name.as_str()).collect();
            return Err(Error::Input(format!(
                "the model takes {} inputs ({}), {} given",
                self.feeds.len(),
                names.join(", "),
                inputs.len()
            )));
        }
        for (f, v) in self.feeds.iter().zip(inputs) {
            let Value::Tensor(t) = v else { continue };
            if let Some(d) = f.dtype.filter(|&d| d != t.dtype()) {
                return Err(Error::Input(format!(
                    "input '{}' must be {d}, got {} {:?}",
                    f.name,
                    t.dtype(),
                    t.shape()
                )));
            }
            if let Some(dims) = &f.dims {
                let fits = dims.len() == t.rank()
                    && dims
                        .iter()
                        .zip(t.shape())
                        .all(|(d, &s)| d.is_none_or(|d| d == s));
                if !fits {
                    let want: Vec<String> = dims
                        .iter()
                        .map(|d| d.map_or("?".into(), |d| d.to_string()))
                        .collect();
                    return Err(Error::Input(format!(
                        "input '{}' must have shape [{}], got {:?}",
                        f.name,
                        want.join(", "),
                        t.shape()
                    )));
                }
            }
        }
        let matches = |key: &[Vec<usize>]| {
            key.len() == inputs.len()
                && key.iter().zip(inputs).all(|(k, v)| match v {
                    Value::Tensor(t) => k.as_slice() == t.shape(),
                    _ => k.is_empty(),
                })
        };
        if self
            .plans
            .get(self.current)
            .is_some_and(|(k, _)| matches(k))
        {
            return Ok(());
        }
        if let Some(i) = self.plans.iter().position(|(k, _)| matches(k)) {
            self.current = i;
            return Ok(());
        }
        let shapes = inputs
            .iter()
            .map(|v| match v {
                Value::Tensor(t) => t.shape().to_vec(),
                _ => Vec::new(),
            })
            .collect();
        self.build_plan(shapes)
    }

    fn exec(&mut self) -> &mut Executable {
        &mut self.plans[self.current].1
    }

    /// Runs the model on values (tensors, sequences, optionals), positional over
    /// [`Session::feeds`]; returns every graph output.
    pub fn run_values(&mut self, inputs: &[Value]) -> Result<Vec<Value>> {
        self.run_in_place_values(inputs)?;
        let n = self.model.graph.outputs.len();
        (0..n).map(|i| self.exec().output(i)).collect()
    }

    /// Runs the model on tensors (positional) and returns the output tensors.
    pub fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        let vals: Vec<Value> = inputs.iter().cloned().map(Value::Tensor).collect();
        self.run_values(&vals)?
            .into_iter()
            .zip(self.output_names())
            .map(|(v, name)| match v {
                Value::Tensor(t) => Ok(t),
                other => Err(Error::Other(format!(
                    "output '{name}' is a {}; use run_values",
                    other.kind()
                ))),
            })
            .collect()
    }

    /// Runs with inputs given by name (every feed must be given).
    pub fn run_named(&mut self, inputs: &[(&str, Tensor)]) -> Result<Vec<Tensor>> {
        let mut ordered = Vec::with_capacity(self.feeds.len());
        for f in &self.feeds {
            let t = inputs
                .iter()
                .find(|(n, _)| *n == f.name)
                .ok_or_else(|| Error::Input(format!("input '{}' is not given", f.name)))?;
            ordered.push(t.1.clone());
        }
        if let Some((n, _)) = inputs
            .iter()
            .find(|(n, _)| !self.feeds.iter().any(|f| f.name == *n))
        {
            return Err(Error::Input(format!("the model has no input '{n}'")));
        }
        self.run(&ordered)
    }

    /// Runs and leaves the outputs in the arena ([`Session::output_f32`]): no allocation
    /// once the plan for these shapes exists and its kernels allocate nothing.
    pub fn run_in_place(&mut self, inputs: &[Value]) -> Result<()> {
        self.run_in_place_values(inputs)
    }

    fn run_in_place_values(&mut self, inputs: &[Value]) -> Result<()> {
        self.select(inputs)?;
        let e = self.exec();
        for (i, v) in inputs.iter().enumerate() {
            e.set_input(i, v)?;
        }
        e.run_steps()
    }

    /// Output `i` of the last run as f32 data in the arena, when it is a planned f32 tensor.
    pub fn output_f32(&self, i: usize) -> Option<&[f32]> {
        self.plans.get(self.current)?.1.output_f32(i)
    }

    /// The memory plan of the current input shapes (after a run or an eager build).
    pub fn memory_plan(&self) -> Option<&MemoryPlan> {
        self.plans.get(self.current).map(|(_, e)| &e.plan)
    }

    /// Scratch bytes the kernels of the current plan share.
    pub fn scratch_bytes(&self) -> usize {
        self.plans
            .get(self.current)
            .map_or(0, |(_, e)| e.scratch_len() * 4)
    }

    /// Nodes of the current plan that run through the reference eval: (name, op_type).
    pub fn fallback_nodes(&self) -> Vec<(String, String)> {
        self.plans
            .get(self.current)
            .map(|(_, e)| e.fallback_nodes())
            .unwrap_or_default()
    }

    /// The optimized model the current plan runs.
    pub fn optimized_model(&self) -> Option<&Model> {
        self.plans.get(self.current).map(|(_, e)| &e.prepared.model)
    }

    /// Turns per-step timing on (clearing accumulated times) or off (keeping them).
    pub fn set_profiling(&mut self, on: bool) {
        for (_, e) in &mut self.plans {
            if on && !e.profiling {
                e.reset_profile();
            }
            e.profiling = on;
        }
    }

    /// The clock profiled step times are read from, in seconds (`None`: wall time). On a
    /// shared machine a CPU-time clock (e.g. `CLOCK_THREAD_CPUTIME_ID`, for 1-thread
    /// sessions) leaves out the time the thread waits for a core.
    pub fn set_profile_clock(&mut self, clock: Option<fn() -> f64>) {
        self.step_clock = clock;
        for (_, e) in &mut self.plans {
            e.step_clock = clock;
        }
    }

    /// Per-step times accumulated since profiling was turned on, for the current plan.
    pub fn profile(&self) -> Vec<StepProfile> {
        self.plans
            .get(self.current)
            .map(|(_, e)| e.profile())
            .unwrap_or_default()
    }

    /// The kernel of every step of the current plan, in run order: the index of the node in
    /// [`Session::optimized_model`]'s graph and the kernel's name (`reference` for the IR's
    /// reference eval, `alias` for zero-copy views). Known once the plan is built, no run needed.
    pub fn node_kernels(&self) -> Vec<(usize, String)> {
        self.plans
            .get(self.current)
            .map(|(_, e)| {
                let names = e.profile().into_iter().map(|p| p.kernel);
                e.prepared.schedule.iter().copied().zip(names).collect()
            })
            .unwrap_or_default()
    }

    /// Threads the kernels use.
    pub fn threads(&self) -> usize {
        self.opts.threads.max(1)
    }
}
