//! Validation of the host cost model: whole models (zoo models at several widths, depths and
//! resolutions, plus ONNX files) estimated on the runtime's prepared graph and measured
//! through the runtime's `Session` (1 thread, warmed up, interleaved rounds, the thread's CPU
//! time; see [`crate::measure`]). The host model is calibrated on other models
//! ([`crate::calib_set`]), never on these.

use crate::calibrate::session;
use crate::canary::Canary;
use crate::estimate::{estimate, prepare_runtime, EstimateOptions};
use crate::measure::{even_odd, fast_half, median, rel_diff, repeat, Budget, Clock, RunTime};
use crate::profile::Profile;
use crate::{HwError, Result};
use edgeopt_ir::Model;
use edgeopt_runtime::Session;
use edgeopt_tensor::Tensor;
use edgeopt_zoo::{BatchDim, ZooConfig};
use serde::Serialize;
use std::path::Path;

/// One model to validate on: its graph and the input shapes to run it at.
pub struct ValidationCase {
    pub name: String,
    pub model: Model,
    pub shapes: Vec<(String, Vec<usize>)>,
}

/// Predicted vs measured latency of one model.
#[derive(Clone, Debug, Serialize)]
pub struct ValidationRow {
    pub name: String,
    pub macs: u64,
    pub predicted_s: f64,
    pub measured_s: f64,
    /// (predicted - measured) / measured.
    pub rel_error: f64,
    /// (predicted x the canary's drift - measured) / measured: the model's error with the
    /// machine's drift since calibration taken out ([`crate::canary`]).
    pub adjusted_error: f64,
    /// The same statistic over wall-clock times (for reference: on a shared machine it carries
    /// the waits for a core).
    pub measured_wall_s: f64,
    /// The statistic over the even rounds minus over the odd rounds, relative: how well the
    /// measurement reproduces itself.
    pub self_diff: f64,
    /// Nodes that ran through the reference eval (the host model does not cover them).
    pub fallback_nodes: usize,
    /// Every timed run on the compared clock, seconds, in the order taken.
    pub times_s: Vec<f64>,
}

/// The whole validation.
#[derive(Clone, Debug, Serialize)]
pub struct ValidationReport {
    pub device: String,
    /// What the host model was calibrated on (disjoint from these models).
    pub calibration_set: String,
    pub clock: Clock,
    pub stat: Stat,
    pub budget: Budget,
    pub rows: Vec<ValidationRow>,
    /// Share of models within ±10% of the measured latency.
    pub within_10pct: f64,
    pub median_abs_rel_error: f64,
    /// The canary's CPU time now / during calibration (1 when either is unknown).
    pub canary_drift: f64,
    /// The same two with the drift taken out.
    pub within_10pct_adjusted: f64,
    pub median_abs_adjusted_error: f64,
    pub spearman: f64,
    /// Share of models whose even and odd rounds agree within ±10% (measurement noise).
    pub self_agreement_10pct: f64,
    /// The same within ±5%.
    pub self_agreement_5pct: f64,
    /// Median |even - odd| / min over the models.
    pub self_median_diff: f64,
    /// 1-minute load average when the measurement ended.
    pub load_average: f64,
    /// Models that could not be run or estimated, with why.
    pub skipped: Vec<(String, String)>,
}

/// A zoo model at batch 1 (`seed`: its random weights).
pub fn zoo_case(
    name: &str,
    width: f32,
    depth: f32,
    resolution: Option<usize>,
    seed: u64,
) -> Result<ValidationCase> {
    let cfg = ZooConfig {
        width,
        depth,
        resolution,
        seed,
        batch: BatchDim::Fixed(1),
        ..ZooConfig::default()
    };
    let model =
        edgeopt_zoo::build(name, &cfg).map_err(|e| HwError::Invalid(format!("zoo {name}: {e}")))?;
    let res = resolution.map_or(String::new(), |r| format!(" r{r}"));
    let seed = if seed == 0 {
        String::new()
    } else {
        format!(" seed{seed}")
    };
    Ok(ValidationCase {
        name: format!("{name} w{width} d{depth}{res}{seed}"),
        model,
        shapes: Vec::new(),
    })
}

