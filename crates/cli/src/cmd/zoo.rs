//! `edgeopt zoo NAME -o model.onnx [--classes N --input 1x28x28 --width W --depth D ...]`:
//! write a seeded, freshly initialized model from the built-in zoo; `--list` shows them.

use anyhow::{bail, Context, Result};
use edgeopt_zoo::{BatchDim, ZooConfig, MODELS};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model name (see --list).
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// Where to write the ONNX file (replaced atomically).
    #[arg(short, long, required_unless_present = "list")]
    output: Option<PathBuf>,
    /// List the zoo's models.
    #[arg(long)]
    list: bool,
    /// Number of output classes (default: 10; 1000 for mobilenetv2).
    #[arg(long)]
    classes: Option<usize>,
    /// Input as CxHxW, e.g. 1x28x28 or 3x32x32.
    #[arg(long)]
    input: Option<String>,
    /// Channel (hidden size) multiplier; MobileNetV2's alpha.
    #[arg(long, default_value_t = 1.0)]
    width: f32,
    /// Multiplier of blocks per stage (resnet, mobilenetv2).
    #[arg(long, default_value_t = 1.0)]
    depth: f32,
    /// Input height = width (overrides --input's).
    #[arg(long)]
    resolution: Option<usize>,
    /// Hidden sizes of mlp, comma separated (default 256,128).
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Weight initialization seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Batch dimension: a number, or a name for a symbolic dim.
    #[arg(long, default_value = "N")]
    batch: String,
}

fn parse_dims(s: &str) -> Result<Vec<usize>> {
    s.split('x')
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .with_context(|| format!("--input {s}: '{d}' is not a size"))
        })
        .collect()
}

pub fn run(a: Args) -> Result<()> {
    if a.list {
        println!(
            "{:<12} {:<11} {:>7}  description",
            "model", "input", "classes"
        );
        for m in MODELS {
            let [c, h, w] = m.default_input;
            println!(
                "{:<12} {:<11} {:>7}  {}",
                m.name,
                format!("{c}x{h}x{w}"),
                m.default_classes,
                m.summary
            );
        }
        return Ok(());
    }
    let (Some(name), Some(output)) = (a.name, a.output) else {
        bail!("give a model name and -o OUTPUT (or --list)");
    };
    let batch = match a.batch.parse::<usize>() {
        Ok(b) => BatchDim::Fixed(b),
        Err(_)
            if !a.batch.is_empty() && a.batch.chars().all(|c| c.is_alphanumeric() || c == '_') =>
        {
            BatchDim::Symbolic(a.batch.clone())
        }
        Err(_) => bail!("--batch {}: give a number or a dim name", a.batch),
    };
    let cfg = ZooConfig {
        classes: a.classes,
        input: a.input.as_deref().map(parse_dims).transpose()?,
        resolution: a.resolution,
        width: a.width,
        depth: a.depth,
        hidden: a.hidden,
        seed: a.seed,
        batch,
    };
    let model = edgeopt_zoo::build(&name, &cfg)?;
    edgeopt_onnx::save_model(&model, &output, &Default::default())
        .with_context(|| format!("writing {}", output.display()))?;
    let g = &model.graph;
    let params: usize = g.initializers.values().map(|t| t.len()).sum();
    println!(
        "wrote {} ({name}: {} nodes, {} parameters, opset {})",
        output.display(),
        g.nodes.len(),
        params,
        model.opset()
    );
    Ok(())
}
