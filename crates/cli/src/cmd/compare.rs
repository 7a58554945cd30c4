//! `edgeopt compare A.onnx B.onnx --data DATA`: per-tensor SQNR and cosine similarity of B
//! against A (tensors matched by name), output errors and top-1 agreement.

use super::calib_data::{load_samples, progress_bar, read_labels, DataArgs};
use crate::table::Table;
use anyhow::{Context, Result};
use edgeopt_quant::report::{compare_with, Report};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The reference (float) model.
    reference: PathBuf,
    /// The model to compare (e.g. quantized).
    candidate: PathBuf,
    /// Data: .npy / .npz (first axis = samples), an IDX file, or `random`.
    #[arg(long, default_value = "random")]
    data: String,
    /// Labels (IDX or .npy) for top-1 accuracy of both models.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Compare only the outputs (faster: the models run as deployed, no intermediate probes).
    #[arg(long)]
    outputs_only: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    opts: DataArgs,
}

/// The report as JSON.
pub fn report_json(r: &Report) -> Value {
    let t = |l: &edgeopt_quant::report::TensorError| json!({"name": l.name, "op": l.op_type, "sqnr_db": l.sqnr_db, "cosine": l.cosine, "max_abs_error": l.max_abs_error});
    json!({
        "samples": r.samples,
        "top1_agreement": r.top1_agreement,
        "accuracy": r.accuracy.map(|(a, b)| json!({"reference": a, "candidate": b})),
        "outputs": r.outputs.iter().map(t).collect::<Vec<_>>(),
        "layers": r.layers.iter().map(t).collect::<Vec<_>>(),
    })
}

/// The report as tables.
pub fn print_report(r: &Report) {
    let mut tab = Table::new(&["tensor", "op", ">SQNR dB", ">cosine", ">max |err|"]);
    for l in r.layers.iter().chain(&r.outputs) {
        tab.row(vec![
            l.name.clone(),
            l.op_type.clone(),
            format!("{:.1}", l.sqnr_db),
            format!("{:.5}", l.cosine),
            format!("{:.4e}", l.max_abs_error),
        ]);
    }
    print!("{}", tab.render());
    println!("samples: {}", r.samples);
    if let Some(a) = r.top1_agreement {
        println!("top-1 agreement: {:.2}%", a * 100.0);
    }
    if let Some((f, q)) = r.accuracy {
        println!(
            "top-1 accuracy: reference {:.2}%, candidate {:.2}%",
            f * 100.0,
            q * 100.0
        );
    }
}

pub fn run(a: Args) -> Result<()> {
    let reference = super::load(&a.reference)?;
    let candidate = super::load(&a.candidate)?;
    let data = load_samples(&reference, &a.data, &a.opts).context("loading data")?;
    let labels = a.labels.as_deref().map(read_labels).transpose()?;
    let r = compare_with(
        &reference,
        &candidate,
        &data,
        labels.as_deref(),
        &*a.opts.engine(),
        &mut progress_bar(),
        !a.outputs_only,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&r))?);
    } else {
        print_report(&r);
    }
    Ok(())
}
