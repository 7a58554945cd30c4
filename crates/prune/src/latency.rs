//! Measured latency of models on the runtime, compared in one process: every model gets a
//! 1-thread session, and the models run in alternation (A, B, A, B, ...), so a slow spell of a
//! shared machine hits all of them alike. Whole runs and every step are timed on a caller-given
//! clock (a thread CPU-time clock leaves out the time the thread waits for a core).

use crate::{PruneError, Result};
use edgeopt_ir::Model;
use edgeopt_runtime::{Session, SessionOptions};
use edgeopt_tensor::Tensor;
use std::collections::HashMap;

/// One step of a model's plan: its median time over the profiled runs.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTime {
    /// Node of the optimized graph (fused nodes keep the name of the node they grew from).
    pub node: String,
    /// Op type of the optimized node.
    pub op_type: String,
    /// Kernel the runtime picked (`reference` for the IR's eval, `alias` for views).
    pub kernel: String,
    /// Multiply-accumulates of the node.
    pub macs: u64,
    /// Median seconds of the step.
    pub seconds: f64,
}

/// One model's measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Median seconds of an unprofiled run.
    pub run_seconds: f64,
    /// Every step of the plan, in run order.
    pub steps: Vec<StepTime>,
}

impl Measured {
    /// Sum of the steps' median seconds per key (e.g. op type or kernel), with their MACs.
    pub fn totals_by(&self, key: impl Fn(&StepTime) -> String) -> HashMap<String, (f64, u64)> {
        let mut out: HashMap<String, (f64, u64)> = HashMap::new();
        for s in &self.steps {
            let e = out.entry(key(s)).or_insert((0.0, 0));
            e.0 += s.seconds;
            e.1 += s.macs;
        }
        out
    }

    /// Median seconds of the step named `node` (summed if several steps share the name).
    pub fn node_seconds(&self, node: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .steps
            .iter()
            .filter(|s| s.node == node)
            .map(|s| s.seconds)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum())
    }
}

fn rt(e: edgeopt_runtime::Error) -> PruneError {
    PruneError::Graph(format!("runtime: {e}"))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Measures every model on `feeds` (all models take the same inputs): a warm-up run each,
/// then `runs` rounds; in every round each model runs once unprofiled (the whole-run time) and
/// once profiled (the step times), models in alternation. `clock` returns seconds.
pub fn measure(
    models: &[&Model],
    feeds: &[Tensor],
    runs: usize,
    clock: fn() -> f64,
) -> Result<Vec<Measured>> {
    let mut sessions = Vec::with_capacity(models.len());
    for m in models {
        let opts = SessionOptions {
            threads: 1,
            ..Default::default()
        };
        let mut s = Session::new((*m).clone(), opts).map_err(rt)?;
        s.set_profile_clock(Some(clock));
        s.run(feeds).map_err(rt)?;
        sessions.push(s);
    }
    let n = models.len();
    let mut whole: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut steps: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n];
    let mut info: Vec<Vec<StepTime>> = vec![Vec::new(); n];
    for _ in 0..runs.max(1) {
        for (i, s) in sessions.iter_mut().enumerate() {
            let t = clock();
            s.run(feeds).map_err(rt)?;
            whole[i].push(clock() - t);
            s.set_profiling(true);
            s.run(feeds).map_err(rt)?;
            let p = s.profile();
            s.set_profiling(false);
            if steps[i].is_empty() {
                steps[i] = vec![Vec::new(); p.len()];
                info[i] = p
                    .iter()
                    .map(|p| StepTime {
                        node: p.node.clone(),
                        op_type: p.op_type.clone(),
                        kernel: p.kernel.clone(),
                        macs: p.macs,
                        seconds: 0.0,
                    })
                    .collect();
            }
            for (acc, p) in steps[i].iter_mut().zip(&p) {
                acc.push(p.time.as_secs_f64());
            }
        }
    }
    Ok((0..n)
        .map(|i| {
            let mut st = std::mem::take(&mut info[i]);
            for (s, t) in st.iter_mut().zip(steps[i].iter_mut()) {
                s.seconds = median(t);
            }
            Measured {
                run_seconds: median(&mut whole[i]),
                steps: st,
            }
        })
        .collect())
}
