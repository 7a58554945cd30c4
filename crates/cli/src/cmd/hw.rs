//! `edgeopt hw list|show|calibrate`: device profiles.

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
    /// Measure this machine (FMA peak, L1/L2/DRAM read bandwidth) into a host profile.
    Calibrate {
        /// Where to write the profile (atomically).
        #[arg(short, long, default_value = "profiles/host-epyc-avx2.toml")]
        output: PathBuf,
        /// Threads to measure with (the profile is valid for this count).
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
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
        Command::Calibrate { output, threads } => {
            let base = Profile::load("host-epyc-avx2")?;
            let p = edgeopt_hw::calibrate::calibrate_machine(&base, threads);
            let header =
                "# This host, measured by `edgeopt hw calibrate` (fields tagged \"measured\");\n\
                          # other numbers and the energy sources: see profiles/README.md.\n\n";
            let text = format!("{header}{}", p.to_toml()?);
            Profile::parse(&text, &output.display().to_string())?;
            write_atomic(&output, text.as_bytes())?;
            println!(
                "wrote {}: fp32 peak {:.1} GMAC/s",
                output.display(),
                p.compute.fp32.peak_macs_per_s / 1e9
            );
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
