//! `edgeopt hw list|show|calibrate|validate`: device profiles, host calibration and the
//! validation of the host cost model against measured latencies.

use crate::table::{human, Table};
use anyhow::{Context, Result};
use edgeopt_hw::profile::{Profile, BUILTIN};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Where `hw calibrate` writes the host profile and `hw validate` reads it (relative to the
/// repository root; the built-in `host` profile is this file as compiled).
const DEFAULT_HOST_FILE: &str = "profiles/host-xeon-icelake-avx512.toml";

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List the built-in device profiles.
    List,
    /// Show a profile (built-in name or TOML file) as TOML.
    Show { device: String },
    /// Measure this machine (FMA peak, L1/L2/DRAM read bandwidth, per-kernel linear models
    /// fitted by NNLS on per-node times measured inside whole models) into a host profile that
    /// `estimate --device <file>` and `hw validate` read. The calibration models (zoo models,
    /// the --models-dir files at other input sizes, single layers) are disjoint from the
    /// validation set.
    Calibrate {
        /// Where to write the profile (atomically).
        #[arg(short, long, default_value = DEFAULT_HOST_FILE)]
        output: PathBuf,
        /// Threads to measure with (the profile is valid for this count).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[command(flatten)]
        budget: BudgetArgs,
        /// A third of the calibration suite.
        #[arg(long)]
        quick: bool,
        /// Also calibrate on the *.onnx files here whose inputs have dynamic spatial dims
        /// (PP-OCR), at input sizes other than the validation's.
        #[arg(long = "models-dir")]
        models_dirs: Vec<PathBuf>,
        /// Write every measured node (features, median time) as JSON here.
        #[arg(long)]
        samples: Option<PathBuf>,
    },
    /// Predicted vs measured latency (1 thread) on >= 30 whole models: zoo models at several
    /// widths/depths/resolutions plus the ONNX files of --models-dir.
    Validate {
        /// Host profile (built-in name or TOML file) with a fitted [host_model].
        #[arg(long, default_value = DEFAULT_HOST_FILE)]
        device: String,
        /// Also validate on every *.onnx file here (e.g. make_models.py's output, PP-OCR).
        #[arg(long = "models-dir")]
        models_dirs: Vec<PathBuf>,
        #[command(flatten)]
        budget: BudgetArgs,
        /// Compare with the fastest run instead of the median of the fastest half.
        #[arg(long, conflicts_with = "median")]
        min: bool,
        /// Compare with the median run instead of the median of the fastest half (on a shared
        /// machine the median carries other processes' contention and is not reproducible).
        #[arg(long)]
        median: bool,
        /// Compare wall-clock times instead of the thread's CPU time.
        #[arg(long)]
        wall: bool,
        #[arg(long)]
        json: bool,
        /// Write the table as Markdown here.
        #[arg(long)]
        md: Option<PathBuf>,
        /// Also profile every node of the validation models (same budget) and write each
        /// node's measured and predicted time as JSON here; prints the sums per kernel key
        /// (where the errors come from). About doubles the run time.
        #[arg(long)]
        nodes: Option<PathBuf>,
    },
}

/// How many runs to time (see `crates/hw/src/measure.rs`): one untimed warm-up round over
/// every model, then interleaved rounds over all models.
#[derive(clap::Args)]
struct BudgetArgs {
    /// Interleaved timed rounds over all models (default 8 for validate, 6 for calibrate).
    #[arg(long)]
    rounds: Option<usize>,
    /// Runs per model and round, at least.
    #[arg(long, default_value_t = 3)]
    min_runs: usize,
    /// CPU milliseconds per model and round, at least.
    #[arg(long, default_value_t = 20.0)]
    round_ms: f64,
    /// Untimed warm-up milliseconds per model before the first round, at least.
    #[arg(long, default_value_t = 50.0)]
    warmup_ms: f64,
}

impl BudgetArgs {
    fn budget(&self, default_rounds: usize) -> edgeopt_hw::measure::Budget {
        edgeopt_hw::measure::Budget {
            rounds: self.rounds.unwrap_or(default_rounds).max(1),
            min_runs: self.min_runs.max(1),
            min_round_s: self.round_ms.max(0.0) / 1e3,
            warmup_runs: 3,
            warmup_s: self.warmup_ms.max(0.0) / 1e3,
        }
    }
}

