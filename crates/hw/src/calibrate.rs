//! Host calibration: measures this machine (FMA peak, bandwidth of L1/L2/DRAM sized buffers,
//! per-layer times of the calibration suite through the runtime's `Session` with per-step
//! profiling) and fits the per-kernel-class linear models of the host profile.

use crate::calib_set::{file_calibration, single_layers, zoo_calibration, CalibCase};
use crate::host::{fit, fit_per_run, FitSample};
use crate::host_nodes::{CacheSizes, NODE_FEATURES};
pub use crate::measure::{median, thread_cpu_seconds, Budget, Clock};
pub use crate::node_timing::{measure_nodes, IoOverhead, Sample};
use crate::profile::{HostModel, KernelModel, Profile};
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
    /// Warm-up, rounds and runs per model (see [`crate::measure`]).
    pub budget: Budget,
    /// A third of the suite (fast, less accurate).
    pub quick: bool,
    /// ONNX files to calibrate on at input sizes other than the validation's (PP-OCR).
    pub model_files: Vec<std::path::PathBuf>,
}

impl Default for CalibrateOptions {
    fn default() -> Self {
        CalibrateOptions {
            threads: 1,
            budget: Budget {
                rounds: 6,
                ..Budget::default()
            },
            quick: false,
            model_files: Vec::new(),
        }
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

/// The calibration set: zoo models, the ONNX files at their calibration sizes, single layers.
pub fn calibration_cases(opts: &CalibrateOptions) -> Result<Vec<CalibCase>> {
    let mut v = zoo_calibration(opts.quick)?;
    for f in &opts.model_files {
        v.extend(file_calibration(f)?);
    }
    v.extend(single_layers(opts.quick));
    Ok(v)
}

/// Weight of a single-layer model in the fit relative to a whole model: isolated layers run
/// with warmer caches than inside a model, so they only steer the kernels and sizes whole
/// models do not cover (0.02: the calibration models' own error stays as without them, the
/// single layers' drops from 22% to 9%, measured on this host).
pub const SINGLE_LAYER_WEIGHT: f64 = 0.02;

/// Fits one model per key, per kernel name and per kernel family present in `samples` (the
/// coarser ones are fallbacks for nodes whose key was not calibrated).
pub fn fit_kernels(samples: &[Sample]) -> Vec<KernelModel> {
    let mut by: BTreeMap<String, Vec<FitSample>> = BTreeMap::new();
    for s in samples {
        let fs = FitSample {
            features: s.node.features,
            seconds: s.seconds,
            weight: s.weight,
        };
        for k in s.node.lookup_keys() {
            by.entry(k.to_string()).or_default().push(fs.clone());
        }
    }
    by.into_iter().map(|(k, v)| fit(&k, &v)).collect()
}

/// Mean |error| of the per-model sums of the fitted node predictions over the whole
/// calibration models (single layers left out).
fn whole_model_error(samples: &[Sample], kernels: &[KernelModel]) -> f64 {
    let mut by_case: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for s in samples.iter().filter(|s| !s.single_layer) {
        let p = s
            .node
            .lookup_keys()
            .into_iter()
            .find_map(|k| kernels.iter().find(|c| c.key == k))
            .map_or(0.0, |km| {
                km.coef
                    .iter()
                    .zip(&s.node.features)
                    .map(|(a, b)| a * b)
                    .sum()
            });
        let e = by_case.entry(s.case.as_str()).or_default();
        e.0 += p;
        e.1 += s.seconds;
    }
    let n = by_case.len().max(1) as f64;
    by_case
        .values()
        .map(|(p, m)| ((p - m) / m.max(1e-12)).abs())
        .sum::<f64>()
        / n
}

/// The effective last-level cache size for the weights (see [`CacheSizes::llc_bytes`]): of
/// the L2, sizes from twice the L2 to the whole L3, the one whose fit predicts the calibration models
/// best (the L3 is shared with other processes, so how much of it a model keeps between runs
/// is measured, not read). Re-splits `samples` for it and returns it.
pub fn choose_llc(samples: &mut [Sample], caches: &CacheSizes) -> u64 {
    let mb = 1u64 << 20;
    let mut candidates: Vec<u64> = [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
        .iter()
        .map(|m| m * mb)
        .filter(|&b| b >= 2 * caches.l2_bytes && b < caches.llc_bytes)
        .collect();
    // The L2 itself: on a loaded machine other tenants may leave a model none of the L3.
    candidates.insert(0, caches.l2_bytes);
    candidates.push(caches.llc_bytes.max(caches.l2_bytes));
    let mut best = (f64::INFINITY, caches.llc_bytes);
    for llc in candidates {
        let c = CacheSizes {
            llc_bytes: llc,
            ..*caches
        };
        for s in samples.iter_mut() {
            s.node.split_weights(&c);
        }
        let e = whole_model_error(samples, &fit_kernels(samples));
        if e < best.0 {
            best = (e, llc);
        }
    }
    let c = CacheSizes {
        llc_bytes: best.1,
        ..*caches
    };
    for s in samples.iter_mut() {
        s.node.split_weights(&c);
    }
    best.1
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

/// `source` with its bandwidth part (a `; `-separated part starting with "bandwidth" or
/// "read bandwidth") replaced by `measured`; the other parts (size, energy) are kept.
fn replace_bandwidth_source(source: &str, measured: &str) -> String {
    let mut parts: Vec<&str> = source
        .split("; ")
        .filter(|p| !p.starts_with("bandwidth") && !p.starts_with("read bandwidth"))
        .collect();
    parts.insert(parts.len().min(1), measured);
    parts.join("; ")
}

/// Measures this host and returns `base` updated with the measurements: fp32 peak (FMA
/// micro-benchmark x threads), L1/L2/DRAM read bandwidths, the fitted `[host_model]`.
pub fn calibrate(base: &Profile, opts: &CalibrateOptions) -> Result<(Profile, Vec<Sample>)> {
    let mut p = base.clone();
    let date = today();
    let threads = opts.threads.max(1);
    let tag = format!("measured by edgeopt hw calibrate on {date}, {threads} thread(s)");
    let [fp32, fp16, int8] = crate::host_peak::host_peaks(&tag);
    for (t, peak) in [
        (&mut p.compute.fp32, fp32),
        (&mut p.compute.fp16, fp16),
        (&mut p.compute.int8, int8),
    ] {
        t.peak_macs_per_s = peak.macs_per_s * threads as f64;
        let kept: Vec<&str> = t
            .source
            .split("; ")
            .filter(|p| p.starts_with("efficiency"))
            .collect();
        t.source = std::iter::once(peak.source)
            .chain(kept.into_iter().map(str::to_string))
            .collect::<Vec<_>>()
            .join("; ");
    }
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
                let measured = format!("read bandwidth of a {} KB buffer, {tag}", size >> 10);
                p.memory[i].source = replace_bandwidth_source(&p.memory[i].source, &measured);
            }
        }
    }
    let mut caches = CacheSizes::of_this_host();
    let (mut samples, outside, canary_s) = measure_nodes(&calibration_cases(opts)?, opts, &caches)?;
    caches.llc_bytes = choose_llc(&mut samples, &caches);
    let [per_run_s, per_run_s_per_byte, per_run_s_per_step, per_run_node_fraction] =
        fit_per_run(&outside);
    let files: Vec<String> = opts
        .model_files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    p.host_model = Some(HostModel {
        measured_on: format!("{date} on {}", cpu_name()),
        threads: threads as u64,
        calibration_set: format!(
            "zoo models at widths/depths/resolutions not in the validation set (weight seed {}), \
             {}single-layer models; disjoint from `edgeopt hw validate`",
            crate::calib_set::SEED,
            if files.is_empty() {
                String::new()
            } else {
                format!("{} at other input sizes, ", files.join(", "))
            }
        ),
        l1_bytes: caches.l1_bytes,
        l2_bytes: caches.l2_bytes,
        llc_bytes: caches.llc_bytes,
        canary_s,
        per_run_s,
        per_run_s_per_byte,
        per_run_s_per_step,
        per_run_node_fraction,
        features: NODE_FEATURES.iter().map(|s| s.to_string()).collect(),
        kernels: fit_kernels(&samples),
    });
    Ok((p, samples))
}
