//! Optimizers over flat f32 parameter slices (plain loops the compiler vectorizes).

use serde::{Deserialize, Serialize};

/// Optimizer and its hyper-parameters (the learning rate comes from the schedule each step).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// SGD with momentum `momentum` (0: plain), optional Nesterov, L2 weight decay added to the
    /// gradient.
    Sgd {
        momentum: f32,
        nesterov: bool,
        weight_decay: f32,
    },
    /// Adam (L2 weight decay added to the gradient).
    Adam {
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
    },
    /// AdamW (decoupled weight decay: `p -= lr * wd * p`).
    AdamW {
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
    },
}

/// Per-parameter optimizer state, saved in checkpoints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Update steps taken.
    pub step: u64,
    /// First moment / momentum buffer per parameter (empty until first used).
    pub m: Vec<Vec<f32>>,
    /// Second moment per parameter (Adam).
    pub v: Vec<Vec<f32>>,
}

/// An optimizer with its state.
#[derive(Clone, Debug)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub state: OptimizerState,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, param_sizes: &[usize]) -> Self {
        let zeros = || param_sizes.iter().map(|&n| vec![0f32; n]).collect();
        let v = match kind {
            OptimizerKind::Sgd { .. } => Vec::new(),
            _ => zeros(),
        };
        Optimizer {
            kind,
            state: OptimizerState {
                step: 0,
                m: zeros(),
                v,
            },
        }
    }

    /// One update of every parameter with learning rate `lr`.
    pub fn step(&mut self, lr: f32, params: &mut [&mut [f32]], grads: &[&[f32]]) {
        self.state.step += 1;
        let t = self.state.step as i32;
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            match self.kind {
                OptimizerKind::Sgd {
                    momentum,
                    nesterov,
                    weight_decay,
                } => {
                    let m = &mut self.state.m[i];
                    for ((p, &g), m) in p.iter_mut().zip(g.iter()).zip(m.iter_mut()) {
                        let g = g + weight_decay * *p;
                        if momentum == 0.0 {
                            *p -= lr * g;
                            continue;
                        }
                        *m = momentum * *m + g;
                        let d = if nesterov { g + momentum * *m } else { *m };
                        *p -= lr * d;
                    }
                }
                OptimizerKind::Adam {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                }
                | OptimizerKind::AdamW {
                    beta1,
                    beta2,
                    eps,
                    weight_decay,
                } => {
                    let decoupled = matches!(self.kind, OptimizerKind::AdamW { .. });
                    let bc1 = 1.0 - beta1.powi(t);
                    let bc2 = 1.0 - beta2.powi(t);
                    let (m, v) = (&mut self.state.m[i], &mut self.state.v[i]);
                    for (((p, &g), m), v) in p
                        .iter_mut()
                        .zip(g.iter())
                        .zip(m.iter_mut())
                        .zip(v.iter_mut())
                    {
                        let g = if decoupled { g } else { g + weight_decay * *p };
                        if decoupled {
                            *p -= lr * weight_decay * *p;
                        }
                        *m = beta1 * *m + (1.0 - beta1) * g;
                        *v = beta2 * *v + (1.0 - beta2) * g * g;
                        *p -= lr * (*m / bc1) / ((*v / bc2).sqrt() + eps);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimizes (p - 3)^2 and checks convergence and the first SGD-momentum steps by hand.
    #[test]
    fn optimizers_minimize_a_quadratic() {
        for kind in [
            OptimizerKind::Sgd {
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0,
            },
            OptimizerKind::Sgd {
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.0,
            },
            OptimizerKind::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            OptimizerKind::AdamW {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
        ] {
            let mut opt = Optimizer::new(kind.clone(), &[1]);
            let mut p = vec![0f32];
            for _ in 0..500 {
                let g = vec![2.0 * (p[0] - 3.0)];
                opt.step(0.05, &mut [&mut p], &[&g]);
            }
            assert!((p[0] - 3.0).abs() < 1e-2, "{kind:?}: {}", p[0]);
        }
        let mut opt = Optimizer::new(
            OptimizerKind::Sgd {
                momentum: 0.5,
                nesterov: false,
                weight_decay: 0.0,
            },
            &[1],
        );
        let mut p = vec![1f32];
        opt.step(0.1, &mut [&mut p], &[&[1.0]]); // m = 1, p = 0.9
        opt.step(0.1, &mut [&mut p], &[&[1.0]]); // m = 1.5, p = 0.75
        assert!((p[0] - 0.75).abs() < 1e-6);
    }
}
