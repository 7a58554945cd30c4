//! `edgeopt train MODEL.onnx --data DIR`: train a model (cross-entropy) with a seeded,
//! checkpointed, resumable loop; export the trained inference model as ONNX. The options are
//! shared with `edgeopt distill`.

use crate::data::DataOpts;
use anyhow::{bail, Context, Result};
use edgeopt_data::{Augment, Dataset, InMemoryDataset};
use edgeopt_train::optim::OptimizerKind;
use edgeopt_train::schedule::Schedule;
use edgeopt_train::trainer::Stats;
use edgeopt_train::{TeacherCache, TrainConfig, TrainSpec, Trainer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model to train (first output: logits [N, classes]).
    model: PathBuf,
    #[command(flatten)]
    pub opts: TrainOpts,
}

/// Options shared by `train` and `distill`.
#[derive(clap::Args, Clone)]
pub struct TrainOpts {
    #[command(flatten)]
    pub data: DataOpts,
    /// Use only the first N training samples (quick runs).
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.05)]
    pub lr: f32,
    #[arg(long, default_value = "sgd", value_parser = ["sgd", "adam", "adamw"])]
    pub optimizer: String,
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    #[arg(long)]
    pub nesterov: bool,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Learning-rate schedule (`step`: x0.1 every third of the run).
    #[arg(long, default_value = "cosine", value_parser = ["constant", "cosine", "step"])]
    pub schedule: String,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads of the gradient GEMMs (1: bit-for-bit reproducible).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Fraction of the training set held out for validation (0: validate on the test set).
    #[arg(long, default_value_t = 0.0)]
    pub val_split: f32,
    /// Where to write the trained model.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Save a checkpoint here after every epoch.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint in --checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Per-epoch log (.csv or .json).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Loss/accuracy curves as SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Augmentation: pad by N pixels and crop back at a random offset (0: off).
    #[arg(long, default_value_t = 0)]
    pub crop_padding: usize,
    /// Augmentation: mirror left-right with probability 1/2.
    #[arg(long)]
    pub flip: bool,
    /// Only time N training steps (after 2 warm-up steps) and print steps per second.
    #[arg(long)]
    pub bench_steps: Option<usize>,
}

pub fn run(a: Args) -> Result<()> {
    let model = super::load(&a.model)?;
    train_with(&model, &TrainSpec::cross_entropy(), &a.opts, None)
}

/// The training and validation sets.
pub fn load_data(o: &TrainOpts) -> Result<(InMemoryDataset, Option<InMemoryDataset>)> {
    let splits = crate::data::open(&o.data)?;
    let train = crate::data::take(splits.train, o.limit)?;
    if o.val_split > 0.0 {
        let (t, v) = train.split(o.val_split as f64, o.seed)?;
        return Ok((t, Some(v)));
    }
    Ok((train, splits.test))
}

fn config(o: &TrainOpts) -> Result<TrainConfig> {
    let optimizer = match o.optimizer.as_str() {
        "sgd" => OptimizerKind::Sgd {
            momentum: o.momentum,
            nesterov: o.nesterov,
            weight_decay: o.weight_decay,
        },
        "adam" => OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: o.weight_decay,
        },
        _ => OptimizerKind::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: o.weight_decay,
        },
    };
    let schedule = match o.schedule.as_str() {
        "constant" => Schedule::Constant,
        "cosine" => Schedule::Cosine { min_lr: 0.0 },
        _ => Schedule::Step {
            every: 0,
            gamma: 0.1,
        },
    };
    if o.resume && o.checkpoint.is_none() {
        bail!("--resume needs --checkpoint DIR");
    }
    Ok(TrainConfig {
        epochs: o.epochs,
        batch_size: o.batch_size,
        optimizer,
        lr: o.lr,
        schedule,
        warmup_steps: o.warmup,
        seed: o.seed,
        threads: o.threads,
        checkpoint_dir: o.checkpoint.clone(),
        drop_last: false,
        augment: Augment {
            crop_padding: o.crop_padding,
            horizontal_flip: o.flip,
            fill: 0.0,
        },
    })
}

