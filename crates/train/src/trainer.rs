//! The training loop: seeded shuffling, batches through the training graph, optimizer steps,
//! masks, BatchNorm state, validation in eval mode, checkpoints and exact resume, export.

use crate::autodiff::{build_training_graph, Loss, TrainSpec, TrainingGraph};
use crate::checkpoint::{self, Entry, Header};
use crate::optim::{Optimizer, OptimizerKind};
use crate::rng::Rng;
use crate::schedule::{LrSchedule, Schedule};
use anyhow::{anyhow, bail, Context, Result};
use edgeopt_data::{Augment, DataLoader, Dataset, LoaderConfig};
use edgeopt_ir::{Model, Value};
use edgeopt_runtime::{Session, SessionOptions};
use edgeopt_tensor::Tensor;
use std::path::PathBuf;
use std::time::Instant;

/// Hyper-parameters of a run.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub optimizer: OptimizerKind,
    pub lr: f32,
    pub schedule: Schedule,
    pub warmup_steps: u64,
    pub seed: u64,
    /// Threads for the GEMMs of the gradient ops (1: bit-for-bit reproducible).
    pub threads: usize,
    /// Save a checkpoint here after every epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// Drop the last incomplete batch of each epoch.
    pub drop_last: bool,
    /// Augmentation of training samples (random crop with padding, horizontal flip).
    pub augment: Augment,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 1,
            batch_size: 64,
            optimizer: OptimizerKind::Sgd {
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0,
            },
            lr: 0.01,
            schedule: Schedule::Constant,
            warmup_steps: 0,
            seed: 0,
            threads: 1,
            checkpoint_dir: None,
            drop_last: false,
            augment: Augment::default(),
        }
    }
}

/// What one step or epoch reports.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Stats {
    pub epoch: usize,
    pub steps: u64,
    pub loss: f64,
    pub accuracy: f64,
    pub samples: usize,
    pub seconds: f64,
    pub lr: f32,
}

/// Trains one model.
pub struct Trainer {
    pub graph: TrainingGraph,
    /// The original (inference) model; its initializers are refreshed on export.
    pub inference: Model,
    pub params: Vec<Tensor>,
    pub states: Vec<Tensor>,
    pub optimizer: Optimizer,
    pub schedule: LrSchedule,
    pub rng: Rng,
    /// Epochs completed.
    pub epoch: usize,
    pub step: u64,
    pub config: TrainConfig,
    /// Per parameter, an optional 0/1 mask applied to gradients and after every update.
    pub masks: Vec<Option<Vec<f32>>>,
    /// Teacher model for distillation (its first output are the logits).
    pub teacher: Option<Model>,
    /// The teacher's logits per training sample: [`train_epoch`](Self::train_epoch) reads them
    /// instead of running `teacher` (only without augmentation).
    pub teacher_cache: Option<crate::TeacherCache>,
    /// Compiled sessions of the training graph and the teacher, built on first use.
    sessions: Sessions,
}

/// Sessions the trainer reuses across steps (one plan per input shape inside each).
#[derive(Default)]
struct Sessions {
    train: Option<Session>,
    teacher: Option<Session>,
    /// Profile the training session (applied when it is built).
    profiling: bool,
}

/// Session options for running training and evaluation graphs with `threads` threads.
///
/// Level 1 keeps the graph's nodes as they are apart from constant folding and dead-node
/// removal, so every forward value the gradient ops read stays where autodiff put it.
pub fn session_options(threads: usize) -> SessionOptions {
    SessionOptions {
        threads: threads.max(1),
        opt_level: 1,
        lowering: crate::lower::shared(),
        ..SessionOptions::default()
    }
}

/// `model` with the leading dim of its first input symbolic (models exported for batch 1
/// run on whole batches).
pub(crate) fn batch_free(model: &Model) -> Model {
    let mut model = model.clone();
    let g = &mut model.graph;
    if let Some(x) = edgeopt_ir::exec::feed_inputs(g).first() {
        let name = g.value(*x).name.clone();
        crate::autodiff::relax_batch_dims(g, &[name]);
    }
    model
}

