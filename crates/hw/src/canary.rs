//! The canary: two small fixed models (a MobileNetV2 and a ResNet at a weight seed neither the
//! calibration nor the validation set uses) timed in every round of `hw calibrate` and `hw
//! validate`. On a shared machine the CPU time of the same work drifts by up to 1.3-1.9x over
//! minutes (other tenants' memory traffic, the host's sibling hyperthread, frequency), the same
//! for every model at that moment; the canary's time now against its time during calibration
//! measures that drift, so `hw validate` can report the error of the model apart from the
//! drift of the machine (the raw comparison is reported too).

use crate::calibrate::{inputs_for, session};
use crate::measure::{fast_half, repeat, Budget, RunTime};
use crate::validate::zoo_case;
use crate::{HwError, Result};
use edgeopt_runtime::Session;
use edgeopt_tensor::Tensor;

/// Weight seed of the canary models (calibration uses 1, validation 0).
pub const SEED: u64 = 2;

/// The canary's sessions (1 thread), inputs and the times taken so far.
pub struct Canary {
    models: Vec<(Session, Vec<Tensor>)>,
    /// Per round, the canary's time (the sum over its models of their runs' fast half).
    rounds: Vec<f64>,
}

impl Canary {
    /// Builds the canary's sessions.
    pub fn new() -> Result<Canary> {
        let cases = [
            zoo_case("mobilenetv2", 0.35, 0.5, Some(96), SEED)?,
            zoo_case("resnet", 0.5, 0.5, Some(32), SEED)?,
        ];
        let models = cases
            .iter()
            .map(|c| Ok((session(&c.model, 1)?, inputs_for(&c.model)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Canary {
            models,
            rounds: Vec::new(),
        })
    }

    fn run_all(&mut self, min_runs: usize, min_s: f64) -> Result<Vec<Vec<RunTime>>> {
        self.models
            .iter_mut()
            .map(|(s, inputs)| {
                repeat(min_runs, min_s, || {
                    s.run(inputs)
                        .map(|_| ())
                        .map_err(|e| HwError::Invalid(format!("canary: {e}")))
                })
            })
            .collect()
    }

    /// Untimed runs before the first round.
    pub fn warm_up(&mut self, b: &Budget) -> Result<()> {
        self.run_all(b.warmup_runs, b.warmup_s).map(|_| ())
    }

    /// One timed round.
    pub fn round(&mut self, b: &Budget) -> Result<()> {
        let t = self.run_all(b.min_runs, b.min_round_s)?;
        let sum = t
            .iter()
            .map(|runs| fast_half(&runs.iter().map(|r| r.cpu_s).collect::<Vec<_>>()))
            .sum();
        self.rounds.push(sum);
        Ok(())
    }

    /// The canary's CPU seconds: the fast half of its rounds (0 before any round).
    pub fn seconds(&self) -> f64 {
        fast_half(&self.rounds)
    }
}
