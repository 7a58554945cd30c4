//! Fine-tuning after pruning and gradual (iterative) pruning, on the training engine
//! ([`edgeopt_train::Trainer`]).
//!
//! - [`finetune`]: trains a pruned model; unstructured/block/N:M zeros are kept at zero with
//!   the trainer's masks, structurally shrunk models are simply smaller models.
//! - [`gradual`]: prune a little, fine-tune, repeat, on the cubic schedule of Zhu & Gupta
//!   ([`crate::schedule::cubic`]). With a checkpoint directory every finished step and every
//!   fine-tuning epoch is saved, and a rerun of the same command resumes where it stopped.

use std::path::{Path, PathBuf};

use edgeopt_ir::Model;
use edgeopt_train::trainer::Stats;
use edgeopt_train::{Dataset, TrainConfig, TrainSpec, Trainer};

use crate::schedule::cubic;
use crate::{PruneError, Result};

fn train_err(e: anyhow::Error) -> PruneError {
    PruneError::Train(format!("{e:#}"))
}

/// For every prunable layer weight holding zeros: its name and a 0/1 mask (1 where nonzero).
pub fn zero_masks(model: &Model) -> Result<Vec<(String, Vec<f32>)>> {
    let mut out = Vec::new();
    for l in crate::unstructured::layers(model) {
        let w = model.graph.initializers[&l.weight].as_slice::<f32>()?;
        if w.contains(&0.0) {
            let mask = w
                .iter()
                .map(|v| if *v == 0.0 { 0.0 } else { 1.0 })
                .collect();
            out.push((model.graph.value(l.weight).name.clone(), mask));
        }
    }
    Ok(out)
}

/// What the fine-tuning loop reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// Prune step `step` of `steps` reached `sparsity` (cumulative).
    Pruned {
        /// 1-based step.
        step: usize,
        /// Steps in all.
        steps: usize,
        /// Sparsity of the schedule after this step.
        sparsity: f64,
    },
    /// A fine-tuning epoch of prune step `step` ended.
    Epoch {
        /// 1-based prune step.
        step: usize,
        /// Training statistics of the epoch.
        stats: Stats,
    },
    /// A run resumed from its checkpoint at `step` (fine-tuning `epoch`s done).
    Resumed {
        /// Prune steps done.
        step: usize,
        /// Whether that step's fine-tuning had finished.
        finetuned: bool,
    },
}

/// Fine-tunes `model` on `data` for `config.epochs` epochs (resuming from a trainer checkpoint
/// in `config.checkpoint_dir` when one exists), keeping zero weights of prunable layers at
/// zero when `keep_zeros`. Returns the fine-tuned inference model.
pub fn finetune(
    model: &Model,
    data: &dyn Dataset,
    config: TrainConfig,
    keep_zeros: bool,
    mut on_epoch: impl FnMut(&Stats),
) -> Result<Model> {
    let mut t =
        Trainer::new(model, &TrainSpec::cross_entropy(), config, data.len()).map_err(train_err)?;
    if keep_zeros {
        for (name, mask) in zero_masks(model)? {
            t.set_mask(&name, mask).map_err(train_err)?;
        }
    }
    if let Some(dir) = t.config.checkpoint_dir.clone() {
        if edgeopt_train::checkpoint::path_in(&dir).exists() {
            t.load_checkpoint(&dir).map_err(train_err)?;
        }
    }
    while t.epoch < t.config.epochs {
        let st = t.train_epoch(data, |_, _, _| {}).map_err(train_err)?;
        on_epoch(&st);
    }
    t.export_model().map_err(train_err)
}

/// A gradual pruning run.
#[derive(Debug, Clone)]
pub struct Gradual {
    /// Prune steps (1: one-shot prune then fine-tune).
    pub steps: usize,
    /// Sparsity after the last step (fraction of weights or of channels per group removed).
    pub final_sparsity: f64,
    /// Fine-tuning after each step (`epochs` per step; `checkpoint_dir` is set by the run).
    pub train: TrainConfig,
    /// Keep zero weights at zero while fine-tuning (masks; unstructured, block, N:M).
    pub keep_zeros: bool,
    /// Directory for checkpoints; a run finding one with the same `fingerprint` resumes.
    pub checkpoint: Option<PathBuf>,
    /// What identifies the run (command line options); a checkpoint of another run is refused.
    pub fingerprint: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    fingerprint: String,
    /// Prune steps done.
    step: usize,
    /// Whether step `step`'s fine-tuning is done.
    finetuned: bool,
    /// The model after that, in the checkpoint directory.
    model: String,
}

