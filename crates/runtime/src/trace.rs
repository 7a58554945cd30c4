//! Build-phase timings: with `EDGEOPT_TRACE_BUILD` set, every phase of a session build (and
//! every optimization pass) prints its wall time to stderr, to find where load time goes.

use std::sync::OnceLock;
use std::time::Instant;

/// Whether tracing is on (read once).
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("EDGEOPT_TRACE_BUILD").is_some())
}

/// Runs `f`, printing its time when tracing is on.
pub(crate) fn phase<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let t0 = Instant::now();
    let out = f();
    eprintln!(
        "[build] {name:<24} {:8.2} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    out
}