/// The zoo part of the validation set (32 models).
pub fn zoo_cases() -> Result<Vec<ValidationCase>> {
    let mut v = Vec::new();
    for w in [0.25, 0.5, 1.0, 2.0, 4.0] {
        v.push(zoo_case("mlp", w, 1.0, None, 0)?);
    }
    for w in [0.5, 1.0, 2.0, 4.0] {
        v.push(zoo_case("lenet", w, 1.0, None, 0)?);
    }
    for (w, r) in [(0.5, 28), (1.0, 28), (2.0, 28), (1.0, 56), (0.5, 96)] {
        v.push(zoo_case("cnn", w, 1.0, Some(r), 0)?);
    }
    for (w, d, r) in [
        (0.5, 1.0, 32),
        (1.0, 1.0, 32),
        (2.0, 1.0, 32),
        (1.0, 2.0, 32),
        (0.5, 1.0, 64),
        (1.0, 1.0, 64),
        (0.25, 1.0, 96),
        (1.0, 0.5, 48),
    ] {
        v.push(zoo_case("resnet", w, d, Some(r), 0)?);
    }
    for (w, d, r) in [
        (0.35, 1.0, 96),
        (0.5, 1.0, 96),
        (1.0, 1.0, 96),
        (0.5, 1.0, 128),
        (0.75, 1.0, 128),
        (1.0, 1.0, 128),
        (0.35, 0.5, 160),
        (0.5, 1.0, 160),
        (1.0, 0.5, 160),
        (1.0, 1.0, 224),
    ] {
        v.push(zoo_case("mobilenetv2", w, d, Some(r), 0)?);
    }
    Ok(v)
}

/// The PP-OCR models' usual input sizes (H, W) for their dynamic dims, by file name: det
/// 320x320, cls 48x192, rec 48x320.
pub fn validation_size(name: &str) -> Option<(usize, usize)> {
    if name.contains("det") {
        Some((320, 320))
    } else if name.contains("cls") {
        Some((48, 192))
    } else if name.contains("rec") {
        Some((48, 320))
    } else {
        None
    }
}

/// Input shapes for an ONNX file: declared dims, a symbolic first (batch) dim as 1, and `hw`
/// for dynamic dims 2 and 3.
pub fn file_shapes_at(
    model: &Model,
    hw: Option<(usize, usize)>,
) -> Result<Vec<(String, Vec<usize>)>> {
    let g = &model.graph;
    edgeopt_ir::exec::feed_inputs(g)
        .into_iter()
        .map(|id| {
            let v = g.value(id);
            let dims =
                v.ty.shape()
                    .ok_or_else(|| HwError::Invalid(format!("input '{}' has no shape", v.name)))?;
            let shape = dims
                .iter()
                .enumerate()
                .map(|(i, d)| match (d.known(), i, hw) {
                    (Some(n), _, _) => Ok(n),
                    (None, 0, _) => Ok(1),
                    (None, 2, Some((h, _))) => Ok(h),
                    (None, 3, Some((_, w))) => Ok(w),
                    _ => Err(HwError::Invalid(format!(
                        "input '{}' has a dynamic dim {i}",
                        v.name
                    ))),
                })
                .collect::<Result<Vec<usize>>>()?;
            Ok((v.name.clone(), shape))
        })
        .collect()
}

/// An ONNX file as a validation case.
pub fn file_case(path: &Path) -> Result<ValidationCase> {
    let model = edgeopt_onnx::load_model(path, &edgeopt_onnx::LoadOptions::default())
        .map_err(|e| HwError::Invalid(format!("{}: {e}", path.display())))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let shapes = file_shapes_at(&model, validation_size(&name))?;
    Ok(ValidationCase {
        name,
        model,
        shapes,
    })
}

fn inputs(shapes: &[(String, Vec<usize>)]) -> Result<Vec<Tensor>> {
    shapes
        .iter()
        .enumerate()
        .map(|(i, (_, s))| {
            let n = edgeopt_tensor::shape::checked_numel(s)
                .map_err(|e| HwError::Invalid(e.to_string()))?;
            let data = edgeopt_passes::testing::random_vec(n, 11 + i as u64);
            Tensor::from_vec(s.clone(), data).map_err(|e| HwError::Invalid(e.to_string()))
        })
        .collect()
}

/// A case ready to time: its session (1 thread), inputs and the prediction.
pub struct Ready {
    pub row: ValidationRow,
    pub session: Session,
    pub inputs: Vec<Tensor>,
}

