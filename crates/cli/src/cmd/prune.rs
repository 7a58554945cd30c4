//! `edgeopt prune MODEL --method M --sparsity S -o OUT.onnx`: prune a model and report what
//! it cost and saved (parameters, nonzeros, MACs, file size, per layer and total). With
//! `--finetune DATA` the pruned model is fine-tuned (one-shot, or `--schedule gradual` in
//! `--steps` steps of the cubic schedule), resumably with `--checkpoint DIR`.

use crate::feeds::{build_feeds, parse_dims, parse_shapes};
use crate::table::{human, Table};
use anyhow::{anyhow, bail, Context, Result};
use edgeopt_data::{Dataset, InMemoryDataset};
use edgeopt_ir::{Model, Value};
use edgeopt_prune::channel::{group_sizes, prune_structured_to};
use edgeopt_prune::finetune::{gradual, Event, Gradual};
use edgeopt_prune::latency::{measure, Measured};
use edgeopt_prune::report::{model_cost, ModelCost};
use edgeopt_prune::sensitivity::{allocate, sensitivity};
use edgeopt_prune::{
    layers, normalize, prune_masks, prune_structured, Apply, Criterion, Mask, Target,
};
use edgeopt_tensor::Tensor;
use edgeopt_train::optim::OptimizerKind;
use edgeopt_train::schedule::Schedule;
use edgeopt_train::TrainConfig;
use serde_json::json;
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum Method {
    /// Unstructured: smallest |w| (global unless --per-layer).
    Magnitude,
    /// Structured filter/channel pruning of convolutions (physically shrinks the model).
    Channel,
    /// Gemm/MatMul output neurons (physically removed with the next layer's inputs).
    Neuron,
    /// Blocks of --block RxC weights by mean magnitude.
    Block,
    /// N:M sparsity along the input dimension (--nm 2:4).
    Nm,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum Sched {
    /// Prune once to --sparsity, then fine-tune.
    Oneshot,
    /// --steps rounds of prune a little + fine-tune --epochs, on the cubic schedule.
    Gradual,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
enum Crit {
    L1,
    L2,
    Taylor,
    Activation,
}

#[derive(clap::Args, Clone)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// Pruning method.
    #[arg(long, value_enum)]
    method: Method,
    /// Fraction of weights (magnitude, block), of channels per group (channel, neuron) removed.
    #[arg(long, default_value_t = 0.5)]
    sparsity: f64,
    /// Write the pruned model here.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Magnitude: one ratio per layer instead of one global threshold.
    #[arg(long)]
    per_layer: bool,
    /// Channel/neuron importance.
    #[arg(long, value_enum, default_value = "l1")]
    criterion: Crit,
    /// Block shape for --method block: ROWSxCOLS (outputs x inputs).
    #[arg(long, default_value = "4x1")]
    block: String,
    /// Pattern for --method nm: N:M.
    #[arg(long, default_value = "2:4")]
    nm: String,
    /// Measure per-layer output error vs sparsity, then prune each layer at the greedy
    /// allocation meeting --sparsity overall (magnitude).
    #[arg(long)]
    sensitivity: bool,
    /// Sparsity levels for --sensitivity.
    #[arg(long, value_delimiter = ',', default_value = "0.3,0.5,0.7,0.9")]
    levels: Vec<f64>,
    /// Calibration samples (seeded random inputs) for --criterion activation / --sensitivity.
    #[arg(long, default_value_t = 2)]
    calib: usize,
    /// Calibration inputs: NAME=FILE.npy or FILE.npz (used as the first sample). Repeatable.
    #[arg(short, long = "input")]
    inputs: Vec<String>,
    /// Size for a symbolic dim, NAME=SIZE. Repeatable.
    #[arg(long = "dim")]
    dims: Vec<String>,
    /// Fix an input's shape, NAME=1x3x224x224. Repeatable.
    #[arg(long = "shape")]
    shapes: Vec<String>,
    /// Channel/neuron: keep shapes and only zero the removed channels' downstream weights
    /// (the function the shrunk model computes; for checking a shrink against ONNX Runtime).
    #[arg(long)]
    mask_only: bool,
    /// Measure latency before and after on the runtime (one thread, thread CPU time, median
    /// of --runs alternating the two models), per step and per op type.
    #[arg(long)]
    latency: bool,
    /// Timed runs for --latency.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Channel/neuron: round each group's kept channels to the nearest multiple of this
    /// (groups with fewer channels are not rounded). Default 1 (no rounding): on ResNet-18,
    /// MobileNetV2 and PP-OCR det, rounding to 8 or 16 added MACs without running the
    /// remaining ones faster (BENCHMARKS.md).
    #[arg(long, default_value_t = 1)]
    round_to: usize,
    /// Labelled data (IDX dir, `train-*` and `t10k-*`, e.g. Fashion-MNIST): for
    /// --criterion taylor and accuracy before/after. Defaults to the --finetune directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Fine-tune the pruned model on this dataset directory (IDX, like `edgeopt train`).
    #[arg(long)]
    finetune: Option<PathBuf>,
    /// Fine-tuning epochs (per step with --schedule gradual).
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Fine-tuning learning rate (SGD, momentum 0.9, cosine decay per step).
    #[arg(long, default_value_t = 0.01)]
    lr: f32,
    /// Fine-tuning batch size (also the size of --criterion taylor batches).
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Use only the first N training samples for fine-tuning.
    #[arg(long)]
    limit: Option<usize>,
    /// Seed of the fine-tuning data order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Pruning schedule with --finetune.
    #[arg(long, value_enum, default_value = "oneshot")]
    schedule: Sched,
    /// Prune/fine-tune rounds for --schedule gradual.
    #[arg(long, default_value_t = 4)]
    steps: usize,
    /// Save progress here after every step and epoch; rerunning the same command resumes.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// CPU seconds of the calling thread (the 1-thread sessions run on it).
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn pair(s: &str, sep: char, what: &str) -> Result<(usize, usize)> {
    let (a, b) = s
        .split_once(sep)
        .ok_or_else(|| anyhow!("{what} must look like A{sep}B, got '{s}'"))?;
    Ok((a.trim().parse()?, b.trim().parse()?))
}

fn calibration(model: &Model, a: &Args) -> Result<Vec<Vec<Tensor>>> {
    let shapes = parse_shapes(&a.shapes)?;
    let dims = parse_dims(&a.dims)?;
    let mut out = Vec::new();
    for i in 0..a.calib.max(1) {
        let specs: &[String] = if i == 0 { &a.inputs } else { &[] };
        let feeds = build_feeds(&model.graph, specs, true, i as u64, &dims, &shapes)?;
        out.push(
            feeds
                .into_iter()
                .filter_map(|(_, v)| match v {
                    Value::Tensor(t) => Some(t),
                    _ => None,
                })
                .collect(),
        );
    }
    Ok(out)
}

fn mask_of(a: &Args) -> Result<Mask> {
    Ok(match a.method {
        Method::Magnitude => Mask::Magnitude {
            global: !a.per_layer && !a.sensitivity,
        },
        Method::Block => {
            let (rows, cols) = pair(&a.block, 'x', "--block")?;
            Mask::Block { rows, cols }
        }
        Method::Nm => {
            let (n, m) = pair(&a.nm, ':', "--nm")?;
            Mask::NofM { n, m }
        }
        Method::Channel | Method::Neuron => bail!("structured methods have no mask"),
    })
}

fn criterion(c: Crit) -> Criterion {
    match c {
        Crit::L1 => Criterion::L1,
        Crit::L2 => Criterion::L2,
        Crit::Activation => Criterion::Activation,
        Crit::Taylor => Criterion::Taylor,
    }
}

/// Labelled training data and the test set.
struct Data {
    train: InMemoryDataset,
    test: InMemoryDataset,
}

fn load_data(a: &Args) -> Result<Option<Data>> {
    let Some(dir) = a.data.as_ref().or(a.finetune.as_ref()) else {
        return Ok(None);
    };
    let splits = crate::data::open_path(dir)
        .with_context(|| format!("loading the training data from {}", dir.display()))?;
    let Some(test) = splits.test else {
        bail!(
            "{} has no test split (needed to report accuracy)",
            dir.display()
        )
    };
    let train = crate::data::take(splits.train, a.limit)?;
    Ok(Some(Data { train, test }))
}

fn accuracy(model: &Model, d: &Data) -> Result<f64> {
    Ok(edgeopt_train::trainer::evaluate(model, &d.test, 256)?.1)
}

/// Calibration for a structured criterion: random inputs (activation), labelled training
/// batches `[x, labels]` (taylor), none (norms).
fn structured_calibration(
    model: &Model,
    a: &Args,
    c: Criterion,
    data: Option<&Data>,
) -> Result<Vec<Vec<Tensor>>> {
    match c {
        Criterion::Activation => calibration(model, a),
        Criterion::Taylor => {
            let Some(d) = data else {
                bail!("--criterion taylor needs labelled data: --data DIR or --finetune DIR")
            };
            let bs = a.batch_size.max(1);
            let n = d.train.len().min(bs * a.calib.max(1));
            let idx: Vec<usize> = (0..n).collect();
            idx.chunks(bs)
                .map(|c| {
                    let (x, y) = d.train.subset(c)?.to_tensors()?;
                    Ok(vec![x, y])
                })
                .collect()
        }
        Criterion::L1 | Criterion::L2 => Ok(Vec::new()),
    }
}

/// Prunes to --sparsity in one or --steps rounds, fine-tuning after each on the training set.
fn prune_and_finetune(model: Model, a: &Args, d: &Data) -> Result<Model> {
    if a.mask_only || a.sensitivity {
        bail!("--finetune does not combine with --mask-only or --sensitivity");
    }
    let steps = match a.schedule {
        Sched::Oneshot => 1,
        Sched::Gradual => a.steps.max(1),
    };
    if a.method == Method::Nm && steps > 1 {
        bail!("N:M sparsity has a fixed pattern: use --schedule oneshot");
    }
    let structured = matches!(a.method, Method::Channel | Method::Neuron);
    let target = if a.method == Method::Channel {
        Target::Channels
    } else {
        Target::Neurons
    };
    let original = group_sizes(&model, target);
    let crit = criterion(a.criterion);
    let mask = if structured { None } else { Some(mask_of(a)?) };
    let cfg = Gradual {
        steps,
        final_sparsity: a.sparsity,
        train: TrainConfig {
            epochs: a.epochs,
            batch_size: a.batch_size,
            optimizer: OptimizerKind::Sgd {
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0,
            },
            lr: a.lr,
            schedule: Schedule::Cosine { min_lr: 0.0 },
            seed: a.seed,
            ..TrainConfig::default()
        },
        keep_zeros: !structured,
        checkpoint: a.checkpoint.clone(),
        fingerprint: format!(
            "{} {:?} {:?} sparsity {} {:?} steps {steps} epochs {} lr {} batch {} limit {:?} \
             seed {} round {} block {} nm {} per-layer {}",
            a.model.display(),
            a.method,
            a.criterion,
            a.sparsity,
            a.schedule,
            a.epochs,
            a.lr,
            a.batch_size,
            a.limit,
            a.seed,
            a.round_to,
            a.block,
            a.nm,
            a.per_layer
        ),
    };
    let prune = |m: &mut Model, _before: f64, after: f64| -> edgeopt_prune::Result<()> {
        match mask {
            Some(mask) => {
                let ls = layers(m);
                prune_masks(m, &ls, mask, after)?;
            }
            None => {
                normalize(m)?;
                let calib = structured_calibration(m, a, crit, Some(d))
                    .map_err(|e| edgeopt_prune::PruneError::Input(format!("{e:#}")))?;
                prune_structured_to(m, target, crit, after, &calib, &original, a.round_to)?;
            }
        }
        Ok(())
    };
    let log = |e: &Event| match e {
        Event::Pruned {
            step,
            steps,
            sparsity,
        } => eprintln!("step {step}/{steps}: pruned to {:.1}%", sparsity * 100.0),
        Event::Epoch { step, stats } => eprintln!(
            "step {step}: epoch {} loss {:.4} train acc {:.4} ({} samples, {:.0} s)",
            stats.epoch, stats.loss, stats.accuracy, stats.samples, stats.seconds
        ),
        Event::Resumed { step, finetuned } => eprintln!(
            "resumed from the checkpoint: {step} step(s) done{}",
            if *finetuned {
                ""
            } else {
                ", fine-tuning in progress"
            }
        ),
    };
    let mut out = gradual(model, &d.train, &cfg, prune, log)?;
    normalize(&mut out)?;
    Ok(out)
}

fn steps_json(m: &Measured) -> serde_json::Value {
    let steps: Vec<_> = m
        .steps
        .iter()
        .map(|s| {
            json!({"node": s.node, "op": s.op_type, "kernel": s.kernel, "macs": s.macs,
            "cpu_ms": s.seconds * 1e3})
        })
        .collect();
    serde_json::Value::Array(steps)
}

/// CPU time and MACs per (op type, kernel) before and after: what does not scale with MACs.
fn by_op_table(b: &Measured, x: &Measured) -> Table {
    let key = |s: &edgeopt_prune::latency::StepTime| format!("{} [{}]", s.op_type, s.kernel);
    let (tb, tx) = (b.totals_by(key), x.totals_by(key));
    let mut keys: Vec<&String> = tb
        .keys()
        .chain(tx.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    keys.sort_by(|p, q| {
        let t = |k: &String| tb.get(k).map_or(0.0, |v| v.0);
        t(q).total_cmp(&t(p))
    });
    let mut t = Table::new(&[
        "op [kernel]",
        "CPU ms before",
        "CPU ms after",
        "speedup",
        "MACs before",
        "MACs after",
    ]);
    for k in keys {
        let (p, q) = (tb.get(k).copied(), tx.get(k).copied());
        let ms = |v: Option<(f64, u64)>| v.map_or("-".into(), |v| format!("{:.3}", v.0 * 1e3));
        let macs = |v: Option<(f64, u64)>| v.map_or("-".into(), |v| human(v.1));
        let speedup = match (p, q) {
            (Some(p), Some(q)) if q.0 > 0.0 => format!("{:.2}x", p.0 / q.0),
            _ => "-".into(),
        };
        t.row(vec![k.clone(), ms(p), ms(q), speedup, macs(p), macs(q)]);
    }
    t
}

fn cost_json(c: &ModelCost, bytes: Option<u64>) -> serde_json::Value {
    json!({"params": c.params, "nonzero": c.nonzero, "macs": c.macs, "file_bytes": bytes})
}

pub fn run(a: Args) -> Result<()> {
    if !(0.0..=1.0).contains(&a.sparsity) {
        bail!("--sparsity must be in [0, 1], got {}", a.sparsity);
    }
    let shapes = parse_shapes(&a.shapes)?;
    let dims = parse_dims(&a.dims)?;
    let mut model = super::load_shaped(&a.model, &shapes, &dims)?;
    normalize(&mut model).context("preparing the model")?;
    let before = model_cost(&model);
    let timing_feeds = if a.latency {
        let mut c = calibration(
            &model,
            &Args {
                calib: 1,
                ..a.clone()
            },
        )?;
        c.pop()
    } else {
        None
    };
    let original = timing_feeds.as_ref().map(|_| model.clone());
    let size_before = std::fs::metadata(&a.model).ok().map(|m| m.len());
    let mut notes: Vec<String> = Vec::new();
    let mut groups_json = Vec::new();
    let mut sens_json = Vec::new();
    let data = load_data(&a)?;
    let acc_before = match &data {
        Some(d) => Some(accuracy(&model, d)?),
        None => None,
    };
    if let Some(d) = &data {
        if a.finetune.is_some() {
            model = prune_and_finetune(model, &a, d)?;
        }
    }
    if a.finetune.is_none() {
        match a.method {
            Method::Channel | Method::Neuron => {
                let criterion = criterion(a.criterion);
                let calib = structured_calibration(&model, &a, criterion, data.as_ref())?;
                let target = if a.method == Method::Channel {
                    Target::Channels
                } else {
                    Target::Neurons
                };
                let reports = prune_structured(
                    &mut model,
                    target,
                    criterion,
                    a.sparsity,
                    &calib,
                    if a.mask_only {
                        Apply::Mask
                    } else {
                        Apply::Shrink
                    },
                    a.round_to,
                )?;
                for r in &reports {
                    groups_json.push(json!({"producers": r.producers, "channels": r.channels,
                        "removed": r.removed, "skipped": r.skipped}));
                    if let Some(why) = &r.skipped {
                        if !r.producers.is_empty() {
                            notes.push(format!(
                                "left alone: {} ({} channels): {why}",
                                r.producers.join("+"),
                                r.channels
                            ));
                        }
                    }
                }
            }
            Method::Magnitude | Method::Block | Method::Nm => {
                let ls = layers(&model);
                let mask = mask_of(&a)?;
                if a.sensitivity {
                    let calib = calibration(&model, &a)?;
                    let curves = sensitivity(&model, &calib, &a.levels)?;
                    let alloc = allocate(&curves, a.sparsity);
                    for (c, l) in curves.iter().zip(&ls) {
                        let s = alloc.get(&c.node).copied().unwrap_or(0.0);
                        prune_masks(&mut model, std::slice::from_ref(l), mask, s)?;
                        sens_json.push(json!({"node": c.node, "params": c.params,
                            "curve": c.points, "chosen": s}));
                    }
                } else {
                    prune_masks(&mut model, &ls, mask, a.sparsity)?;
                }
            }
        }
    }
    let after = model_cost(&model);
    let size_after = match &a.output {
        Some(out) => {
            edgeopt_onnx::save_model(&model, out, &edgeopt_onnx::SaveOptions::default())
                .with_context(|| format!("writing {}", out.display()))?;
            std::fs::metadata(out).ok().map(|m| m.len())
        }
        None => None,
    };
    let acc_after = match &data {
        Some(d) => Some(accuracy(&model, d)?),
        None => None,
    };
    if let (Some(b), Some(x)) = (acc_before, acc_after) {
        notes.push(format!(
            "accuracy on {} test samples: {:.2}% -> {:.2}% ({:+.2} points)",
            data.as_ref().map_or(0, |d| d.test.len()),
            b * 100.0,
            x * 100.0,
            (x - b) * 100.0
        ));
    }
    let measured = match (&timing_feeds, &original) {
        (Some(f), Some(o)) => Some(measure(&[o, &model], f, a.runs, thread_cpu)?),
        _ => None,
    }
    .map(|mut v| {
        let after = v.pop();
        (v.pop(), after)
    });
    let (m_before, m_after) = match measured {
        Some((Some(b), Some(x))) => (Some(b), Some(x)),
        _ => (None, None),
    };
    let node_ms = |m: &Option<Measured>, node: &str| -> Option<f64> {
        m.as_ref()
            .and_then(|m| m.node_seconds(node))
            .map(|t| t * 1e3)
    };
    let layer_ms: Vec<(Option<f64>, Option<f64>)> = before
        .layers
        .iter()
        .map(|l| (node_ms(&m_before, &l.node), node_ms(&m_after, &l.node)))
        .collect();
    let (cpu_before, cpu_after) = (
        m_before.as_ref().map(|m| m.run_seconds),
        m_after.as_ref().map(|m| m.run_seconds),
    );
    if let (Some(cb), Some(cx)) = (cpu_before, cpu_after) {
        let mac_ratio = before.macs as f64 / after.macs.max(1) as f64;
        notes.push(format!(
            "latency (runtime, 1 thread, thread CPU time, median of {} runs alternating \
             original and pruned): {:.3} ms -> {:.3} ms ({:.2}x); MACs {mac_ratio:.2}x fewer: \
             speedup / MAC reduction = {:.2}",
            a.runs,
            cb * 1e3,
            cx * 1e3,
            cb / cx,
            cb / cx / mac_ratio
        ));
    }
    if a.json {
        let layers: Vec<_> = before
            .layers
            .iter()
            .zip(&layer_ms)
            .map(|(l, ms)| {
                let b = after.layers.iter().find(|x| x.node == l.node);
                json!({"node": l.node, "op": l.op_type, "params_before": l.params,
                    "params_after": b.map(|x| x.params), "nonzero_after": b.map(|x| x.nonzero),
                    "macs_before": l.macs, "macs_after": b.map(|x| x.macs),
                    "ms_before": ms.0, "ms_after": ms.1})
            })
            .collect();
        let out = json!({"before": cost_json(&before, size_before),
            "after": cost_json(&after, size_after),
            "cpu_s": {"before": cpu_before, "after": cpu_after},
            "steps": {"before": m_before.as_ref().map(steps_json),
                "after": m_after.as_ref().map(steps_json)},
            "accuracy": {"before": acc_before, "after": acc_after}, "layers": layers, "groups": groups_json,
            "sensitivity": sens_json, "notes": notes});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if !sens_json.is_empty() {
        let mut t = Table::new(&["layer", "params", "error at levels", "chosen"]);
        for s in &sens_json {
            let pts: Vec<String> = s["curve"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{:.0}%:{:.4}",
                        p[0].as_f64().unwrap_or(0.0) * 100.0,
                        p[1].as_f64().unwrap_or(0.0)
                    )
                })
                .collect();
            t.row(vec![
                s["node"].as_str().unwrap_or("").to_string(),
                s["params"].to_string(),
                pts.join(" "),
                format!("{:.0}%", s["chosen"].as_f64().unwrap_or(0.0) * 100.0),
            ]);
        }
        println!("{}", t.render());
    }
    if let (Some(b), Some(x)) = (&m_before, &m_after) {
        println!("{}", by_op_table(b, x).render());
    }
    let timed = m_before.is_some();
    let mut head = vec![
        "layer",
        "op",
        "params",
        "nonzero",
        "MACs before",
        "MACs after",
    ];
    if timed {
        head.extend(["CPU ms before", "CPU ms after"]);
    }
    let mut t = Table::new(&head);
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    for (l, lms) in before.layers.iter().zip(&layer_ms) {
        let b = after.layers.iter().find(|x| x.node == l.node);
        if b.is_some_and(|b| b.params == l.params && b.nonzero == l.nonzero && b.macs == l.macs) {
            continue;
        }
        let mut row = vec![
            l.node.clone(),
            l.op_type.clone(),
            format!(
                "{} -> {}",
                human(l.params),
                b.map_or("-".into(), |b| human(b.params))
            ),
            b.map_or("-".into(), |b| human(b.nonzero)),
            human(l.macs),
            b.map_or("-".into(), |b| human(b.macs)),
        ];
        if timed {
            row.extend([ms(lms.0), ms(lms.1)]);
        }
        t.row(row);
    }
    println!("{}", t.render());
    let pct = |a: u64, b: u64| {
        if a == 0 {
            0.0
        } else {
            100.0 * (1.0 - b as f64 / a as f64)
        }
    };
    println!(
        "params {} -> {} ({:.1}% fewer), nonzero {} -> {} ({:.1}% fewer), MACs {} -> {} ({:.1}% fewer)",
        human(before.params),
        human(after.params),
        pct(before.params, after.params),
        human(before.nonzero),
        human(after.nonzero),
        pct(before.nonzero, after.nonzero),
        human(before.macs),
        human(after.macs),
        pct(before.macs, after.macs),
    );
    if let (Some(b), Some(s)) = (size_before, size_after) {
        println!("file {} -> {} bytes ({:.1}% smaller)", b, s, pct(b, s));
    }
    for n in &notes {
        println!("note: {n}");
    }
    Ok(())
}
