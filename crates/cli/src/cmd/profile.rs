//! `edgeopt profile MODEL`: where the time goes, per node and per op type, with each node's
//! MACs (from the IR cost model), GFLOP/s and share of the measured FMA peak; optionally a
//! per-layer bar chart as SVG.

use super::bench::prepare;
use crate::table::Table;
use anyhow::{Context, Result};
use edgeopt_runtime::StepProfile;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// Profiled runs (times are averaged).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Intra-op threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Graph optimization level.
    #[arg(long, default_value_t = 2)]
    opt_level: u8,
    /// Input shape NAME=1x3x224x224. Repeatable.
    #[arg(long = "shape")]
    shapes: Vec<String>,
    /// Size for a symbolic dim, NAME=SIZE. Repeatable.
    #[arg(long = "dim")]
    dims: Vec<String>,
    /// Show the K slowest nodes (0 = all).
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Write a per-layer bar chart here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
}

struct Row {
    p: StepProfile,
    ms: f64,
    share: f64,
    gflops: f64,
    of_peak: f64,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar per layer (in schedule order), length proportional to its time.
fn svg(rows: &[Row], title: &str) -> String {
    let (bar_h, left, width) = (16usize, 300usize, 560usize);
    let max = rows.iter().map(|r| r.ms).fold(1e-9, f64::max);
    let h = 40 + rows.len() * bar_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{h}" font-family="monospace" font-size="11">"#,
        left + width + 160
    );
    let _ = writeln!(
        s,
        r#"<text x="4" y="16" font-size="13">{}</text>"#,
        escape(title)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 28 + i * bar_h;
        let w = (r.ms / max * width as f64).max(1.0);
        let color = if r.p.kernel == "reference" {
            "#d62728"
        } else {
            "#1f77b4"
        };
        let label: String = format!("{} {}", r.p.op_type, r.p.node)
            .chars()
            .take(44)
            .collect();
        let _ = writeln!(
            s,
            r#"<text x="4" y="{}">{}</text><rect x="{left}" y="{y}" width="{w:.1}" height="{}" fill="{color}"/><text x="{}" y="{}">{:.3} ms {:.1}%</text>"#,
            y + 11,
            escape(&label),
            bar_h - 3,
            left as f64 + w + 4.0,
            y + 11,
            r.ms,
            r.share * 100.0
        );
    }
    s.push_str("</svg>\n");
    s
}

pub fn run(a: Args) -> Result<()> {
    let mut p = prepare(&a.model, &a.shapes, &a.dims, a.threads, a.opt_level)?;
    for _ in 0..a.warmup {
        p.session.run_in_place(&p.feeds)?;
    }
    p.session.set_profiling(true);
    let runs = a.runs.max(1);
    for _ in 0..runs {
        p.session.run_in_place(&p.feeds)?;
    }
    p.session.set_profiling(false);
    let prof = p.session.profile();
    let peak = edgeopt_runtime::peak::fma_peak_gflops() * p.session.threads() as f64;
    let total: f64 = prof.iter().map(|s| s.time.as_secs_f64()).sum::<f64>() * 1e3 / runs as f64;
    let rows: Vec<Row> = prof
        .into_iter()
        .map(|sp| {
            let ms = sp.time.as_secs_f64() * 1e3 / runs as f64;
            let gflops = if ms > 0.0 {
                2.0 * sp.macs as f64 / (ms * 1e-3) / 1e9
            } else {
                0.0
            };
            Row {
                share: if total > 0.0 { ms / total } else { 0.0 },
                of_peak: if peak > 0.0 { gflops / peak } else { 0.0 },
                ms,
                gflops,
                p: sp,
            }
        })
        .collect();
    let mut by_op: BTreeMap<String, (usize, f64, u64)> = BTreeMap::new();
    for r in &rows {
        let e = by_op.entry(r.p.op_type.clone()).or_default();
        e.0 += 1;
        e.1 += r.ms;
        e.2 += r.p.macs;
    }
    let mut ops: Vec<(String, (usize, f64, u64))> = by_op.into_iter().collect();
    ops.sort_by(|x, y| y.1 .1.total_cmp(&x.1 .1));
    if let Some(path) = &a.svg {
        let title = format!(
            "{}: {total:.3} ms per run, {} threads",
            a.model.display(),
            p.session.threads()
        );
        let tmp = path.with_extension("svg.tmp");
        std::fs::write(&tmp, svg(&rows, &title))
            .and_then(|_| std::fs::rename(&tmp, path))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut top: Vec<&Row> = rows.iter().collect();
    top.sort_by(|x, y| y.ms.total_cmp(&x.ms));
    if a.top > 0 {
        top.truncate(a.top);
    }
    if a.json {
        let nodes: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"node": r.p.node, "op_type": r.p.op_type, "kernel": r.p.kernel,
                "ms": r.ms, "share": r.share, "macs": r.p.macs, "gflops": r.gflops,
                "fraction_of_peak": r.of_peak})
            })
            .collect();
        let per_op: Vec<_> = ops
            .iter()
            .map(|(op, (n, ms, macs))| json!({"op_type": op, "nodes": n, "ms": ms, "share": ms / total.max(1e-12), "macs": macs}))
            .collect();
        let j = json!({"model": a.model.display().to_string(), "threads": p.session.threads(),
            "runs": runs, "total_ms": total, "fma_peak_gflops": peak, "nodes": nodes, "per_op_type": per_op});
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    let mut t = Table::new(&[
        "node", "op", "kernel", ">ms", ">share", ">MMACs", ">GFLOP/s", ">of peak",
    ]);
    for r in &top {
        t.row(vec![
            r.p.node.chars().take(40).collect(),
            r.p.op_type.clone(),
            r.p.kernel.clone(),
            format!("{:.3}", r.ms),
            format!("{:.1}%", r.share * 100.0),
            format!("{:.2}", r.p.macs as f64 / 1e6),
            format!("{:.1}", r.gflops),
            format!("{:.0}%", r.of_peak * 100.0),
        ]);
    }
    print!("{}", t.render());
    let mut t = Table::new(&["op type", ">nodes", ">ms", ">share", ">MMACs"]);
    for (op, (n, ms, macs)) in &ops {
        t.row(vec![
            op.clone(),
            n.to_string(),
            format!("{ms:.3}"),
            format!("{:.1}%", ms / total.max(1e-12) * 100.0),
            format!("{:.2}", *macs as f64 / 1e6),
        ]);
    }
    println!();
    print!("{}", t.render());
    println!(
        "total {total:.3} ms per run ({runs} runs, {} threads, FMA peak {peak:.1} GFLOP/s)",
        p.session.threads()
    );
    if let Some(path) = &a.svg {
        println!("wrote {}", path.display());
    }
    Ok(())
}
