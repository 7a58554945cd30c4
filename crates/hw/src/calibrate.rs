//! Host calibration: measures this machine (FMA peak, bandwidth of L1/L2/DRAM sized buffers,
//! per-layer times of the calibration suite through the runtime's `Session` with per-step
//! profiling) and fits the per-kernel-class linear models of the host profile.

use crate::host::{features, fit};
use crate::layers::{extract, KernelClass};
use crate::profile::{HostModel, Precision, Profile};
use crate::suite::cases;
use crate::{HwError, Result};
use edgeopt_ir::Model;
use edgeopt_runtime::{Session, SessionOptions};
use edgeopt_tensor::Tensor;
use std::collections::BTreeMap;
use std::time::Instant;

/// How to calibrate.
#[derive(Clone, Debug)]
pub struct CalibrateOptions {
    /// Threads the runtime uses (the host model is valid for this count).
    pub threads: usize,
    /// Timed runs per case (median).
    pub runs: usize,
    /// A third of the suite (fast, less accurate).
    pub quick: bool,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions {
            threads: 1,
            runs: 15,
            quick: false,
        }
    }
}

/// Median of `v` (sorted in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Seeded inputs for every feed of a session (fp32, the feed's declared shape).
pub fn inputs_for(model: &Model) -> Result<Vec<Tensor>> {
    let g = &model.graph;
    edgeopt_ir::exec::feed_inputs(g)
        .iter()
        .map(|&id| {
            let shape = g
                .value(id)
                .ty
                .as_tensor()
                .and_then(|t| t.concrete_shape())
                .ok_or_else(|| {
                    HwError::Invalid(format!(
                        "input '{}' has no static shape (pass --shape)",
                        g.value(id).name
                    ))
                })?;
            let n: usize = edgeopt_tensor::shape::checked_numel(&shape)
                .map_err(|e| HwError::Invalid(e.to_string()))?;
            let data = edgeopt_passes::testing::random_vec(n, 7 + id.0 as u64);
            Tensor::from_vec(shape, data).map_err(|e| HwError::Invalid(e.to_string()))
        })
        .collect()
}

fn rt(e: edgeopt_runtime::Error) -> HwError {
    HwError::Invalid(format!("runtime: {e}"))
}

/// A session over `model` with `threads`.
pub fn session(model: &Model, threads: usize) -> Result<Session> {
    Session::new(
        model.clone(),
        SessionOptions {
            threads: threads.max(1),
            ..SessionOptions::default()
        },
    )
    .map_err(rt)
}

/// How whole-model runs are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Clock {
    /// Wall time (`Instant`).
    Wall,
    /// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): on a loaded machine it
    /// leaves out the time the thread waits for a core. Valid for 1-thread sessions only.
    ThreadCpu,
}

/// CPU seconds the calling thread has used (falls back to 0 where the clock is missing).
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Median time of `runs` runs of `s` on `inputs` on `clock`, after two warm-up runs.
pub fn time_runs(s: &mut Session, inputs: &[Tensor], runs: usize, clock: Clock) -> Result<f64> {
    for _ in 0..2 {
        s.run(inputs).map_err(rt)?;
    }
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let (w0, c0) = (Instant::now(), thread_cpu_seconds());
        s.run(inputs).map_err(rt)?;
        t.push(match clock {
            Clock::Wall => w0.elapsed().as_secs_f64(),
            Clock::ThreadCpu => thread_cpu_seconds() - c0,
        });
    }
    Ok(median(&mut t))
}

/// Per-node median step times (seconds) of `runs` profiled runs, by node name.
fn step_times(s: &mut Session, inputs: &[Tensor], runs: usize) -> Result<BTreeMap<String, f64>> {
    let mut per: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..runs.max(1) {
        s.set_profiling(true);
        s.run(inputs).map_err(rt)?;
        for st in s.profile() {
            per.entry(st.node).or_default().push(st.time.as_secs_f64());
        }
        // Profiles accumulate while profiling stays on: switch it off so the next run's
        // `set_profiling(true)` starts from zero and each sample is one run's time.
        s.set_profiling(false);
    }
    Ok(per
        .into_iter()
        .map(|(k, mut v)| (k, median(&mut v)))
        .collect())
}

/// One measured layer: its class, features and median time.
#[derive(Clone, Debug)]
pub struct Sample {
    pub case: String,
    pub class: KernelClass,
    pub features: [f64; 6],
    pub seconds: f64,
}