fn validate(
    device: &str,
    dirs: &[PathBuf],
    opts: &edgeopt_hw::validate::ValidateOptions,
    json: bool,
    md: Option<&Path>,
    nodes: Option<&Path>,
) -> Result<()> {
    use edgeopt_hw::validate as v;
    let profile = if device == DEFAULT_HOST_FILE && !Path::new(device).exists() {
        eprintln!("{device} not found (run from the repository root after `edgeopt hw calibrate`); using the built-in host profile");
        Profile::load("host")?
    } else {
        Profile::load(device)?
    };
    let Some(hm) = &profile.host_model else {
        anyhow::bail!("{device} has no [host_model]: run `edgeopt hw calibrate` first");
    };
    if !json {
        println!(
            "host model of {device}: measured {}; calibrated on {}",
            hm.measured_on, hm.calibration_set
        );
        println!("validation set: the zoo models below (seed 0) and the --models-dir files at their validation sizes");
    }
    let mut cases = v::zoo_cases()?;
    let mut skipped = Vec::new();
    for f in onnx_files(dirs)? {
        match v::file_case(&f) {
            Ok(c) => cases.push(c),
            Err(e) => skipped.push((f.display().to_string(), e.to_string())),
        }
    }
    let mut r = v::validate(&cases, &profile, opts);
    r.skipped.extend(skipped);
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    let mut t = Table::new(&[
        "model",
        ">MACs",
        ">predicted ms",
        ">measured ms",
        ">error",
        ">drift-adjusted",
        ">wall ms",
        ">runs",
        ">even/odd",
        ">fallback nodes",
    ]);
    let mut mdt = String::from(
        "| model | MACs | predicted ms | measured ms | error | drift-adjusted error | wall ms | runs | even vs odd rounds | fallback nodes |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in &r.rows {
        let cells = [
            row.name.clone(),
            human(row.macs),
            format!("{:.3}", row.predicted_s * 1e3),
            format!("{:.3}", row.measured_s * 1e3),
            format!("{:+.1}%", row.rel_error * 100.0),
            format!("{:+.1}%", row.adjusted_error * 100.0),
            format!("{:.3}", row.measured_wall_s * 1e3),
            row.times_s.len().to_string(),
            format!("{:+.1}%", row.self_diff * 100.0),
            row.fallback_nodes.to_string(),
        ];
        mdt.push_str(&format!("| {} |\n", cells.join(" | ")));
        t.row(cells.to_vec());
    }
    let b = &r.budget;
    let summary = format!(
        "{} models on {} (1 thread, {:?} clock, {:?} of each model's runs: warm-up >= {:.0} ms, \
         then {} interleaved rounds of >= {} runs and >= {:.0} ms each; load average {:.1}):\n  \
         {:.0}% within +-10%, median |error| {:.1}%, Spearman {:.3}\n  \
         the canary runs {:.3}x its calibration time (machine drift); with it taken out: \
         {:.0}% within +-10%, median |error| {:.1}%\n  \
         measurement self-agreement (even vs odd rounds): {:.0}% within +-10%, {:.0}% within \
         +-5%, median difference {:.1}%",
        r.rows.len(),
        r.device,
        r.clock,
        r.stat,
        b.warmup_s * 1e3,
        b.rounds,
        b.min_runs,
        b.min_round_s * 1e3,
        r.load_average,
        r.within_10pct * 100.0,
        r.median_abs_rel_error * 100.0,
        r.spearman,
        r.canary_drift,
        r.within_10pct_adjusted * 100.0,
        r.median_abs_adjusted_error * 100.0,
        r.self_agreement_10pct * 100.0,
        r.self_agreement_5pct * 100.0,
        r.self_median_diff * 100.0
    );
    if !json {
        print!("{}", t.render());
        println!("{summary}");
        for (n, why) in &r.skipped {
            println!("skipped {n}: {why}");
        }
    }
    if let Some(path) = md {
        let text = format!("{mdt}\n{summary}\n");
        write_atomic(path, text.as_bytes())?;
    }
    if let Some(path) = nodes {
        node_residuals(&cases, hm, opts.budget, path, json)?;
    }
    Ok(())
}

/// Profiles every node of `cases`, writes them as JSON to `path` and prints the sums per key.
fn node_residuals(
    cases: &[edgeopt_hw::validate::ValidationCase],
    hm: &edgeopt_hw::profile::HostModel,
    budget: edgeopt_hw::measure::Budget,
    path: &Path,
    quiet: bool,
) -> Result<()> {
    use edgeopt_hw::residuals as r;
    let rows = r::node_residuals(cases, hm, budget)?;
    write_atomic(path, serde_json::to_string(&rows)?.as_bytes())?;
    if quiet {
        return Ok(());
    }
    let mut t = Table::new(&[
        "key",
        ">nodes",
        ">predicted ms",
        ">measured ms",
        ">error of sums",
        ">median node error",
    ]);
    for k in r::by_key(&rows) {
        t.row(vec![
            k.key,
            k.nodes.to_string(),
            format!("{:.3}", k.predicted_s * 1e3),
            format!("{:.3}", k.measured_s * 1e3),
            format!("{:+.1}%", k.rel_error * 100.0),
            format!("{:+.1}%", k.median_node_error * 100.0),
        ]);
    }
    println!("per-node times inside the validation models (profiled), by kernel key:");
    print!("{}", t.render());
    println!("every node: {}", path.display());
    Ok(())
}

