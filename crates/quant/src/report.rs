//! Accuracy of a quantized model against its float original: per tensor SQNR and cosine
//! similarity (tensors matched by name), maximum absolute error of the outputs, top-1 agreement
//! (and accuracy, given labels) of 2-D outputs.

use crate::calibrate::{float_values, probe_model, validate_samples, Progress};
use crate::engine::Engine;
use crate::{QuantError, Result};
use edgeopt_ir::{Model, Value, ValueId};
use edgeopt_tensor::Tensor;

/// Error of one tensor over all samples.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorError {
    pub name: String,
    /// The producing node's op type in the reference model.
    pub op_type: String,
    /// `10 log10(sum x^2 / sum (x - y)^2)`; capped at 200 dB for exact matches.
    pub sqnr_db: f64,
    pub cosine: f64,
    pub max_abs_error: f64,
}

#[derive(Clone, Debug, Default)]
struct Acc {
    sig: f64,
    noise: f64,
    dot: f64,
    cand: f64,
    max_abs: f64,
}

impl Acc {
    fn add(&mut self, x: &[f32], y: &[f32]) {
        for (&a, &b) in x.iter().zip(y) {
            let (a, b) = (a as f64, b as f64);
            self.sig += a * a;
            self.noise += (a - b) * (a - b);
            self.dot += a * b;
            self.cand += b * b;
            let d = (a - b).abs();
            if d > self.max_abs || d.is_nan() {
                self.max_abs = d;
            }
        }
    }

    fn finish(&self, name: String, op_type: String) -> TensorError {
        let sqnr = if self.noise == 0.0 {
            200.0
        } else if self.sig == 0.0 {
            -200.0
        } else {
            (10.0 * (self.sig / self.noise).log10()).min(200.0)
        };
        let denom = (self.sig * self.cand).sqrt();
        let cosine = if denom == 0.0 {
            if self.sig == self.cand {
                1.0
            } else {
                0.0
            }
        } else {
            self.dot / denom
        };
        TensorError {
            name,
            op_type,
            sqnr_db: sqnr,
            cosine,
            max_abs_error: self.max_abs,
        }
    }
}

/// What [`compare`] measured.
#[derive(Clone, Debug)]
pub struct Report {
    pub samples: usize,
    /// Intermediate tensors, in the reference model's order.
    pub layers: Vec<TensorError>,
    pub outputs: Vec<TensorError>,
    /// Share of rows of the first 2-D output whose argmax agrees.
    pub top1_agreement: Option<f64>,
    /// Top-1 accuracy of (reference, candidate) when labels are given.
    pub accuracy: Option<(f64, f64)>,
}

fn argmax_rows(t: &Tensor) -> Option<Vec<usize>> {
    let [_, c] = t.shape() else { return None };
    let c = *c;
    if c < 2 {
        return None;
    }
    let v = t.to_f64_vec().ok()?;
    Some(
        v.chunks(c)
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (i, &x)| if x > b.1 { (i, x) } else { b },
                    )
                    .0
            })
            .collect(),
    )
}

/// Runs `reference` and `candidate` on `samples` and compares every float tensor both define
/// (by name). `labels`, one per row of the first output over all samples, adds accuracies.
pub fn compare(
    reference: &Model,
    candidate: &Model,
    samples: &[Vec<Tensor>],
    labels: Option<&[usize]>,
    engine: &dyn Engine,
    progress: Progress,
) -> Result<Report> {
    compare_with(
        reference, candidate, samples, labels, engine, progress, true,
    )
}

