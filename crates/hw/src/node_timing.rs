//! Per-node times inside the calibration models: every model gets a 1-thread session whose
//! step times are read on the thread's CPU clock, then all models are warmed up and profiled
//! in interleaved rounds (so a slow spell of the shared machine does not hit one model's every
//! run), as [`crate::measure`] describes.

use crate::calib_set::CalibCase;
use crate::calibrate::{inputs_for, session, CalibrateOptions, SINGLE_LAYER_WEIGHT};
use crate::canary::Canary;
use crate::host::io_bytes;
use crate::host_nodes::{host_nodes, CacheSizes, HostNode};
use crate::measure::{
    fast_half, fastest_half, median, repeat, thread_clock_overhead, thread_cpu_seconds, Budget,
};
use crate::{HwError, Result};
use edgeopt_runtime::Session;
use edgeopt_tensor::Tensor;
use serde::Serialize;
use std::collections::BTreeMap;

/// One node measured inside a calibration model.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub case: String,
    #[serde(flatten)]
    pub node: HostNode,
    /// Median seconds of the node over the fastest half of the profiled runs.
    pub seconds: f64,
    /// Weight of the sample in the fit: the node's share of its model's time (rows are also
    /// divided by the node's time, so the fit minimizes errors relative to the whole model).
    pub weight: f64,
    /// From a single-layer model (weighted by [`SINGLE_LAYER_WEIGHT`]).
    pub single_layer: bool,
}

pub use crate::host::Outside as IoOverhead;

/// One profiled run: the run's time and each step's time.
type Run = (f64, Vec<f64>);

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
    /// Times of the runs without profiling.
    plain: Vec<f64>,
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
            plain: Vec::new(),
        })
    }

    /// Untimed runs (see [`Budget::warmup_runs`]).
    fn warm_up(&mut self, b: &Budget) -> Result<()> {
        let (s, inputs) = (&mut self.session, &self.inputs);
        repeat(b.warmup_runs, b.warmup_s, || {
            s.run(inputs).map(|_| ()).map_err(rt)
        })?;
        Ok(())
    }

    /// One round of runs, alternately profiled and plain (at least `min_runs` of each). The
    /// runtime's step times accumulate while profiling stays on, so it is switched off and on
    /// around every profiled run (outside the timed span, which is the run alone). The plain
    /// runs give the model's time without the clock readings profiling adds.
    fn round(&mut self, b: &Budget) -> Result<()> {
        let (s, inputs, cpu) = (&mut self.session, &self.inputs, self.cpu);
        let (runs, plain) = (&mut self.runs, &mut self.plain);
        let mut k = 0usize;
        repeat(2 * b.min_runs, b.min_round_s, || {
            k += 1;
            if k.is_multiple_of(2) {
                let t = repeat(1, 0.0, || s.run(inputs).map(|_| ()).map_err(rt))?[0];
                plain.push(if cpu { t.cpu_s } else { t.wall_s });
                return Ok(());
            }
            s.set_profiling(true);
            let t = repeat(1, 0.0, || s.run(inputs).map(|_| ()).map_err(rt))?[0];
            let whole = if cpu { t.cpu_s } else { t.wall_s };
            let steps: Vec<f64> = s.profile().iter().map(|p| p.time.as_secs_f64()).collect();
            s.set_profiling(false);
            runs.push((whole, steps));
            Ok(())
        })?;
        Ok(())
    }

    /// Of the fastest half of the profiled runs (the others carry other processes' cache and
    /// core contention; validation compares with the same statistic): per node, the median
    /// step time less `clock_overhead` (what reading the clock around a step adds to it); per
    /// model, the time outside the steps: the plain runs' statistic less the steps' sum.
    fn finish(self, clock_overhead: f64) -> (Vec<Sample>, IoOverhead) {
        let whole: Vec<f64> = self.runs.iter().map(|r| r.0).collect();
        let mut per_step: Vec<Vec<f64>> = vec![Vec::new(); self.kernels.len()];
        for (_, steps) in fastest_half(&whole).into_iter().map(|i| &self.runs[i]) {
            for (v, t) in per_step.iter_mut().zip(steps) {
                v.push(*t);
            }
        }
        let step_s: Vec<f64> = per_step
            .iter_mut()
            .map(|v| (median(v) - clock_overhead).max(1e-9))
            .collect();
        let plain_s = fast_half(&self.plain);
        let outside = (plain_s - step_s.iter().sum::<f64>()).max(0.0);
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
                Some(Sample {
                    case: name.clone(),
                    seconds: *step_s.get(*step_of.get(&n.node)?)?,
                    node: n,
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
        let outside = IoOverhead {
            io_bytes: self.io_bytes,
            steps: step_s.len(),
            nodes_s: step_s.iter().sum(),
            outside_s: outside,
        };
        (samples, outside)
    }
}

/// Profiles every model of `cases`: a warm-up round, then `opts.budget.rounds` interleaved
/// rounds, the [`Canary`] timed in each. Returns the node samples, per model its I/O bytes and
/// time outside the nodes, and the canary's seconds.
pub fn measure_nodes(
    cases: &[CalibCase],
    opts: &CalibrateOptions,
    caches: &CacheSizes,
) -> Result<(Vec<Sample>, Vec<IoOverhead>, f64)> {
    let mut ready = cases
        .iter()
        .map(|c| Profiled::new(c, opts.threads, caches))
        .collect::<Result<Vec<_>>>()?;
    let mut canary = Canary::new()?;
    let b = &opts.budget;
    canary.warm_up(b)?;
    for p in &mut ready {
        p.warm_up(b)?;
    }
    for _ in 0..b.rounds.max(1) {
        for p in &mut ready {
            p.round(b)?;
        }
        canary.round(b)?;
    }
    let clock_overhead = if opts.threads == 1 {
        thread_clock_overhead()
    } else {
        0.0
    };
    let mut samples = Vec::new();
    let mut outside = Vec::new();
    for p in ready {
        let (s, o) = p.finish(clock_overhead);
        samples.extend(s);
        outside.push(o);
    }
    Ok((samples, outside, canary.seconds()))
}