/// The *.onnx files of `dirs`, sorted per directory.
fn onnx_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut all = Vec::new();
    for d in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(d)
            .with_context(|| format!("reading {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
            .collect();
        files.sort();
        all.extend(files);
    }
    Ok(all)
}

/// Writes `bytes` to a temp file next to `path`, syncs it and renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp: PathBuf = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

pub fn run(a: Args) -> Result<()> {
    match a.command {
        Command::List => {
            let mut t = Table::new(&[
                "name",
                "kind",
                ">fp32 GMAC/s",
                ">int8 GMAC/s",
                ">weights mem",
                ">act mem",
                "description",
            ]);
            for (name, _) in BUILTIN {
                let p = Profile::load(name)?;
                let cap = |n: &str| p.level(n).map(|i| p.memory[i].size_bytes).unwrap_or(0);
                t.row(vec![
                    name.to_string(),
                    format!("{:?}", p.device.kind).to_lowercase(),
                    format!("{:.1}", p.compute.fp32.peak_macs_per_s / 1e9),
                    format!("{:.1}", p.compute.int8.peak_macs_per_s / 1e9),
                    human(cap(&p.placement.weights)),
                    human(cap(&p.placement.activations)),
                    p.device.description.clone(),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
        Command::Validate {
            device,
            models_dirs,
            budget,
            min,
            median,
            wall,
            json,
            md,
            nodes,
        } => {
            use edgeopt_hw::measure::Clock;
            use edgeopt_hw::validate::{Stat, ValidateOptions};
            let opts = ValidateOptions {
                budget: budget.budget(8),
                clock: if wall { Clock::Wall } else { Clock::ThreadCpu },
                stat: match (min, median) {
                    (true, _) => Stat::Min,
                    (_, true) => Stat::Median,
                    _ => Stat::FastHalf,
                },
            };
            validate(
                &device,
                &models_dirs,
                &opts,
                json,
                md.as_deref(),
                nodes.as_deref(),
            )
        }
        Command::Calibrate {
            output,
            threads,
            budget,
            quick,
            models_dirs,
            samples: samples_path,
        } => {
            let base = Profile::load_base("host-xeon-icelake-avx512")?;
            let opts = edgeopt_hw::calibrate::CalibrateOptions {
                threads,
                budget: budget.budget(6),
                quick,
                model_files: onnx_files(&models_dirs)?,
            };
            let t0 = std::time::Instant::now();
            let (p, samples) = edgeopt_hw::calibrate::calibrate(&base, &opts)?;
            let header =
                "# This host, measured by `edgeopt hw calibrate` (fields tagged \"measured\");\n\
                 # every other field's source is in its table's `source`; profiles/README.md documents them.\n\n";
            let text = format!("{header}{}", p.to_toml()?);
            Profile::parse(&text, &output.display().to_string())?;
            write_atomic(&output, text.as_bytes())?;
            println!(
                "wrote {} in {:.1} s: fp32 peak {:.1} GMAC/s, {} layer samples",
                output.display(),
                t0.elapsed().as_secs_f64(),
                p.compute.fp32.peak_macs_per_s / 1e9,
                samples.len()
            );
            if let Some(h) = &p.host_model {
                println!(
                    "calibrated on {}; per-run overhead {:.1} us + {:.2} us per step + {:.1}% of the nodes' time; weights stay cached between runs up to {:.0} MiB (effective LLC share, fitted)",
                    h.calibration_set,
                    h.per_run_s * 1e6,
                    h.per_run_s_per_step * 1e6,
                    h.per_run_node_fraction * 100.0,
                    h.llc_bytes as f64 / (1u64 << 20) as f64
                );
                for c in &h.kernels {
                    println!(
                        "  {:<28} {:>4} samples, fit rms rel error {:.1}%",
                        c.key,
                        c.samples,
                        c.fit_rel_rms * 100.0
                    );
                }
            }
            if let Some(path) = samples_path {
                write_atomic(&path, serde_json::to_string(&samples)?.as_bytes())?;
            }
            Ok(())
        }
        Command::Show { device } => {
            if let Some((_, text)) = edgeopt_hw::profile::builtin(&device) {
                print!("{text}");
            } else {
                print!("{}", Profile::load(&device)?.to_toml()?);
            }
            Ok(())
        }
    }
}