/// Where distillation gets the teacher's logits.
pub enum TeacherCaching {
    /// Run the teacher on every batch.
    Off,
    /// Once per training sample, kept in memory.
    Memory,
    /// Once per training sample, kept in (and reused from) a file.
    File(PathBuf),
}

/// The teacher of a distillation run.
pub struct Teaching {
    pub teacher: edgeopt_ir::Model,
    pub cache: TeacherCaching,
}

/// Trains `model` for `spec` with the options; `teaching` for distillation.
pub fn train_with(
    model: &edgeopt_ir::Model,
    spec: &TrainSpec,
    o: &TrainOpts,
    teaching: Option<Teaching>,
) -> Result<()> {
    let (train, val) = load_data(o)?;
    let mut t = Trainer::new(model, spec, config(o)?, train.len())?;
    if let Schedule::Step { .. } = t.schedule.schedule {
        let every = (t.schedule.total_steps / 3).max(1);
        t.schedule.schedule = Schedule::Step { every, gamma: 0.1 };
    }
    if let Some(Teaching { teacher, cache }) = teaching {
        let start = Instant::now();
        let cached = match &cache {
            _ if o.bench_steps.is_some() => None,
            TeacherCaching::Off => None,
            TeacherCaching::Memory => Some((
                TeacherCache::compute(&teacher, &train, 256, o.threads)?,
                true,
            )),
            TeacherCaching::File(p) => Some(
                TeacherCache::load_or_compute(p, &teacher, &train, 256, o.threads)
                    .with_context(|| format!("teacher cache {}", p.display()))?,
            ),
        };
        if let Some((c, computed)) = cached {
            let how = if computed { "computed" } else { "read" };
            eprintln!(
                "teacher logits of {} samples {how} in {:.1} s",
                c.samples,
                start.elapsed().as_secs_f64()
            );
            t.teacher_cache = Some(c);
        }
        t.teacher = Some(teacher);
    }
    if let Some(n) = o.bench_steps {
        return bench(&mut t, &train, n);
    }
    if o.resume {
        let dir = o.checkpoint.as_deref().unwrap_or(Path::new("."));
        t.load_checkpoint(dir)
            .with_context(|| format!("resuming from {}", dir.display()))?;
        eprintln!("resumed after epoch {} (step {})", t.epoch, t.step);
    }
    let mut rows: Vec<(Stats, Option<(f64, f64)>)> = Vec::new();
    while t.epoch < o.epochs {
        let mut last = Instant::now();
        let st = t.train_epoch(&train, |k, n, s| {
            if last.elapsed().as_millis() >= 200 || k == n {
                last = Instant::now();
                eprint!(
                    "\repoch {} {} {k}/{n} loss {:.4} acc {:.3} {:.1} steps/s   ",
                    s.epoch,
                    bar(k, n, 20),
                    s.loss,
                    s.accuracy,
                    s.steps as f64 / s.seconds.max(1e-9)
                );
                let _ = std::io::stderr().flush();
            }
        })?;
        let v = match &val {
            Some(v) => Some(t.evaluate(v, 256)?),
            None => None,
        };
        eprintln!();
        let vs = v.map_or(String::new(), |(l, acc)| {
            format!(", val loss {l:.4} acc {acc:.4}")
        });
        println!(
            "epoch {}: loss {:.4} acc {:.4}{vs}, {:.1} s ({:.1} steps/s)",
            st.epoch,
            st.loss,
            st.accuracy,
            st.seconds,
            st.steps as f64 / st.seconds.max(1e-9)
        );
        rows.push((st, v));
        if let Some(p) = &o.log {
            write_log(p, &rows)?;
        }
        if let Some(p) = &o.plot {
            edgeopt_onnx::write_atomic(p, plot_svg(&rows).as_bytes())?;
        }
    }
    if let Some(out) = &o.output {
        edgeopt_onnx::save_model(&t.export_model()?, out, &Default::default())
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn bar(k: usize, n: usize, width: usize) -> String {
    let done = (k * width).checked_div(n).unwrap_or(width);
    format!("[{}{}]", "#".repeat(done), ".".repeat(width - done))
}

fn bench(t: &mut Trainer, data: &InMemoryDataset, steps: usize) -> Result<()> {
    let idx: Vec<usize> = (0..t.config.batch_size.min(data.len())).collect();
    let (x, y) = data.subset(&idx)?.to_tensors()?;
    for _ in 0..2 {
        t.train_step(x.clone(), y.clone())?;
    }
    let start = Instant::now();
    for _ in 0..steps {
        t.train_step(x.clone(), y.clone())?;
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "{steps} steps at batch {} on {} thread(s): {:.3} s, {:.2} steps/s",
        idx.len(),
        t.config.threads,
        s,
        steps as f64 / s
    );
    Ok(())
}

fn write_log(path: &Path, rows: &[(Stats, Option<(f64, f64)>)]) -> Result<()> {
    let json = path.extension().is_some_and(|e| e == "json");
    let text = if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(s, v)| serde_json::json!({"epoch": s.epoch, "steps": s.steps, "train_loss": s.loss, "train_accuracy": s.accuracy, "val_loss": v.map(|x| x.0), "val_accuracy": v.map(|x| x.1), "seconds": s.seconds, "steps_per_second": s.steps as f64 / s.seconds.max(1e-9), "lr_end": s.lr}))
            .collect();
        serde_json::to_string_pretty(&v)?
    } else {
        let mut t = String::from("epoch,steps,train_loss,train_accuracy,val_loss,val_accuracy,seconds,steps_per_second,lr_end\n");
        for (s, v) in rows {
            let (vl, va) = v.map_or((String::new(), String::new()), |x| {
                (x.0.to_string(), x.1.to_string())
            });
            t += &format!(
                "{},{},{},{},{vl},{va},{},{},{}\n",
                s.epoch,
                s.steps,
                s.loss,
                s.accuracy,
                s.seconds,
                s.steps as f64 / s.seconds.max(1e-9),
                s.lr
            );
        }
        t
    };
    edgeopt_onnx::write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// One epoch's training stats and validation (loss, accuracy).
type Row = (Stats, Option<(f64, f64)>);

/// Two panels (loss, accuracy) over epochs; train solid, validation dashed.
fn plot_svg(rows: &[(Stats, Option<(f64, f64)>)]) -> String {
    let (w, h, pad) = (360.0, 240.0, 40.0);
    let n = rows.len().max(2) as f64 - 1.0;
    let panel = |x0: f64, title: &str, series: [Vec<f64>; 2]| -> String {
        let all: Vec<f64> = series
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let (lo, hi) = all
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (lo, hi) = if lo < hi {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        let px = |i: usize| x0 + pad + (w - 2.0 * pad) * i as f64 / n;
        let py = |v: f64| h - pad - (h - 2.0 * pad) * (v - lo) / (hi - lo);
        let mut s = format!("<rect x='{x0}' y='0' width='{w}' height='{h}' fill='white' stroke='#ccc'/><text x='{}' y='20' font-size='14'>{title}</text>", x0 + pad);
        s += &format!("<text x='{}' y='{}' font-size='10'>{hi:.3}</text><text x='{}' y='{}' font-size='10'>{lo:.3}</text>", x0 + 2.0, pad, x0 + 2.0, h - pad);
        for (k, (vals, color)) in series.iter().zip(["#1f77b4", "#d62728"]).enumerate() {
            let pts: Vec<String> = vals
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| format!("{:.1},{:.1}", px(i), py(v)))
                .collect();
            let dash = if k == 1 {
                " stroke-dasharray='4 3'"
            } else {
                ""
            };
            s += &format!(
                "<polyline fill='none' stroke='{color}' stroke-width='2'{dash} points='{}'/>",
                pts.join(" ")
            );
        }
        s
    };
    let get = |f: &dyn Fn(&Row) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let loss = [get(&|r| r.0.loss), get(&|r| r.1.map_or(f64::NAN, |v| v.0))];
    let acc = [
        get(&|r| r.0.accuracy),
        get(&|r| r.1.map_or(f64::NAN, |v| v.1)),
    ];
    format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}'>{}{}<text x='{pad}' y='{}' font-size='11'>epoch 1..{} (solid: train, dashed: validation)</text></svg>\n",
        2.0 * w,
        h + 20.0,
        panel(0.0, "loss", loss),
        panel(w, "accuracy", acc),
        h + 14.0,
        rows.len()
    )
}
