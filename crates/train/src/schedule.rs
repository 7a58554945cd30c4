//! Learning-rate schedules: constant, step decay, cosine; each with an optional linear warm-up.

use serde::{Deserialize, Serialize};

/// How the learning rate evolves over `total_steps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    Constant,
    /// Multiply by `gamma` every `every` steps.
    Step {
        every: u64,
        gamma: f32,
    },
    /// Cosine from the base rate down to `min_lr` at the last step.
    Cosine {
        min_lr: f32,
    },
}

/// A schedule with base rate and warm-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    pub base_lr: f32,
    pub schedule: Schedule,
    /// Linear warm-up from `base_lr / warmup_steps` over this many steps.
    pub warmup_steps: u64,
    pub total_steps: u64,
}

impl LrSchedule {
    /// The learning rate of step `step` (0-based).
    pub fn lr(&self, step: u64) -> f32 {
        if step < self.warmup_steps {
            return self.base_lr * (step + 1) as f32 / self.warmup_steps as f32;
        }
        let s = step - self.warmup_steps;
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        match self.schedule {
            Schedule::Constant => self.base_lr,
            Schedule::Step { every, gamma } => self.base_lr * gamma.powi((s / every.max(1)) as i32),
            Schedule::Cosine { min_lr } => {
                let f = (s.min(span) as f64 / span as f64 * std::f64::consts::PI).cos();
                min_lr + (self.base_lr - min_lr) * (0.5 * (1.0 + f)) as f32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let mut s = LrSchedule {
            base_lr: 1.0,
            schedule: Schedule::Cosine { min_lr: 0.0 },
            warmup_steps: 4,
            total_steps: 104,
        };
        assert_eq!(s.lr(0), 0.25);
        assert_eq!(s.lr(3), 1.0);
        assert!((s.lr(4) - 1.0).abs() < 1e-6);
        assert!((s.lr(54) - 0.5).abs() < 1e-6);
        assert!(s.lr(104).abs() < 1e-6);
        s.schedule = Schedule::Step {
            every: 10,
            gamma: 0.1,
        };
        s.warmup_steps = 0;
        assert_eq!(s.lr(9), 1.0);
        assert!((s.lr(10) - 0.1).abs() < 1e-7);
    }
}
