//! Quantization-aware training for `edgeopt quantize --qat`: the model is calibrated as for
//! static quantization, then a FakeQuant node (straight-through gradient) goes at every point
//! the QDQ export will quantize, with the same parameters: activations per tensor from the
//! calibration, weights per channel (or per tensor) from their ranges. The weights are
//! fine-tuned on labelled data with the training engine; the FakeQuant nodes are then removed
//! and the caller exports the fine-tuned float model as QDQ with the same calibration, so the
//! int8 model computes what training saw.

use anyhow::{Context, Result};
use edgeopt_data::Dataset as _;
use edgeopt_ir::Model;
use edgeopt_quant::histogram::Stats;
use edgeopt_quant::weights::quantize_weight;
use edgeopt_quant::StaticConfig;
use edgeopt_train::hooks::{insert_fake_quant, strip_fake_quant};
use edgeopt_train::ops::fake_quant::FakeQuant;
use edgeopt_train::optim::OptimizerKind;
use edgeopt_train::schedule::Schedule;
use edgeopt_train::{TrainConfig, TrainSpec, Trainer};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

/// Options of the fine-tuning.
#[derive(clap::Args, Clone, Debug)]
pub struct QatOpts {
    /// Quantization-aware training: fine-tune with fake quantization before the QDQ export
    /// (needs --train-data).
    #[arg(long, requires = "train_data")]
    pub qat: bool,
    /// Labelled training data for --qat: a directory of IDX files (`train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]`, MNIST / Fashion-MNIST layout), scaled to [0, 1].
    #[arg(long)]
    pub train_data: Option<PathBuf>,
    /// Epochs of quantization-aware fine-tuning.
    #[arg(long, default_value_t = 1)]
    pub qat_epochs: usize,
    /// Learning rate of the fine-tuning (SGD with momentum 0.9, cosine decay).
    #[arg(long, default_value_t = 0.002)]
    pub qat_lr: f32,
    #[arg(long, default_value_t = 64)]
    pub qat_batch_size: usize,
    /// Use only the first N training samples.
    #[arg(long)]
    pub qat_limit: Option<usize>,
    /// Threads of the training engine (1: bit-for-bit reproducible).
    #[arg(long, default_value_t = 1)]
    pub qat_threads: usize,
    #[arg(long, default_value_t = 0)]
    pub qat_seed: u64,
}

/// `model` with FakeQuant nodes where `cfg` quantizes, using the activation parameters that
/// static quantization derives from `stats`. Returns the model and the number of nodes added.
pub fn with_fake_quant(
    model: &Model,
    stats: &HashMap<String, Stats>,
    cfg: &StaticConfig,
) -> Result<(Model, usize)> {
    let r = edgeopt_quant::quantize_with_stats(model, stats, cfg)?;
    let per_channel = cfg.per_channel && r.notes.is_empty();
    let p = edgeopt_quant::plan::plan(&model.graph, &cfg.selection, per_channel);
    let mut m = model.clone();
    let mut added = 0;
    let (amin, amax) = cfg.activation_type.storage_range();
    for &v in &p.activations {
        let name = model.graph.value(v).name.clone();
        if let Some(q) = r.activation_params.get(&name) {
            let fq = FakeQuant {
                axis: None,
                qmin: amin as f32,
                qmax: amax as f32,
            };
            insert_fake_quant(&mut m, &name, fq, vec![q.scale], vec![q.zero_point as f32])?;
            added += 1;
        }
    }
    let (wmin, wmax) = cfg.weight_type.storage_range();
    for w in p.weights.values() {
        let name = model.graph.value(w.value).name.clone();
        let Some(t) = model.graph.initializers.get(&w.value) else {
            continue;
        };
        let q = quantize_weight(
            t,
            w.axis,
            cfg.weight_type,
            cfg.symmetric_weights,
            cfg.reduce_range,
        )?;
        let fq = FakeQuant {
            axis: w.axis.map(|a| a as i64),
            qmin: wmin as f32,
            qmax: wmax as f32,
        };
        let scales = q.params.iter().map(|p| p.scale).collect();
        let zps = q.params.iter().map(|p| p.zero_point as f32).collect();
        insert_fake_quant(&mut m, &name, fq, scales, zps)?;
        added += 1;
    }
    Ok((m, added))
}

/// Fine-tunes `model` with fake quantization; returns the float model with the new weights.
pub fn fine_tune(
    model: &Model,
    stats: &HashMap<String, Stats>,
    cfg: &StaticConfig,
    o: &QatOpts,
) -> Result<Model> {
    let dir = o
        .train_data
        .as_deref()
        .context("--qat needs --train-data DIR")?;
    let splits = crate::data::open_path(dir)
        .with_context(|| format!("loading training data from {}", dir.display()))?;
    let train = crate::data::take(splits.train, o.qat_limit)?;
    let (fq_model, added) = with_fake_quant(model, stats, cfg)?;
    eprintln!(
        "quantization-aware training: {added} FakeQuant nodes, {} samples",
        train.len()
    );
    let config = TrainConfig {
        epochs: o.qat_epochs,
        batch_size: o.qat_batch_size,
        optimizer: OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
        },
        lr: o.qat_lr,
        schedule: Schedule::Cosine { min_lr: 0.0 },
        warmup_steps: 0,
        seed: o.qat_seed,
        threads: o.qat_threads,
        checkpoint_dir: None,
        drop_last: false,
        augment: Default::default(),
    };
    let mut t = Trainer::new(&fq_model, &TrainSpec::cross_entropy(), config, train.len())?;
    while t.epoch < o.qat_epochs {
        let mut last = std::time::Instant::now();
        let st = t.train_epoch(&train, |k, n, s| {
            if last.elapsed().as_millis() >= 500 || k == n {
                last = std::time::Instant::now();
                eprint!(
                    "\rqat epoch {} {k}/{n} loss {:.4} acc {:.3}   ",
                    s.epoch, s.loss, s.accuracy
                );
                let _ = std::io::stderr().flush();
            }
        })?;
        eprintln!();
        println!(
            "qat epoch {}: loss {:.4} acc {:.4}, {:.1} s",
            st.epoch, st.loss, st.accuracy, st.seconds
        );
    }
    let mut trained = t.export_model()?;
    strip_fake_quant(&mut trained)?;
    Ok(trained)
}