fn load_state(dir: &Path, fingerprint: &str) -> Result<Option<(State, Model)>> {
    let p = dir.join("gradual.json");
    let Ok(text) = std::fs::read(&p) else {
        return Ok(None);
    };
    let st: State = serde_json::from_slice(&text)
        .map_err(|e| PruneError::Input(format!("{}: {e}", p.display())))?;
    if st.fingerprint != fingerprint {
        return Err(PruneError::Input(format!(
            "{} holds another run ({}); remove it or use another --checkpoint directory",
            dir.display(),
            st.fingerprint
        )));
    }
    let mp = dir.join(&st.model);
    let model = edgeopt_onnx::load_model(&mp, &edgeopt_onnx::LoadOptions::default())
        .map_err(|e| PruneError::Input(format!("{}: {e}", mp.display())))?;
    Ok(Some((st, model)))
}

/// Saves the model under a new name, then the state pointing at it (both atomically), so a
/// kill at any point leaves a consistent pair.
fn save_state(dir: &Path, st: &mut State, model: &Model) -> Result<()> {
    let tag = if st.finetuned { "tuned" } else { "pruned" };
    let name = format!("model-{}-{tag}.onnx", st.step);
    let io = |e: &dyn std::fmt::Display| PruneError::Train(format!("checkpoint: {e}"));
    edgeopt_onnx::save_model(model, &dir.join(&name), &Default::default()).map_err(|e| io(&e))?;
    let old = std::mem::replace(&mut st.model, name);
    let json = serde_json::to_vec_pretty(st).map_err(|e| io(&e))?;
    edgeopt_onnx::write_atomic(&dir.join("gradual.json"), &json).map_err(|e| io(&e))?;
    if old != st.model && !old.is_empty() {
        let _ = std::fs::remove_file(dir.join(old));
    }
    Ok(())
}

/// Prunes `model` in `cfg.steps` steps of the cubic schedule, fine-tuning on `data` after each.
/// `prune(model, before, after)` must raise the model's sparsity from `before` to `after`
/// (cumulative fractions of the original). Returns the final model.
pub fn gradual(
    model: Model,
    data: &dyn Dataset,
    cfg: &Gradual,
    mut prune: impl FnMut(&mut Model, f64, f64) -> Result<()>,
    mut log: impl FnMut(&Event),
) -> Result<Model> {
    let steps = cfg.steps.max(1);
    let dir = cfg.checkpoint.clone();
    let (mut st, mut model) = match dir.as_deref().map(|d| load_state(d, &cfg.fingerprint)) {
        Some(r) => match r? {
            Some((st, m)) => {
                log(&Event::Resumed {
                    step: st.step,
                    finetuned: st.finetuned,
                });
                (st, m)
            }
            None => (fresh(cfg), model),
        },
        None => (fresh(cfg), model),
    };
    if let Some(d) = &dir {
        std::fs::create_dir_all(d)
            .map_err(|e| PruneError::Train(format!("creating {}: {e}", d.display())))?;
    }
    let train_dir = dir.as_ref().map(|d| d.join("train"));
    loop {
        if st.finetuned {
            if st.step >= steps {
                break;
            }
            let (before, after) = (
                cubic(cfg.final_sparsity, steps, st.step),
                cubic(cfg.final_sparsity, steps, st.step + 1),
            );
            prune(&mut model, before, after)?;
            st.step += 1;
            st.finetuned = false;
            log(&Event::Pruned {
                step: st.step,
                steps,
                sparsity: after,
            });
            if let (Some(d), Some(td)) = (&dir, &train_dir) {
                let _ = std::fs::remove_dir_all(td);
                save_state(d, &mut st, &model)?;
            }
        }
        if cfg.train.epochs > 0 {
            let config = TrainConfig {
                checkpoint_dir: train_dir.clone(),
                ..cfg.train.clone()
            };
            let step = st.step;
            model = finetune(&model, data, config, cfg.keep_zeros, |s| {
                log(&Event::Epoch {
                    step,
                    stats: s.clone(),
                })
            })?;
        }
        st.finetuned = true;
        if let Some(d) = &dir {
            save_state(d, &mut st, &model)?;
        }
    }
    Ok(model)
}

fn fresh(cfg: &Gradual) -> State {
    State {
        fingerprint: cfg.fingerprint.clone(),
        step: 0,
        finetuned: true,
        model: String::new(),
    }
}