/// Runs `feeds` on the session in `slot`, building it from `model()` on first use.
pub(crate) fn session_run(
    slot: &mut Option<Session>,
    model: impl FnOnce() -> Model,
    threads: usize,
    feeds: &[Value],
) -> Result<Vec<Value>> {
    if slot.is_none() {
        *slot = Some(Session::new(model(), session_options(threads))?);
    }
    let s = slot
        .as_mut()
        .ok_or_else(|| anyhow!("no session for the model"))?;
    Ok(s.run_values(feeds)?)
}

/// Runs an inference `model` (batch dim freed) over `data` in order, in batches of `batch`,
/// handing each batch and the model's outputs to `f`.
pub(crate) fn run_in_order(
    model: &Model,
    data: &dyn Dataset,
    batch: usize,
    threads: usize,
    mut f: impl FnMut(&edgeopt_data::Batch, Vec<Value>) -> Result<()>,
) -> Result<()> {
    let loader = DataLoader::new(
        data,
        LoaderConfig {
            batch_size: batch.max(1),
            shuffle: false,
            ..LoaderConfig::default()
        },
    )?;
    let mut session = None;
    for b in loader.epoch(0) {
        let b = b?;
        let out = session_run(
            &mut session,
            || batch_free(model),
            threads,
            &[Value::Tensor(b.features.clone())],
        )?;
        f(&b, out)?;
    }
    Ok(())
}

/// Runs a model once on the runtime the trainer uses (a fresh session; for repeated runs
/// keep a [`Session`] built with [`session_options`]).
pub fn execute(model: &Model, feeds: Vec<Value>) -> Result<Vec<Value>> {
    let mut s = Session::new(model.clone(), session_options(1))?;
    Ok(s.run_values(&feeds)?)
}

fn tensor_of(v: &Value, what: &str) -> Result<Tensor> {
    v.as_tensor()
        .cloned()
        .ok_or_else(|| anyhow!("{what} is not a tensor"))
}

/// Accuracy numerator: rows of `logits` `[N, C]` whose argmax is the label.
pub fn correct(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    let z = logits.as_slice::<f32>()?;
    let l = labels.to_i64_vec()?;
    let c = if l.is_empty() { 1 } else { z.len() / l.len() };
    Ok(l.iter()
        .enumerate()
        .filter(|(i, &y)| {
            let row = &z[i * c..(i + 1) * c];
            let best = row
                .iter()
                .enumerate()
                .fold(0, |b, (j, &v)| if v > row[b] { j } else { b });
            best as i64 == y
        })
        .count())
}

impl Trainer {
    /// Prepares training of `model` with `spec`; `train_len` sizes the schedule.
    pub fn new(
        model: &Model,
        spec: &TrainSpec,
        config: TrainConfig,
        train_len: usize,
    ) -> Result<Self> {
        if config.batch_size == 0 {
            bail!("batch size must be > 0");
        }
        crate::ops::util::set_threads(config.threads);
        let graph = build_training_graph(model, spec)?;
        let params: Vec<Tensor> = graph.params.iter().map(|(_, t)| t.clone()).collect();
        let states = graph.states.iter().map(|(_, t)| t.clone()).collect();
        let sizes: Vec<usize> = params.iter().map(|t| t.len()).collect();
        let steps_per_epoch = if config.drop_last {
            train_len / config.batch_size
        } else {
            train_len.div_ceil(config.batch_size)
        };
        let schedule = LrSchedule {
            base_lr: config.lr,
            schedule: config.schedule.clone(),
            warmup_steps: config.warmup_steps,
            total_steps: (steps_per_epoch * config.epochs) as u64,
        };
        Ok(Trainer {
            masks: vec![None; params.len()],
            optimizer: Optimizer::new(config.optimizer.clone(), &sizes),
            rng: Rng::new(config.seed),
            inference: model.clone(),
            graph,
            params,
            states,
            schedule,
            epoch: 0,
            step: 0,
            config,
            teacher: None,
            teacher_cache: None,
            sessions: Sessions::default(),
        })
    }