/// Times every layer of the calibration suite through the runtime; also returns the median
/// per-run overhead outside the steps (feeding inputs, copying outputs).
pub fn measure_layers(opts: &CalibrateOptions) -> Result<(Vec<Sample>, f64)> {
    let mut samples = Vec::new();
    let mut outside = Vec::new();
    for case in cases(opts.quick) {
        let mut s = session(&case.model, opts.threads)?;
        let inputs = inputs_for(&case.model)?;
        let whole = time_runs(&mut s, &inputs, opts.runs, Clock::Wall)?;
        let steps = step_times(&mut s, &inputs, opts.runs)?;
        let Some(opt) = s.optimized_model() else {
            continue;
        };
        let layers = extract(&opt.graph, Precision::Fp32, 1.0, false)?;
        let mut sum = 0.0;
        for l in layers {
            if let Some(&t) = steps.get(&l.name) {
                sum += t;
                if l.class != KernelClass::Free {
                    samples.push(Sample {
                        case: case.name.clone(),
                        class: l.class,
                        features: features(&l),
                        seconds: t,
                    });
                }
            }
        }
        outside.push((whole - sum).max(0.0));
    }
    Ok((samples, median(&mut outside)))
}

/// Fits one model per kernel class present in `samples`.
pub fn fit_classes(samples: &[Sample]) -> Vec<crate::profile::ClassModel> {
    let mut by: BTreeMap<KernelClass, Vec<([f64; 6], f64)>> = BTreeMap::new();
    for s in samples {
        by.entry(s.class).or_default().push((s.features, s.seconds));
    }
    by.into_iter().map(|(c, v)| fit(c, &v)).collect()
}

/// Best-of-five read bandwidth (B/s) over a buffer of `bytes`, summed over `threads` threads
/// each reading its own buffer.
pub fn read_bandwidth(bytes: usize, threads: usize) -> f64 {
    let n = (bytes / 4).max(16);
    let reps = ((64 << 20) / bytes.max(1)).clamp(1, 4096);
    let one = |seed: f32| -> f64 {
        let buf = vec![seed; n];
        let mut best = 0f64;
        for _ in 0..5 {
            let t0 = Instant::now();
            let mut acc = [0f32; 16];
            for _ in 0..reps {
                for ch in buf.chunks_exact(16) {
                    for (a, x) in acc.iter_mut().zip(ch) {
                        *a += x;
                    }
                }
            }
            std::hint::black_box(acc);
            let dt = t0.elapsed().as_secs_f64();
            if dt > 0.0 {
                best = best.max((n * 4 * reps) as f64 / dt);
            }
        }
        best
    };
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads.max(1))
            .map(|i| sc.spawn(move || one(i as f32 + 1.0)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    })
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Measures this host and returns `base` updated with the measurements: fp32 peak (FMA
/// micro-benchmark x threads), L1/L2/DRAM read bandwidths, the fitted `[host_model]`.
pub fn calibrate(base: &Profile, opts: &CalibrateOptions) -> Result<(Profile, Vec<Sample>)> {
    let mut p = base.clone();
    let date = today();
    let threads = opts.threads.max(1);
    let tag = format!("measured by edgeopt hw calibrate on {date}, {threads} thread(s)");
    let gflops = edgeopt_runtime::peak::fma_peak_gflops();
    p.compute.fp32.peak_macs_per_s = gflops * 1e9 / 2.0 * threads as f64;
    p.compute.fp32.source = format!("FMA micro-benchmark x {threads} thread(s), {tag}");
    p.device.cores = threads as u32;
    p.device.description = format!("this host: {} ({threads} thread(s))", cpu_name());
    for (level, size) in [
        ("L1", 16usize << 10),
        ("L2", 512 << 10),
        ("dram", 256 << 20),
    ] {
        if let Some(i) = p.level(level) {
            let bw = read_bandwidth(size, threads);
            if bw > 0.0 {
                p.memory[i].bandwidth_bytes_per_s = bw;
                p.memory[i].source = format!(
                    "read bandwidth of a {} KB buffer, {tag}; {}",
                    size >> 10,
                    p.memory[i].source
                );
            }
        }
    }
    let (samples, per_run_s) = measure_layers(opts)?;
    p.host_model = Some(HostModel {
        measured_on: format!("{date} on {}", cpu_name()),
        threads: threads as u64,
        per_run_s,
        classes: fit_classes(&samples),
    });
    Ok((p, samples))
}
