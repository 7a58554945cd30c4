//! `edgeopt eval MODEL.onnx --data DIR`: accuracy and cross-entropy loss on the test set.

use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model (first output: logits [N, classes]).
    model: PathBuf,
    /// Dataset directory (IDX files `t10k-images-idx3-ubyte[.gz]`, ...).
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "fashion-mnist", value_parser = ["fashion-mnist", "mnist", "idx"])]
    dataset: String,
    /// Which split: `t10k` (test) or `train`.
    #[arg(long, default_value = "t10k")]
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
    let mut data = edgeopt_train::idx::load_mnist_like(&a.data, &a.split)?;
    if let Some(n) = a.limit {
        data = data.take(n);
    }
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
