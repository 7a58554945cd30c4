//! `edgeopt eval MODEL.onnx --data PATH`: accuracy and cross-entropy loss on the test set (or
//! the training set) of any data set `edgeopt train` reads.

use crate::data::DataOpts;
use anyhow::{Context, Result};
use edgeopt_data::Dataset;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model (first output: logits [N, classes]).
    model: PathBuf,
    #[command(flatten)]
    data: DataOpts,
    /// Which split: `test` (`t10k`) or `train`.
    #[arg(long, default_value = "test", value_parser = ["test", "t10k", "train"])]
    split: String,
    /// Only the first N samples.
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<()> {
    let model = super::load(&a.model)?;
    let splits = crate::data::open(&a.data)?;
    let data = if a.split == "train" {
        splits.train
    } else {
        splits.test.with_context(|| {
            format!(
                "{} has no test split (give --test-data, or --split train)",
                a.data.data.display()
            )
        })?
    };
    let data = crate::data::take(data, a.limit)?;
    let start = std::time::Instant::now();
    let (loss, acc) = edgeopt_train::trainer::evaluate(&model, &data, a.batch_size)?;
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        println!(
            "{}",
            serde_json::json!({"samples": data.len(), "accuracy": acc, "loss": loss, "seconds": secs})
        );
    } else {
        println!(
            "{} samples: accuracy {:.4}, loss {:.4} ({secs:.1} s)",
            data.len(),
            acc,
            loss
        );
    }
    Ok(())
}
