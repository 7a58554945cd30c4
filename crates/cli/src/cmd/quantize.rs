//! `edgeopt quantize MODEL --calib DATA -o OUT.onnx`: static int8 QDQ quantization (or
//! `--dynamic`, `--fp16`, `--int4`), with an optional accuracy report and accuracy-aware
//! fallback. The output is written only when everything succeeded.

use super::calib_data::{load_samples, progress_bar, read_labels, DataArgs};
use super::compare::print_report;
use anyhow::{bail, Context, Result};
use edgeopt_quant::fallback::{quantize_with_fallback, Target};
use edgeopt_quant::report::compare;
use edgeopt_quant::{Method, QType, Selection, StaticConfig};
use serde_json::json;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum CalibMethod {
    Minmax,
    Percentile,
    Entropy,
    Mse,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum EqualizeMode {
    Off,
    Weights,
    Data,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum IntType {
    Uint8,
    Int8,
}

impl IntType {
    fn qtype(self) -> QType {
        match self {
            IntType::Uint8 => QType::U8,
            IntType::Int8 => QType::I8,
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// The float ONNX model.
    model: PathBuf,
    /// Calibration data: .npy / .npz (first axis = samples), an IDX file, or `random`.
    #[arg(long)]
    calib: Option<String>,
    /// Output model.
    #[arg(short, long)]
    output: PathBuf,
    /// One scale per tensor for weights (default: per output channel for Conv/Gemm/MatMul).
    #[arg(long)]
    per_tensor: bool,
    /// Symmetric activation ranges (zero point at the middle of the type).
    #[arg(long)]
    symmetric: bool,
    #[arg(long, value_enum, default_value = "uint8")]
    activation_type: IntType,
    #[arg(long, value_enum, default_value = "int8")]
    weight_type: IntType,
    #[arg(long, value_enum, default_value = "minmax")]
    method: CalibMethod,
    /// Percentile of |x| kept by `--method percentile`.
    #[arg(long, default_value_t = 99.99)]
    percentile: f64,
    /// Quantize only these nodes (names or op types). Repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    include: Vec<String>,
    /// Keep these nodes (names or op types) in float. Repeatable or comma-separated.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// 7-bit weights and activations (for AVX2 without VNNI).
    #[arg(long)]
    reduce_range: bool,
    /// Dynamic quantization: int8 MatMul/Gemm weights, activations quantized at run time.
    #[arg(long, conflicts_with_all = ["fp16", "int4"])]
    dynamic: bool,
    /// Store weights in fp16 (behind a Cast to float).
    #[arg(long, conflicts_with = "int4")]
    fp16: bool,
    /// Int4 blockwise weights for MatMul/Gemm (DequantizeLinear with block_size, opset 21).
    #[arg(long)]
    int4: bool,
    #[arg(long, default_value_t = 32)]
    block_size: usize,
    /// Compare the quantized model with the float one on the calibration (or --eval) data.
    #[arg(long)]
    report: bool,
    /// Keep the most sensitive layers in float until top-1 agreement reaches this share.
    #[arg(long)]
    target_agreement: Option<f64>,
    /// Keep the most sensitive layers in float until every output's cosine similarity with the
    /// float model reaches this (for maps, e.g. a detector's).
    #[arg(long, conflicts_with_all = ["target_agreement", "max_drop"])]
    target_cosine: Option<f64>,
    /// With --labels: keep layers in float until top-1 accuracy drops at most this much.
    #[arg(long, requires = "labels")]
    max_drop: Option<f64>,
    /// Labels (IDX or .npy) for --max-drop, one per sample of the evaluation data.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Evaluation data for --report / fallback (default: the calibration data).
    #[arg(long)]
    eval: Option<String>,
    /// Keep the graph as exported: no folding of affine ops into convolutions, no HardSwish
    /// fusion before quantizing.
    #[arg(long)]
    no_fold_affine: bool,
    /// Cross-layer equalization of Conv -> [Relu] -> Conv pairs before calibrating: `data`
    /// (scales from channel ranges measured on the calibration data), `weights` (data-free,
    /// Nagel et al. 2019) or `off`.
    #[arg(long, value_enum, default_value = "off")]
    equalize: EqualizeMode,
    /// Empirical bias correction: shift each quantized Conv's bias by the output mean its
    /// quantized input and weights move on the calibration data.
    #[arg(long)]
    bias_correction: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    qat: super::qat::QatOpts,
}

fn file_size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

pub fn run(a: Args) -> Result<()> {
    let mut model = super::load(&a.model)?;
    let sel = Selection {
        include: a.include.clone(),
        exclude: a.exclude.clone(),
    };
    let mut summary = json!({});
    let engine = a.data.engine();
    let mut report = None;
    let quantized = if a.dynamic || a.fp16 || a.int4 {
        let mut m = model.clone();
        let what = if a.dynamic {
            let n = edgeopt_quant::dynamic::quantize_dynamic(&mut m, &sel, a.reduce_range)?;
            format!("{} MatMul/Gemm nodes quantized dynamically", n.len())
        } else if a.fp16 {
            let n = edgeopt_quant::weight_only::weights_to_fp16(&mut m)?;
            format!("{n} weights stored as fp16")
        } else {
            let n = edgeopt_quant::weight_only::weights_to_int4(&mut m, a.block_size, &sel)?;
            format!(
                "{} MatMul/Gemm weights stored as int4 (blocks of {})",
                n.len(),
                a.block_size
            )
        };
        summary["done"] = json!(what);
        if a.report || a.target_agreement.is_some() {
            let spec = a.eval.as_deref().or(a.calib.as_deref()).unwrap_or("random");
            let data = load_samples(&model, spec, &a.data)?;
            report = Some(compare(
                &model,
                &m,
                &data,
                None,
                &*engine,
                &mut progress_bar(),
            )?);
        }
        m
    } else {
        let spec = a
            .calib
            .as_deref()
            .context("static quantization needs --calib DATA (or `random`)")?;
        let prep = edgeopt_quant::Prep {
            fold_affine: !a.no_fold_affine,
            equalize: match a.equalize {
                EqualizeMode::Off => edgeopt_quant::Equalize::Off,
                EqualizeMode::Weights => edgeopt_quant::Equalize::Weights,
                EqualizeMode::Data => edgeopt_quant::Equalize::Data,
            },
        };
        let mut notes = edgeopt_quant::preprocess_with(&mut model, &prep)?;
        let calib = load_samples(&model, spec, &a.data).context("loading calibration data")?;
        if prep.equalize == edgeopt_quant::Equalize::Data {
            let note = edgeopt_quant::equalize_with_data(
                &mut model,
                &calib,
                &*engine,
                &mut progress_bar(),
            )?;
            notes.push(note);
        }
        let cfg = StaticConfig {
            activation_type: a.activation_type.qtype(),
            weight_type: a.weight_type.qtype(),
            per_channel: !a.per_tensor,
            symmetric_activations: a.symmetric,
            symmetric_weights: true,
            reduce_range: a.reduce_range,
            method: match a.method {
                CalibMethod::Minmax => Method::MinMax,
                CalibMethod::Percentile => Method::Percentile(a.percentile),
                CalibMethod::Entropy => Method::Entropy,
                CalibMethod::Mse => Method::Mse,
            },
            selection: sel,
        };
        let stats = edgeopt_quant::calibrate(&model, &calib, &cfg, &*engine, &mut progress_bar())?;
        if a.bias_correction {
            if a.target_agreement.is_some() || a.max_drop.is_some() || a.target_cosine.is_some() {
                // Corrections are for the selected layers; the fallback then floats some.
                bail!("--bias-correction does not combine with the fallback targets");
            }
            let n = edgeopt_quant::bias_correct::correct_biases(
                &mut model,
                &stats,
                &cfg,
                &calib,
                &*engine,
                &mut progress_bar(),
            )?;
            notes.push(format!("bias correction: {n} convolutions"));
        }
        // With --qat the fine-tuned model is exported; reports compare it with the original.
        let original = model.clone();
        if a.qat.qat {
            if a.target_agreement.is_some() || a.max_drop.is_some() || a.target_cosine.is_some() {
                bail!("--qat does not combine with the fallback targets");
            }
            model = super::qat::fine_tune(&model, &stats, &cfg, &a.qat)?;
        }
        let target = match (a.target_agreement, a.max_drop, a.target_cosine) {
            (Some(_), Some(_), _) => bail!("give --target-agreement or --max-drop, not both"),
            (Some(t), None, _) => Some(Target::Agreement(t)),
            (None, Some(d), _) => Some(Target::MaxDrop(d)),
            (None, None, Some(c)) => Some(Target::Cosine(c)),
            (None, None, None) => None,
        };
        let eval = match &a.eval {
            Some(e) => load_samples(&model, e, &a.data).context("loading evaluation data")?,
            None => calib.clone(),
        };
        let labels = a.labels.as_deref().map(read_labels).transpose()?;
        let r = match target {
            Some(t) => {
                let fb = quantize_with_fallback(
                    &model,
                    &stats,
                    &cfg,
                    &eval,
                    labels.as_deref(),
                    t,
                    &*engine,
                    &mut progress_bar(),
                )?;
                summary["float_layers"] = json!(fb.float_layers);
                summary["fallback_steps"] = json!(fb
                    .steps
                    .iter()
                    .map(|(k, c, a)| json!({"float_layers": k, "min_output_cosine": c, "top1_agreement": a}))
                    .collect::<Vec<_>>());
                report = Some(fb.report);
                fb.result
            }
            None => {
                let r = edgeopt_quant::quantize_with_stats(&model, &stats, &cfg)?;
                if a.report {
                    report = Some(compare(
                        &original,
                        &r.model,
                        &eval,
                        labels.as_deref(),
                        &*engine,
                        &mut progress_bar(),
                    )?);
                }
                r
            }
        };
        notes.extend(r.notes.iter().cloned());
        summary["notes"] = json!(notes);
        summary["quantized_nodes"] = json!(r.quantized_nodes.len());
        summary["samples"] = json!(calib.len());
        r.model
    };
    edgeopt_onnx::save_model(&quantized, &a.output, &Default::default())
        .with_context(|| format!("writing {}", a.output.display()))?;
    let (before, after) = (file_size(&a.model), file_size(&a.output));
    summary["input_bytes"] = json!(before);
    summary["output_bytes"] = json!(after);
    summary["size_ratio"] = json!(before as f64 / after.max(1) as f64);
    if a.json {
        if let Some(r) = &report {
            summary["report"] = super::compare::report_json(r);
        }
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    if let Some(s) = summary["done"].as_str() {
        println!("{s}");
    }
    if let Some(n) = summary["quantized_nodes"].as_u64() {
        println!(
            "{n} nodes quantized (static QDQ, {} calibration samples)",
            summary["samples"]
        );
    }
    for n in summary["notes"].as_array().into_iter().flatten() {
        println!("note: {}", n.as_str().unwrap_or_default());
    }
    for st in summary["fallback_steps"].as_array().into_iter().flatten() {
        println!(
            "fallback: {} layers in float -> output cosine {:.5}, top-1 agreement {}",
            st["float_layers"],
            st["min_output_cosine"].as_f64().unwrap_or(f64::NAN),
            st["top1_agreement"]
                .as_f64()
                .map_or("-".to_string(), |a| format!("{:.2}%", a * 100.0))
        );
    }
    if let Some(f) = summary["float_layers"].as_array() {
        let names: Vec<&str> = f.iter().filter_map(|v| v.as_str()).collect();
        println!(
            "kept in float: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    println!(
        "{} -> {}: {:.2} MiB -> {:.2} MiB ({:.2}x smaller)",
        a.model.display(),
        a.output.display(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        before as f64 / after.max(1) as f64
    );
    if let Some(r) = &report {
        print_report(r);
    }
    Ok(())
}
