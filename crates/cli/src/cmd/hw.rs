//! `edgeopt hw list|show|calibrate|validate`: device profiles, host calibration and the
//! validation of the host cost model against measured latencies.

use crate::table::{human, Table};
use anyhow::{Context, Result};
use edgeopt_hw::profile::{Profile, BUILTIN};
use std::io::Write as _;
use std::path::{Path, PathBuf};

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
    /// Measure this machine (FMA peak, L1/L2/DRAM read bandwidth, per-kernel-class linear
    /// models fitted by NNLS on per-node times of single-layer models) into a host profile.
    Calibrate {
        /// Where to write the profile (atomically).
        #[arg(short, long, default_value = "profiles/host-epyc-avx2.toml")]
        output: PathBuf,
        /// Threads to measure with (the profile is valid for this count).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Profiled runs per calibration model (median).
        #[arg(long, default_value_t = 9)]
        runs: usize,
        /// A third of the calibration suite.
        #[arg(long)]
        quick: bool,
    },
    /// Predicted vs measured latency (1 thread) on >= 30 whole models: zoo models at several
    /// widths/depths/resolutions plus the ONNX files of --models-dir.
    Validate {
        /// Host profile (built-in name or TOML file) with a fitted [host_model].
        #[arg(long, default_value = "profiles/host-epyc-avx2.toml")]
        device: String,
        /// Also validate on every *.onnx file here (e.g. make_models.py's output, PP-OCR).
        #[arg(long = "models-dir")]
        models_dirs: Vec<PathBuf>,
        /// Timed runs per model (median).
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// Time with wall clock instead of the thread's CPU time.
        #[arg(long)]
        wall: bool,
        #[arg(long)]
        json: bool,
        /// Write the table as Markdown here.
        #[arg(long)]
        md: Option<PathBuf>,
    },
}

fn validate(
    device: &str,
    dirs: &[PathBuf],
    runs: usize,
    wall: bool,
    json: bool,
    md: Option<&Path>,
) -> Result<()> {
    use edgeopt_hw::validate as v;
    let profile = Profile::load(device)?;
    if profile.host_model.is_none() {
        anyhow::bail!("{device} has no [host_model]: run `edgeopt hw calibrate` first");
    }
    let mut cases = v::zoo_cases()?;
    let mut skipped = Vec::new();
    for d in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(d)
            .with_context(|| format!("reading {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
            .collect();
        files.sort();
        for f in files {
            match v::file_case(&f) {
                Ok(c) => cases.push(c),
                Err(e) => skipped.push((f.display().to_string(), e.to_string())),
            }
        }
    }
    let clock = if wall {
        edgeopt_hw::calibrate::Clock::Wall
    } else {
        edgeopt_hw::calibrate::Clock::ThreadCpu
    };
    let mut r = v::validate(&cases, &profile, runs, clock);
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
        ">fallback nodes",
    ]);
    let mut mdt = String::from(
        "| model | MACs | predicted ms | measured ms | error | fallback nodes |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for row in &r.rows {
        let cells = [
            row.name.clone(),
            human(row.macs),
            format!("{:.3}", row.predicted_s * 1e3),
            format!("{:.3}", row.measured_s * 1e3),
            format!("{:+.1}%", row.rel_error * 100.0),
            row.fallback_nodes.to_string(),
        ];
        mdt.push_str(&format!("| {} |\n", cells.join(" | ")));
        t.row(cells.to_vec());
    }
    let summary = format!(
        "{} models on {} ({:?} clock, median of {} runs, 1 thread): {:.0}% within +-10%, \
         median |error| {:.1}%, Spearman {:.3}",
        r.rows.len(),
        r.device,
        r.clock,
        r.runs,
        r.within_10pct * 100.0,
        r.median_abs_rel_error * 100.0,
        r.spearman
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
    Ok(())
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
            runs,
            wall,
            json,
            md,
        } => validate(&device, &models_dirs, runs, wall, json, md.as_deref()),
        Command::Calibrate {
            output,
            threads,
            runs,
            quick,
        } => {
            let base = Profile::load("host-epyc-avx2")?;
            let opts = edgeopt_hw::calibrate::CalibrateOptions {
                threads,
                runs,
                quick,
            };
            let t0 = std::time::Instant::now();
            let (p, samples) = edgeopt_hw::calibrate::calibrate(&base, &opts)?;
            let header =
                "# This host, measured by `edgeopt hw calibrate` (fields tagged \"measured\");\n\
                          # other numbers and the energy sources: see profiles/README.md.\n\n";
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
            for c in p.host_model.iter().flat_map(|h| &h.classes) {
                println!(
                    "  {:<12} {:>3} samples, fit rms rel error {:.1}%",
                    c.class,
                    c.samples,
                    c.fit_rel_rms * 100.0
                );
            }
            Ok(())
        }
        Command::Show { device } => {
            if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == device) {
                print!("{text}");
            } else {
                print!("{}", Profile::load(&device)?.to_toml()?);
            }
            Ok(())
        }
    }
}
