//! A pipeline is data: an ordered list of passes chosen by opt level and configuration, run
//! with instruments (per-pass timing, node counts, rewrites, optional text dumps), in the
//! spirit of TVM's `Sequential` under a `PassContext`.

use crate::pass::{Pass, PassCtx};
use crate::passes;
use crate::PassError;
use edgeopt_ir::{Graph, Model};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to run and how.
#[derive(Clone, Debug)]
pub struct Config {
    /// 0: nothing; 1: basic clean-up (fold constants, identities, dead nodes); 2: everything.
    pub opt_level: u8,
    /// Passes of the level to skip, by name.
    pub disable: Vec<String>,
    /// Passes to run after the level's, by name (e.g. `decompose_fused` before an export).
    pub enable: Vec<String>,
    /// Sweeps per pass before moving on, even if it still finds rewrites.
    pub max_iterations: usize,
    /// Largest tensor (elements) constant folding may create.
    pub fold_limit: usize,
    /// Check the graph and re-infer types after every pass (on by default in debug builds).
    pub verify: bool,
    /// Write the graph as text after every pass into this folder.
    pub dump_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            opt_level: 2,
            disable: Vec::new(),
            enable: Vec::new(),
            max_iterations: 8,
            fold_limit: 1 << 20,
            verify: cfg!(debug_assertions),
            dump_dir: None,
        }
    }
}

/// The passes of an opt level, in order.
pub fn level_passes(level: u8) -> &'static [&'static str] {
    match level {
        0 => &[],
        1 => &[
            "fold_constants",
            "eliminate_identities",
            "eliminate_dead_nodes",
        ],
        _ => &[
            "simplify_shapes",
            "fold_constants",
            "eliminate_identities",
            "eliminate_dead_nodes",
            // Bias first: Conv + Add + BN folds once the Add is the Conv's bias.
            "fuse_bias",
            "fold_batch_norm",
            "fuse_activation",
            "fuse_elementwise",
            "eliminate_dead_nodes",
        ],
    }
}

/// What one pass did.
#[derive(Clone, Debug, PartialEq)]
pub struct PassReport {
    pub name: &'static str,
    /// Sweeps run (the last one found nothing, unless the limit stopped it).
    pub iterations: usize,
    pub rewrites: usize,
    pub nodes_before: usize,
    pub nodes_after: usize,
    pub time: Duration,
}

/// Reports as an aligned table, one pass per line.
pub fn format_reports(reports: &[PassReport]) -> String {
    let mut s =
        String::from("pass                   sweeps rewrites  nodes before -> after      time\n");
    for r in reports {
        let _ = writeln!(
            s,
            "{:<22} {:>6} {:>8} {:>13} -> {:<6} {:>8.2?}",
            r.name, r.iterations, r.rewrites, r.nodes_before, r.nodes_after, r.time
        );
    }
    s
}

pub struct Pipeline {
    pub passes: Vec<Box<dyn Pass>>,
    pub config: Config,
}

impl Pipeline {
    /// The passes of `config.opt_level`, minus `disable`, plus `enable`.
    pub fn new(config: Config) -> Result<Pipeline, PassError> {
        for n in config.disable.iter().chain(&config.enable) {
            if !passes::ALL.contains(&n.as_str()) {
                return Err(PassError::UnknownPass(n.clone(), passes::ALL.join(", ")));
            }
        }
        let names = level_passes(config.opt_level)
            .iter()
            .copied()
            .filter(|n| !config.disable.iter().any(|d| d == n))
            .chain(config.enable.iter().map(String::as_str));
        let passes = names.filter_map(passes::by_name).collect();
        Ok(Pipeline { passes, config })
    }

    /// Runs every pass to a fixed point (or `max_iterations`). A failing pass leaves the model
    /// as it was before that pass.
    pub fn run(&self, model: &mut Model) -> Result<Vec<PassReport>, PassError> {
        let ctx = PassCtx {
            opset: model.opset(),
            fold_limit: self.config.fold_limit,
        };
        let mut reports = Vec::with_capacity(self.passes.len());
        for (i, pass) in self.passes.iter().enumerate() {
            let (nodes_before, t0, backup) =
                (model.graph.nodes.len(), Instant::now(), model.clone());
            let mut r = PassReport {
                name: pass.name(),
                iterations: 0,
                rewrites: 0,
                nodes_before,
                nodes_after: nodes_before,
                time: Duration::ZERO,
            };
            let fail = |source| PassError::Pass {
                pass: pass.name().to_string(),
                source,
            };
            while r.iterations < self.config.max_iterations.max(1) {
                r.iterations += 1;
                let step = pass.run(model, &ctx).and_then(|n| {
                    if n > 0 && self.config.verify {
                        model.graph.check()?;
                        edgeopt_ir::infer::infer_types(&mut model.graph, ctx.opset)?;
                    }
                    Ok(n)
                });
                match step {
                    Ok(0) => break,
                    Ok(n) => r.rewrites += n,
                    Err(e) => {
                        *model = backup;
                        return Err(fail(e));
                    }
                }
            }
            r.nodes_after = model.graph.nodes.len();
            r.time = t0.elapsed();
            if let Some(dir) = &self.config.dump_dir {
                let path = dir.join(format!("{i:02}-{}.txt", r.name));
                std::fs::create_dir_all(dir)
                    .and_then(|_| std::fs::write(&path, graph_text(&model.graph)))
                    .map_err(|error| PassError::Io { path, error })?;
            }
            reports.push(r);
        }
        if reports.iter().any(|r| r.rewrites > 0) {
            edgeopt_ir::infer::infer_types(&mut model.graph, ctx.opset)?;
        }
        Ok(reports)
    }
}

/// The graph as text, one node per line: `outputs = domain::Op(inputs)  # name`.
pub fn graph_text(g: &Graph) -> String {
    let name = |v: &Option<edgeopt_ir::ValueId>| v.map(|v| g.value(v).name.as_str()).unwrap_or("");
    let mut s = String::new();
    let list = |ids: &[edgeopt_ir::ValueId]| {
        ids.iter()
            .map(|&v| format!("{}: {}", g.value(v).name, g.value(v).ty))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "inputs: {}", list(&g.inputs));
    let _ = writeln!(s, "initializers: {}", g.initializers.len());
    for n in &g.nodes {
        let outs: Vec<&str> = n.outputs.iter().map(name).collect();
        let ins: Vec<&str> = n.inputs.iter().map(name).collect();
        let op = edgeopt_ir::registry::qualified(n.op.domain(), n.op_type());
        let _ = writeln!(
            s,
            "{} = {op}({})  # {}",
            outs.join(", "),
            ins.join(", "),
            n.name
        );
    }
    let _ = writeln!(s, "outputs: {}", list(&g.outputs));
    s
}