    /// Fixes parameter `name` to zero where `mask` is 0 (pruning fine-tuning): the mask is
    /// applied to the parameter now, to its gradient and after every optimizer step.
    pub fn set_mask(&mut self, name: &str, mask: Vec<f32>) -> Result<()> {
        let i = self
            .graph
            .params
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| anyhow!("no trainable parameter '{name}'"))?;
        if mask.len() != self.params[i].len() {
            bail!(
                "mask for '{name}' has {} elements, the parameter {}",
                mask.len(),
                self.params[i].len()
            );
        }
        let mut v = self.params[i].to_vec::<f32>()?;
        crate::hooks::apply_mask(&mut v, &mask);
        self.params[i] = Tensor::from_vec(self.params[i].shape().to_vec(), v)?;
        self.masks[i] = Some(mask);
        Ok(())
    }

    fn feeds(&self, x: Tensor, y: Tensor, teacher: Option<Tensor>) -> Result<Vec<Value>> {
        let g = &self.graph;
        g.feeds
            .iter()
            .map(|n| {
                if n == &g.target {
                    Ok(Value::Tensor(y.clone()))
                } else if Some(n) == g.teacher.as_ref() {
                    teacher
                        .clone()
                        .map(Value::Tensor)
                        .ok_or_else(|| anyhow!("distillation needs a teacher model"))
                } else if Some(n) == g.seed.as_ref() {
                    Ok(Value::Tensor(Tensor::scalar(crate::ops::dropout::mix64(
                        self.config.seed ^ self.step.wrapping_mul(0x9E37),
                    ) as i64)))
                } else if g.data_inputs.first() == Some(n) {
                    Ok(Value::Tensor(x.clone()))
                } else if let Some(i) = g.params.iter().position(|(p, _)| p == n) {
                    Ok(Value::Tensor(self.params[i].clone()))
                } else if let Some(i) = g.states.iter().position(|(p, _)| p == n) {
                    Ok(Value::Tensor(self.states[i].clone()))
                } else {
                    Err(anyhow!(
                        "the training graph reads '{n}', which the trainer cannot feed"
                    ))
                }
            })
            .collect()
    }

    /// One optimizer step on a batch; returns (loss, correct predictions).
    pub fn train_step(&mut self, x: Tensor, y: Tensor) -> Result<(f64, usize)> {
        self.train_step_with(x, y, None)
    }

    /// [`train_step`](Self::train_step) with the teacher's logits of the batch given (else the
    /// teacher runs on `x` when there is one).
    pub fn train_step_with(
        &mut self,
        x: Tensor,
        y: Tensor,
        teacher_logits: Option<Tensor>,
    ) -> Result<(f64, usize)> {
        let threads = self.config.threads;
        let teacher = match (&self.teacher, teacher_logits) {
            (_, Some(z)) => Some(z),
            (Some(t), None) => Some(tensor_of(
                &session_run(
                    &mut self.sessions.teacher,
                    || batch_free(t),
                    threads,
                    &[Value::Tensor(x.clone())],
                )
                .context("running the teacher")?[0],
                "teacher output",
            )?),
            (None, None) => None,
        };
        let feeds = self.feeds(x, y.clone(), teacher)?;
        if self.sessions.train.is_none() {
            let mut s = Session::new(self.graph.model.clone(), session_options(threads))?;
            s.set_profiling(self.sessions.profiling);
            self.sessions.train = Some(s);
        }
        let outs = session_run(
            &mut self.sessions.train,
            || self.graph.model.clone(),
            threads,
            &feeds,
        )
        .context("running the training graph")?;
        let loss = tensor_of(&outs[0], "loss")?.to_f64_vec()?[0];
        if !loss.is_finite() {
            bail!(
                "the loss is {loss} at step {} (learning rate too high?)",
                self.step
            );
        }
        let pred = tensor_of(&outs[1], "prediction")?;
        let right = if self.graph.target_is_labels() {
            correct(&pred, &y)?
        } else {
            0
        };
        let np = self.params.len();
        let mut grads: Vec<Vec<f32>> = Vec::with_capacity(np);
        for (i, o) in outs[2..2 + np].iter().enumerate() {
            let mut g = tensor_of(o, "gradient")?.to_vec::<f32>()?;
            if let Some(m) = &self.masks[i] {
                crate::hooks::apply_mask(&mut g, m);
            }
            grads.push(g);
        }
        let mut vals: Vec<Vec<f32>> = self
            .params
            .iter()
            .map(|t| t.to_vec::<f32>())
            .collect::<std::result::Result<_, _>>()?;
        let lr = self.schedule.lr(self.step);
        {
            let mut refs: Vec<&mut [f32]> = vals.iter_mut().map(|v| v.as_mut_slice()).collect();
            let grefs: Vec<&[f32]> = grads.iter().map(|g| g.as_slice()).collect();
            self.optimizer.step(lr, &mut refs, &grefs);
        }
        for (i, v) in vals.into_iter().enumerate() {
            let mut v = v;
            if let Some(m) = &self.masks[i] {
                crate::hooks::apply_mask(&mut v, m);
            }
            self.params[i] = Tensor::from_vec(self.params[i].shape().to_vec(), v)?;
        }
        for (i, o) in outs[2 + np..].iter().enumerate() {
            self.states[i] = tensor_of(o, "state")?;
        }
        self.step += 1;
        Ok((loss, right))
    }

    /// One epoch over `data` in the order and with the augmentation [`DataLoader`] derives from
    /// the seed and the epoch number (so a resumed run sees the same batches);
    /// `progress(step_in_epoch, steps, running stats)`.
    pub fn train_epoch(
        &mut self,
        data: &dyn Dataset,
        mut progress: impl FnMut(usize, usize, &Stats),
    ) -> Result<Stats> {
        let loader = DataLoader::new(
            data,
            LoaderConfig {
                batch_size: self.config.batch_size,
                shuffle: true,
                drop_last: self.config.drop_last,
                seed: self.config.seed,
                augment: self.config.augment.clone(),
            },
        )?;
        if let Some(c) = &self.teacher_cache {
            if !self.config.augment.is_identity() {
                bail!("cached teacher logits need training without augmentation");
            }
            if c.samples != data.len() {
                bail!(
                    "the teacher cache holds {} samples, the training set {}",
                    c.samples,
                    data.len()
                );
            }
        }
        let epoch = self.epoch as u64;
        let order = loader.order(epoch);
        let batches = loader.num_batches();
        let start = Instant::now();
        let mut st = Stats {
            epoch: self.epoch + 1,
            ..Default::default()
        };
        let (mut loss_sum, mut right) = (0f64, 0usize);
        for k in 0..batches {
            let b = loader.batch(epoch, &order, k)?;
            let n = b.indices.len();
            st.lr = self.schedule.lr(self.step);
            let cached = match &self.teacher_cache {
                Some(c) => Some(c.rows(&b.indices)?),
                None => None,
            };
            let (l, r) = self.train_step_with(b.features, b.labels, cached)?;
            loss_sum += l * n as f64;
            right += r;
            st.samples += n;
            st.steps += 1;
            st.loss = loss_sum / st.samples as f64;
            st.accuracy = right as f64 / st.samples as f64;
            st.seconds = start.elapsed().as_secs_f64();
            progress(k + 1, batches, &st);
        }
        self.epoch += 1;
        if let Some(dir) = self.config.checkpoint_dir.clone() {
            self.save_checkpoint(&dir)?;
        }
        Ok(st)
    }

    /// Turns per-step timing of the training graph's session on (clearing it) or off.
    pub fn set_profiling(&mut self, on: bool) {
        self.sessions.profiling = on;
        if let Some(s) = &mut self.sessions.train {
            s.set_profiling(on);
        }
    }

    /// Per-node times of the training graph accumulated since profiling was turned on.
    pub fn profile(&self) -> Vec<edgeopt_runtime::StepProfile> {
        self.sessions
            .train
            .as_ref()
            .map(|s| s.profile())
            .unwrap_or_default()
    }

    /// The inference model with the current parameters and BatchNorm statistics.
    pub fn export_model(&self) -> Result<Model> {
        let mut m = self.inference.clone();
        let named = self
            .graph
            .params
            .iter()
            .map(|(n, _)| n)
            .zip(&self.params)
            .chain(self.graph.states.iter().map(|(n, _)| n).zip(&self.states));
        for (name, t) in named {
            let id = m
                .graph
                .find(name)
                .ok_or_else(|| anyhow!("the model lost '{name}'"))?;
            m.graph.initializers.insert(id, t.clone());
        }
        Ok(m)
    }

    /// Loss (cross-entropy) and accuracy of the current model in eval mode on `data`.
    pub fn evaluate(&self, data: &dyn Dataset, batch: usize) -> Result<(f64, f64)> {
        evaluate(&self.export_model()?, data, batch)
    }

    /// Saves parameters, states, optimizer state, epoch, step and RNG state.
    pub fn save_checkpoint(&self, dir: &std::path::Path) -> Result<()> {
        let mut entries = Vec::new();
        let mut arrays: Vec<Vec<f32>> = Vec::new();
        let mut push = |name: String, shape: Vec<usize>, data: Vec<f32>| {
            entries.push(Entry {
                name,
                shape,
                len: data.len(),
            });
            arrays.push(data);
        };
        for ((n, _), t) in self.graph.params.iter().zip(&self.params) {
            push(format!("param:{n}"), t.shape().to_vec(), t.to_vec::<f32>()?);
        }
        for ((n, _), t) in self.graph.states.iter().zip(&self.states) {
            push(format!("state:{n}"), t.shape().to_vec(), t.to_vec::<f32>()?);
        }
        for (k, m) in self.optimizer.state.m.iter().enumerate() {
            push(format!("m:{k}"), vec![m.len()], m.clone());
        }
        for (k, v) in self.optimizer.state.v.iter().enumerate() {
            push(format!("v:{k}"), vec![v.len()], v.clone());
        }
        let header = Header {
            epoch: self.epoch,
            step: self.step,
            rng_state: self.rng.state,
            optimizer: self.optimizer.kind.clone(),
            entries,
        };
        let _ = self.optimizer.state.step;
        let refs: Vec<&[f32]> = arrays.iter().map(|a| a.as_slice()).collect();
        checkpoint::save(dir, &header, &refs)
    }

    /// Restores a checkpoint saved by [`save_checkpoint`](Self::save_checkpoint) for the same model.
    pub fn load_checkpoint(&mut self, dir: &std::path::Path) -> Result<()> {
        let (h, arrays) = checkpoint::load(dir)?;
        if h.optimizer != self.optimizer.kind {
            bail!(
                "the checkpoint was made with {:?}, this run uses {:?}",
                h.optimizer,
                self.optimizer.kind
            );
        }
        let (np, ns) = (self.params.len(), self.states.len());
        let (nm, nv) = (self.optimizer.state.m.len(), self.optimizer.state.v.len());
        if h.entries.len() != np + ns + nm + nv {
            bail!(
                "the checkpoint holds {} arrays, this model needs {}",
                h.entries.len(),
                np + ns + nm + nv
            );
        }
        for (k, (e, a)) in h.entries.iter().zip(arrays).enumerate() {
            let fit = |t: &Tensor| -> Result<Tensor> {
                if e.shape != t.shape() {
                    bail!(
                        "checkpoint '{}' is {:?}, the model's is {:?}",
                        e.name,
                        e.shape,
                        t.shape()
                    );
                }
                Ok(Tensor::from_vec(e.shape.clone(), a.clone())?)
            };
            if k < np {
                if e.name != format!("param:{}", self.graph.params[k].0) {
                    bail!(
                        "checkpoint entry '{}' where param '{}' was expected",
                        e.name,
                        self.graph.params[k].0
                    );
                }
                self.params[k] = fit(&self.params[k])?;
            } else if k < np + ns {
                self.states[k - np] = fit(&self.states[k - np])?;
            } else if k < np + ns + nm {
                self.optimizer.state.m[k - np - ns] = a;
            } else {
                self.optimizer.state.v[k - np - ns - nm] = a;
            }
        }
        self.epoch = h.epoch;
        self.step = h.step;
        self.optimizer.state.step = h.step;
        self.rng.state = h.rng_state;
        Ok(())
    }
}

impl TrainingGraph {
    /// Whether the target input holds class labels (accuracy is meaningful).
    pub fn target_is_labels(&self) -> bool {
        self.teacher.is_some() || !matches!(self.loss, Loss::Mse)
    }
}

/// Cross-entropy loss and accuracy of an inference `model` (first output: logits) on `data`.
pub fn evaluate(model: &Model, data: &dyn Dataset, batch: usize) -> Result<(f64, f64)> {
    let (mut loss, mut right) = (0f64, 0usize);
    let threads = crate::ops::util::threads();
    run_in_order(model, data, batch, threads, |b, out| {
        let z = tensor_of(&out[0], "model output")?;
        right += correct(&z, &b.labels)?;
        let ce = crate::ops::loss::cross_entropy(&z, &b.labels)?;
        loss += ce * b.indices.len() as f64;
        Ok(())
    })?;
    let n = data.len().max(1) as f64;
    Ok((loss / n, right as f64 / n))
}
