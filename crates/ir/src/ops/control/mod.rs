//! Control flow: If, Loop, Scan. Each runs subgraphs through `EvalCtx::run_subgraph`.

pub mod common;
pub mod if_op;
pub mod loop_op;
pub mod scan;
mod scan8;
mod scan_run;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "If", if_op::build);
    r.register("", "Loop", loop_op::build);
    r.register("", "Scan", scan::build);
}