/// [`compare`], with intermediate tensors only when `layers` (without them the models run
/// as deployed, which is faster and keeps every fusion).
pub fn compare_with(
    reference: &Model,
    candidate: &Model,
    samples: &[Vec<Tensor>],
    labels: Option<&[usize]>,
    engine: &dyn Engine,
    progress: Progress,
    layers: bool,
) -> Result<Report> {
    validate_samples(reference, samples)?;
    let rg = &reference.graph;
    let cg = &candidate.graph;
    if rg.outputs.len() != cg.outputs.len() {
        return Err(QuantError::Config(format!(
            "the models have {} and {} outputs",
            rg.outputs.len(),
            cg.outputs.len()
        )));
    }
    // Intermediate float tensors present in both graphs.
    let mut pairs: Vec<(ValueId, ValueId, String)> = Vec::new();
    for n in rg.nodes.iter().filter(|_| layers) {
        for o in n.outputs.iter().flatten() {
            let name = &rg.value(*o).name;
            if rg.outputs.contains(o) || rg.value(*o).ty.dtype().is_some_and(|d| !d.is_float()) {
                continue;
            }
            if let Some(c) = cg.find(name) {
                if cg.value(c).ty.dtype().is_none_or(|d| d.is_float()) {
                    pairs.push((*o, c, n.op_type().to_string()));
                }
            }
        }
    }
    let rp = probe_model(reference, &pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let cp = probe_model(candidate, &pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let n_out = rg.outputs.len();
    let mut r_run = engine.prepare(&rp)?;
    let mut c_run = engine.prepare(&cp)?;
    let mut layer_acc = vec![Acc::default(); pairs.len()];
    let mut out_acc = vec![Acc::default(); n_out];
    let (mut agree, mut rows, mut correct) = (0usize, 0usize, (0usize, 0usize));
    let mut top1 = true;
    for (i, s) in samples.iter().enumerate() {
        let feed = || s.iter().cloned().map(Value::Tensor).collect::<Vec<_>>();
        let ro = r_run
            .run(feed())
            .map_err(|e| QuantError::Data(format!("sample {i}, reference model: {e}")))?;
        let co = c_run
            .run(feed())
            .map_err(|e| QuantError::Data(format!("sample {i}, candidate model: {e}")))?;
        for (acc, (a, b)) in out_acc.iter_mut().zip(ro.iter().zip(&co)) {
            if let (Some(x), Some(y)) = (float_values(a), float_values(b)) {
                if x.len() == y.len() {
                    acc.add(&x, &y);
                }
            }
        }
        for (k, acc) in layer_acc.iter_mut().enumerate() {
            let pos_r = rp.graph.outputs.iter().position(|&o| o == pairs[k].0);
            let pos_c = cp.graph.outputs.iter().position(|&o| o == pairs[k].1);
            if let (Some(a), Some(b)) = (pos_r, pos_c) {
                if let (Some(x), Some(y)) = (float_values(&ro[a]), float_values(&co[b])) {
                    if x.len() == y.len() {
                        acc.add(&x, &y);
                    }
                }
            }
        }
        let tops = ro
            .first()
            .and_then(|v| v.as_tensor())
            .and_then(argmax_rows)
            .zip(co.first().and_then(|v| v.as_tensor()).and_then(argmax_rows));
        match tops {
            Some((a, b)) if top1 => {
                for (j, (x, y)) in a.iter().zip(&b).enumerate() {
                    agree += (x == y) as usize;
                    if let Some(l) = labels.and_then(|l| l.get(rows + j)) {
                        correct.0 += (x == l) as usize;
                        correct.1 += (y == l) as usize;
                    }
                }
                rows += a.len();
            }
            _ => top1 = false,
        }
        progress("comparing", i + 1, samples.len());
    }
    let name_of = |g: &edgeopt_ir::Graph, v: ValueId| g.value(v).name.clone();
    Ok(Report {
        samples: samples.len(),
        layers: pairs
            .iter()
            .zip(&layer_acc)
            .map(|((r, _, op), a)| a.finish(name_of(rg, *r), op.clone()))
            .collect(),
        outputs: rg
            .outputs
            .iter()
            .zip(&out_acc)
            .map(|(o, a)| a.finish(name_of(rg, *o), "output".into()))
            .collect(),
        top1_agreement: (top1 && rows > 0).then(|| agree as f64 / rows as f64),
        accuracy: (top1 && rows > 0 && labels.is_some()).then(|| {
            (
                correct.0 as f64 / rows as f64,
                correct.1 as f64 / rows as f64,
            )
        }),
    })
}