/// Estimates one case on the runtime's prepared graph and builds the session that measures it.
pub fn prepare_case(case: &ValidationCase, profile: &Profile) -> Result<Ready> {
    let shapes = if case.shapes.is_empty() {
        file_shapes_at(&case.model, None)?
    } else {
        case.shapes.clone()
    };
    let mut model = case.model.clone();
    let refs: Vec<(&str, &[usize])> = shapes
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    edgeopt_passes::specialize_inputs(&mut model, &refs)?;
    let mut opts = EstimateOptions::default();
    let prepared = prepare_runtime(&model, &[], &mut opts)?;
    let e = estimate(&prepared, profile, &opts)?;
    let session = session(&model, 1)?;
    Ok(Ready {
        row: ValidationRow {
            name: case.name.clone(),
            macs: e.macs,
            predicted_s: e.latency_s,
            measured_s: 0.0,
            rel_error: 0.0,
            adjusted_error: 0.0,
            measured_wall_s: 0.0,
            self_diff: 0.0,
            fallback_nodes: session.fallback_nodes().len(),
            times_s: Vec::new(),
        },
        session,
        inputs: inputs(&shapes)?,
    })
}

/// The statistic over a model's timed runs that is compared with the prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// The median of the fastest half ([`crate::measure::fast_half`]): what calibration fits.
    FastHalf,
    /// The fastest run (drifts lower with more runs).
    Min,
    /// The median run (carries other processes' contention on a shared machine).
    Median,
}

impl Stat {
    pub fn of(self, v: &[f64]) -> f64 {
        match self {
            Stat::FastHalf => fast_half(v),
            Stat::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
            Stat::Median => median(&mut v.to_vec()),
        }
    }
}

fn run_case(r: &mut Ready) -> impl FnMut() -> Result<()> + '_ {
    let (s, inputs) = (&mut r.session, &r.inputs);
    move || {
        s.run(inputs)
            .map(|_| ())
            .map_err(|e| HwError::Invalid(format!("runtime: {e}")))
    }
}

/// Times every ready case: a warm-up round, then `budget.rounds` rounds over all cases (so
/// load changes on a shared machine hit every model alike), each case's runs back to back
/// (caches warm as in repeated inference). Returns, per case, the times of each round (empty
/// for a case whose run failed).
pub fn measure_interleaved(
    ready: &mut [Ready],
    budget: &Budget,
    mut canary: Option<&mut Canary>,
) -> Vec<Vec<Vec<RunTime>>> {
    let mut times: Vec<Vec<Vec<RunTime>>> = vec![Vec::new(); ready.len()];
    let mut failed = vec![false; ready.len()];
    if let Some(c) = canary.as_deref_mut() {
        if c.warm_up(budget).is_err() {
            canary = None;
        }
    }
    for (k, r) in ready.iter_mut().enumerate() {
        failed[k] = repeat(budget.warmup_runs, budget.warmup_s, run_case(r)).is_err();
    }
    for _ in 0..budget.rounds.max(1) {
        if let Some(c) = canary.as_deref_mut() {
            if c.round(budget).is_err() {
                canary = None;
            }
        }
        for (k, r) in ready.iter_mut().enumerate() {
            if failed[k] {
                continue;
            }
            match repeat(budget.min_runs, budget.min_round_s, run_case(r)) {
                Ok(t) => times[k].push(t),
                Err(_) => failed[k] = true,
            }
        }
    }
    for (k, f) in failed.iter().enumerate() {
        if *f {
            times[k].clear();
        }
    }
    times
}

/// Fills the measured times, error and self-difference of each row from its rounds; returns
/// the rows' |self_diff| values (how reproducible the measurement itself is on this machine
/// right now: the ceiling for any prediction).
pub fn fill_measured(
    ready: &mut [Ready],
    times: &[Vec<Vec<RunTime>>],
    clock: Clock,
    stat: Stat,
) -> Vec<f64> {
    let mut diffs = Vec::new();
    for (r, rounds) in ready.iter_mut().zip(times) {
        let all: Vec<f64> = rounds.iter().flatten().map(|t| clock.of(t)).collect();
        let wall: Vec<f64> = rounds.iter().flatten().map(|t| t.wall_s).collect();
        let m = stat.of(&all);
        r.row.times_s = all;
        r.row.measured_s = m;
        r.row.measured_wall_s = stat.of(&wall);
        r.row.rel_error = (r.row.predicted_s - m) / m.max(1e-12);
        if let Some((a, b)) = even_odd(rounds, |t| clock.of(t), |v| stat.of(v)) {
            r.row.self_diff = rel_diff(a, b);
            diffs.push(r.row.self_diff.abs());
        }
    }
    diffs
}

/// Ranks (1-based, ties averaged).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation of `a` and `b` (Pearson on ranks); 0 for fewer than 2 points.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (ra, rb) = (ranks(&a[..n]), ranks(&b[..n]));
    let mean = (n as f64 + 1.0) / 2.0;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - mean) * (y - mean);
        va += (x - mean).powi(2);
        vb += (y - mean).powi(2);
    }
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// How to validate.
#[derive(Clone, Copy, Debug)]
pub struct ValidateOptions {
    /// Warm-up, rounds and runs per model.
    pub budget: Budget,
    pub clock: Clock,
    pub stat: Stat,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            budget: Budget::default(),
            clock: Clock::ThreadCpu,
            stat: Stat::FastHalf,
        }
    }
}

