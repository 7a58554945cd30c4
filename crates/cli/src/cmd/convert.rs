//! `edgeopt convert IN OUT`: re-export a model, optionally at another opset or with external data.

use anyhow::{bail, Result};
use edgeopt_onnx::{save_model, SaveOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model to read.
    input: PathBuf,
    /// Where to write (replaced atomically).
    output: PathBuf,
    /// Target default-domain opset. Upgrades rewrite the ops whose definition changes on the way
    /// (e.g. Squeeze/Unsqueeze/Split/Reduce* axes moving from attributes to inputs at 13);
    /// a lower opset is only declared when every op keeps its definition.
    #[arg(long)]
    opset: Option<i64>,
    /// Store weights of at least --external-threshold bytes in this file beside the output.
    #[arg(long)]
    external_data: Option<String>,
    #[arg(long, default_value_t = 1024)]
    external_threshold: usize,
}

pub fn run(a: Args) -> Result<()> {
    let mut model = super::load(&a.input)?;
    let mut rewritten = 0;
    if let Some(to) = a.opset.filter(|&to| to > model.opset()) {
        let report = edgeopt_onnx::upgrade_opset(&mut model, to)?;
        rewritten = report.rewritten.len();
    } else if let Some(to) = a.opset {
        let from = model.opset();
        let blocking = edgeopt_onnx::opset_change_conflicts(&model.graph, from, to);
        if !blocking.is_empty() {
            bail!(
                "cannot declare opset {to} (model is opset {from}): these ops change definition in between: {}",
                blocking.join(", ")
            );
        }
    }
    let opts = SaveOptions {
        external_data: a.external_data,
        external_threshold: a.external_threshold,
        opset: a.opset,
    };
    save_model(&model, &a.output, &opts)?;
    println!(
        "wrote {} ({} nodes, opset {}, {rewritten} nodes rewritten for the new opset)",
        a.output.display(),
        model.graph.nodes.len(),
        a.opset.unwrap_or(model.opset())
    );
    Ok(())
}
