//! Per-node times inside the calibration models: every model gets a 1-thread session whose
//! step times are read on the thread's CPU clock, then all models are profiled in interleaved
//! rounds (so a slow spell of the shared machine does not hit one model's every run).

use crate::calib_set::CalibCase;
use crate::calibrate::{
    inputs_for, median, session, thread_cpu_seconds, CalibrateOptions, SINGLE_LAYER_WEIGHT,
};
use crate::host::io_bytes;
use crate::host_nodes::{host_nodes, CacheSizes, HostNode};
use crate::{HwError, Result};
use edgeopt_runtime::Session;
use edgeopt_tensor::Tensor;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// One node measured inside a calibration model.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub case: String,
    #[serde(flatten)]
    pub node: HostNode,
    /// Median seconds of the node over the fastest quarter of the profiled runs.
    pub seconds: f64,
    /// Weight of the sample in the fit: the node's share of its model's time (rows are also
    /// divided by the node's time, so the fit minimizes errors relative to the whole model).
    pub weight: f64,
    /// From a single-layer model (weighted by [`SINGLE_LAYER_WEIGHT`]).
    pub single_layer: bool,
}

/// A model's input + output bytes and its median seconds per run outside the nodes.
pub type IoOverhead = (u64, f64);

/// One profiled run: the run's time, each step's time, the time outside the steps.
type Run = (f64, Vec<f64>, f64);

/// A calibration model ready to profile.
struct Profiled {
    name: String,
    single_layer: bool,
    session: Session,
    inputs: Vec<Tensor>,
    cpu: bool,
    kernels: Vec<(usize, String)>,
    nodes: Vec<HostNode>,
    io_bytes: u64,
    runs: Vec<Run>,
}

fn rt(e: edgeopt_runtime::Error) -> HwError {
    HwError::Invalid(format!("runtime: {e}"))
}

impl Profiled {
    fn new(c: &CalibCase, threads: usize, caches: &CacheSizes) -> Result<Profiled> {
        let mut model = c.case.model.clone();
        if !c.case.shapes.is_empty() {
            let refs: Vec<(&str, &[usize])> = c
                .case
                .shapes
                .iter()
                .map(|(n, s)| (n.as_str(), s.as_slice()))
                .collect();
            edgeopt_passes::specialize_inputs(&mut model, &refs)?;
        }
        let mut s = session(&model, threads)?;
        // On a shared machine wall-clock step times include waits for a core (every run of
        // a long step is preempted); with one thread, the thread's CPU time leaves them out.
        let cpu = threads == 1;
        if cpu {
            s.set_profile_clock(Some(thread_cpu_seconds));
        }
        let inputs = inputs_for(&model)?;
        let kernels = s.node_kernels();
        let graph = &s
            .optimized_model()
            .ok_or_else(|| HwError::Invalid(format!("{}: no plan", c.case.name)))?
            .graph;
        let nodes = host_nodes(graph, Some(&kernels), caches)?;
        let io_bytes = io_bytes(graph);
        Ok(Profiled {
            name: c.case.name.clone(),
            single_layer: c.single_layer,
            session: s,
            inputs,
            cpu,
            kernels,
            nodes,
            io_bytes,
            runs: Vec::new(),
        })
    }

    /// A warm-up run, then `runs` profiled runs, one run per profile: the runtime's step times
    /// accumulate while profiling stays on, so it is switched off and on around every run.
    fn round(&mut self, runs: usize) -> Result<()> {
        let s = &mut self.session;
        s.run(&self.inputs).map_err(rt)?;
        for _ in 0..runs.max(1) {
            s.set_profiling(true);
            let (t0, c0) = (Instant::now(), thread_cpu_seconds());
            s.run(&self.inputs).map_err(rt)?;
            let whole = if self.cpu {
                thread_cpu_seconds() - c0
            } else {
                t0.elapsed().as_secs_f64()
            };
            let steps: Vec<f64> = s.profile().iter().map(|p| p.time.as_secs_f64()).collect();
            s.set_profiling(false);
            let sum: f64 = steps.iter().sum();
            self.runs.push((whole, steps, (whole - sum).max(0.0)));
        }
        Ok(())
    }

    /// Of the fastest quarter of the runs (the others carry other processes' cache and core
    /// contention; validation compares with the fastest runs too): per node, the median step
    /// time; per run, the time outside the steps.
    fn finish(mut self) -> (Vec<Sample>, IoOverhead) {
        self.runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.runs.truncate(self.runs.len().div_ceil(4));
        let mut per_step: Vec<Vec<f64>> = vec![Vec::new(); self.kernels.len()];
        let mut outside = Vec::new();
        for (_, steps, out) in &self.runs {
            for (v, t) in per_step.iter_mut().zip(steps) {
                v.push(*t);
            }
            outside.push(*out);
        }
        let step_of: BTreeMap<usize, usize> = self
            .kernels
            .iter()
            .enumerate()
            .map(|(k, (i, _))| (*i, k))
            .collect();
        let (name, single) = (self.name, self.single_layer);
        let mut samples: Vec<Sample> = self
            .nodes
            .into_iter()
            .filter(|n| !n.is_free())
            .filter_map(|n| {
                let k = *step_of.get(&n.node)?;
                let seconds = median(&mut per_step[k]).max(1e-9);
                Some(Sample {
                    case: name.clone(),
                    node: n,
                    seconds,
                    weight: 1.0,
                    single_layer: single,
                })
            })
            .collect();
        let total: f64 = samples.iter().map(|s| s.seconds).sum();
        let scale = if single { SINGLE_LAYER_WEIGHT } else { 1.0 };
        for s in &mut samples {
            s.weight = scale * s.seconds / total.max(1e-12);
        }
        (samples, (self.io_bytes, median(&mut outside)))
    }
}

/// Profiles every model of `cases`: `rounds` interleaved rounds of `runs / rounds` runs each.
/// Returns the node samples and, per model, its I/O bytes and time outside the nodes.
pub fn measure_nodes(
    cases: &[CalibCase],
    opts: &CalibrateOptions,
    caches: &CacheSizes,
) -> Result<(Vec<Sample>, Vec<IoOverhead>)> {
    let mut ready = cases
        .iter()
        .map(|c| Profiled::new(c, opts.threads, caches))
        .collect::<Result<Vec<_>>>()?;
    let rounds = opts.rounds.clamp(1, opts.runs.max(1));
    let per_round = opts.runs.max(1).div_ceil(rounds);
    for _ in 0..rounds {
        for p in &mut ready {
            p.round(per_round)?;
        }
    }
    let mut samples = Vec::new();
    let mut outside = Vec::new();
    for p in ready {
        let (s, o) = p.finish();
        samples.extend(s);
        outside.push(o);
    }
    Ok((samples, outside))
}