/// Validates `profile` on `cases` (see [`measure_interleaved`]); failures are reported as
/// skipped, not fatal.
pub fn validate(
    cases: &[ValidationCase],
    profile: &Profile,
    opts: &ValidateOptions,
) -> ValidationReport {
    let mut ready = Vec::new();
    let mut skipped = Vec::new();
    for c in cases {
        match prepare_case(c, profile) {
            Ok(r) => ready.push(r),
            Err(e) => skipped.push((c.name.clone(), e.to_string())),
        }
    }
    let mut canary = Canary::new().ok();
    let times = measure_interleaved(&mut ready, &opts.budget, canary.as_mut());
    let mut diffs = fill_measured(&mut ready, &times, opts.clock, opts.stat);
    let calibrated = profile.host_model.as_ref().map_or(0.0, |h| h.canary_s);
    let now = canary.map_or(0.0, |c| c.seconds());
    let drift = if calibrated > 0.0 && now > 0.0 && opts.clock == Clock::ThreadCpu {
        now / calibrated
    } else {
        1.0
    };
    for r in &mut ready {
        let m = r.row.measured_s.max(1e-12);
        r.row.adjusted_error = (r.row.predicted_s * drift - m) / m;
    }
    let mut rows = Vec::new();
    for (r, t) in ready.into_iter().zip(&times) {
        if t.is_empty() {
            skipped.push((r.row.name, "a run failed".into()));
        } else {
            rows.push(r.row);
        }
    }
    let mut r = summarize(profile, opts, rows, skipped);
    r.canary_drift = drift;
    let nrows = r.rows.len().max(1) as f64;
    r.within_10pct_adjusted = r
        .rows
        .iter()
        .filter(|x| x.adjusted_error.abs() <= 0.10)
        .count() as f64
        / nrows;
    let mut adj: Vec<f64> = r.rows.iter().map(|x| x.adjusted_error.abs()).collect();
    r.median_abs_adjusted_error = median(&mut adj);
    let n = diffs.len().max(1) as f64;
    r.self_agreement_10pct = diffs.iter().filter(|d| **d <= 0.10).count() as f64 / n;
    r.self_agreement_5pct = diffs.iter().filter(|d| **d <= 0.05).count() as f64 / n;
    r.self_median_diff = median(&mut diffs);
    r
}

/// The summary statistics over measured rows.
pub fn summarize(
    profile: &Profile,
    opts: &ValidateOptions,
    rows: Vec<ValidationRow>,
    skipped: Vec<(String, String)>,
) -> ValidationReport {
    let n = rows.len().max(1) as f64;
    let within = rows.iter().filter(|r| r.rel_error.abs() <= 0.10).count() as f64 / n;
    let mut abs: Vec<f64> = rows.iter().map(|r| r.rel_error.abs()).collect();
    let p: Vec<f64> = rows.iter().map(|r| r.predicted_s).collect();
    let m: Vec<f64> = rows.iter().map(|r| r.measured_s).collect();
    ValidationReport {
        device: profile.device.name.clone(),
        calibration_set: profile
            .host_model
            .as_ref()
            .map(|h| h.calibration_set.clone())
            .unwrap_or_default(),
        clock: opts.clock,
        stat: opts.stat,
        budget: opts.budget,
        within_10pct: within,
        median_abs_rel_error: median(&mut abs),
        canary_drift: 1.0,
        within_10pct_adjusted: within,
        median_abs_adjusted_error: median(&mut abs.clone()),
        spearman: spearman(&p, &m),
        self_agreement_10pct: 0.0,
        self_agreement_5pct: 0.0,
        self_median_diff: 0.0,
        load_average: load_average(),
        rows,
        skipped,
    }
}

/// The 1-minute load average (Linux), 0 where unknown.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_of_monotone_and_reversed_data() {
        let a = [1.0, 2.0, 3.0, 10.0];
        assert!((spearman(&a, &[5.0, 6.0, 7.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // One swapped pair out of four: 1 - 6*2/(4*15) = 0.8.
        assert!((spearman(&a, &[1.0, 3.0, 2.0, 4.0]) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn zoo_set_has_thirty_distinct_models() {
        let c = zoo_cases().unwrap();
        let mut names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert!(names.len() >= 30, "{}", names.len());
    }
}
