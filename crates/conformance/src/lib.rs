//! The ONNX backend test harness: load `model.onnx`, feed `test_data_set_*/input_*.pb`, compare
//! with `output_*.pb` (rtol 1e-3, atol 1e-7 for floats, as ONNX's own backend runner; exact
//! otherwise). A manifest lists the cases expected to pass.

use bytes::Bytes;
use edgeopt_ir::exec::run_model;
use edgeopt_ir::{Model, Value};
use edgeopt_onnx::proto::{OptionalProto, SequenceProto, TensorProto};
use edgeopt_onnx::{load_model, tensor_from_proto, LoadOptions};
use edgeopt_tensor::{DType, Tensor};
use prost::Message;
use std::path::{Path, PathBuf};

pub const RTOL: f64 = 1e-3;
pub const ATOL: f64 = 1e-7;

/// The four suites, in run order.
pub const SUITES: [&str; 4] = ["node", "pytorch-converted", "pytorch-operator", "simple"];

/// Where the test data is: `$EDGEOPT_ONNX_TESTDATA`, `../shared/data/onnx-testdata` or
/// `data/onnx-testdata` (what `scripts/fetch-data.sh` fills) relative to the repo root.
pub fn data_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("EDGEOPT_ONNX_TESTDATA") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        root.join("../shared/data/onnx-testdata"),
        root.join("data/onnx-testdata"),
    ]
    .into_iter()
    .find(|p| p.join("node").is_dir())
}

/// Every case as "suite/test_name", sorted.
pub fn all_cases(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for s in SUITES {
        if let Ok(rd) = std::fs::read_dir(dir.join(s)) {
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            out.extend(names.into_iter().map(|n| format!("{s}/{n}")));
        }
    }
    out
}

#[derive(Debug)]
pub enum Outcome {
    Pass,
    /// Loaded and ran, but an output differs.
    Mismatch(String),
    /// Could not load or run.
    Error(String),
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Pass)
    }
}

/// Reads a serialized TensorProto, SequenceProto or OptionalProto file.
pub fn read_value(path: &Path, hint: Option<&edgeopt_ir::ValueType>) -> anyhow::Result<Value> {
    let bytes = Bytes::from(std::fs::read(path)?);
    use edgeopt_ir::ValueType as VT;
    match hint {
        Some(VT::Sequence(_)) => Ok(sequence(&SequenceProto::decode(bytes)?)?),
        Some(VT::Optional(_)) => Ok(optional(&OptionalProto::decode(bytes)?)?),
        _ => Ok(Value::Tensor(tensor_from_proto(
            &TensorProto::decode(bytes)?,
            None,
        )?)),
    }
}

fn sequence(s: &SequenceProto) -> anyhow::Result<Value> {
    Ok(Value::Sequence(
        s.tensor_values
            .iter()
            .map(|t| tensor_from_proto(t, None))
            .collect::<Result<_, _>>()?,
    ))
}

fn optional(o: &OptionalProto) -> anyhow::Result<Value> {
    Ok(Value::Optional(if let Some(t) = &o.tensor_value {
        Some(Box::new(Value::Tensor(tensor_from_proto(t, None)?)))
    } else if let Some(s) = &o.sequence_value {
        Some(Box::new(sequence(s)?))
    } else {
        None
    }))
}

/// Compares one output; `Err` describes the first difference.
pub fn compare(got: &Value, want: &Value) -> Result<(), String> {
    match (got, want) {
        (Value::Tensor(g), Value::Tensor(w)) => compare_tensors(g, w),
        (Value::Sequence(g), Value::Sequence(w)) => {
            if g.len() != w.len() {
                return Err(format!(
                    "sequence of {} tensors, expected {}",
                    g.len(),
                    w.len()
                ));
            }
            g.iter().zip(w).enumerate().try_for_each(|(i, (a, b))| {
                compare_tensors(a, b).map_err(|e| format!("element {i}: {e}"))
            })
        }
        (Value::Optional(g), Value::Optional(w)) => match (g, w) {
            (None, None) => Ok(()),
            (Some(a), Some(b)) => compare(a, b),
            _ => Err(format!(
                "optional presence differs: got {}, expected {}",
                g.is_some(),
                w.is_some()
            )),
        },
        // Some tests store an optional's content directly.
        (Value::Optional(Some(g)), w) => compare(g, w),
        (g, w) => Err(format!("got a {}, expected a {}", g.kind(), w.kind())),
    }
}

pub fn compare_tensors(g: &Tensor, w: &Tensor) -> Result<(), String> {
    if g.dtype() != w.dtype() {
        return Err(format!("dtype {} but expected {}", g.dtype(), w.dtype()));
    }
    if g.shape() != w.shape() {
        return Err(format!(
            "shape {:?} but expected {:?}",
            g.shape(),
            w.shape()
        ));
    }
    match g.dtype() {
        DType::String => {
            if g.as_strings() != w.as_strings() {
                return Err(format!("strings differ: {:?} vs {:?}", g, w));
            }
        }
        d if d.is_encoded() => {
            if g.as_bytes() != w.as_bytes() {
                let i = g
                    .as_bytes()
                    .iter()
                    .zip(w.as_bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                return Err(format!(
                    "element {i}: code {} but expected {}",
                    g.as_bytes()[i],
                    w.as_bytes()[i]
                ));
            }
        }
        d => {
            let (a, b) = (
                g.to_f64_vec().map_err(|e| e.to_string())?,
                w.to_f64_vec().map_err(|e| e.to_string())?,
            );
            let exact = !d.is_float();
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                let ok = if exact {
                    x == y
                } else if y.is_nan() {
                    x.is_nan()
                } else if y.is_infinite() {
                    x == y
                } else {
                    (x - y).abs() <= ATOL + RTOL * y.abs()
                };
                if !ok {
                    return Err(format!(
                        "element {i}: {x} but expected {y} (abs err {:.3e})",
                        (x - y).abs()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Loads a case's model (or explains why not).
pub fn load_case(case_dir: &Path) -> anyhow::Result<Model> {
    Ok(load_model(
        &case_dir.join("model.onnx"),
        &LoadOptions::default(),
    )?)
}

/// Runs every data set of a case through `model`.
pub fn run_with(model: &Model, case_dir: &Path) -> Outcome {
    let mut sets: Vec<PathBuf> = match std::fs::read_dir(case_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => return Outcome::Error(e.to_string()),
    };
    sets.sort();
    let feeds = edgeopt_ir::exec::feed_inputs(&model.graph);
    for set in sets {
        let mut inputs = Vec::new();
        for (i, id) in feeds.iter().enumerate() {
            let p = set.join(format!("input_{i}.pb"));
            if !p.exists() {
                break;
            }
            match read_value(&p, Some(&model.graph.value(*id).ty)) {
                Ok(v) => inputs.push(v),
                Err(e) => return Outcome::Error(format!("reading {}: {e}", p.display())),
            }
        }
        let got = match run_model(model, inputs) {
            Ok(v) => v,
            Err(e) => return Outcome::Error(e.to_string()),
        };
        for (i, g) in got.iter().enumerate() {
            let p = set.join(format!("output_{i}.pb"));
            if !p.exists() {
                continue;
            }
            let hint = model.graph.value(model.graph.outputs[i]).ty.clone();
            let want = match read_value(&p, Some(&hint)) {
                Ok(v) => v,
                Err(e) => return Outcome::Error(format!("reading {}: {e}", p.display())),
            };
            if let Err(e) = compare(g, &want) {
                let name = &model.graph.value(model.graph.outputs[i]).name;
                return Outcome::Mismatch(format!("output '{name}': {e}"));
            }
        }
    }
    Outcome::Pass
}

/// Longest a single case may run before it counts as failed (a hang is a bug, not a pass).
pub const CASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Loads and runs one case on its own thread, turning panics (bugs) and hangs into errors so
/// one case cannot stop a run.
pub fn run_case(case_dir: &Path) -> Outcome {
    let dir = case_dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(move || match load_case(&dir) {
            Ok(m) => run_with(&m, &dir),
            Err(e) => Outcome::Error(format!("{e:#}")),
        });
        let _ = tx.send(r);
    });
    match rx.recv_timeout(CASE_TIMEOUT) {
        Ok(Ok(o)) => o,
        Ok(Err(p)) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Outcome::Error(format!("PANIC: {}", msg.unwrap_or_default()))
        }
        Err(_) => Outcome::Error(format!("TIMEOUT after {} s", CASE_TIMEOUT.as_secs())),
    }
}

/// Import -> export -> import, then checks both models give bit-identical outputs on the
/// case's first data set.
pub fn roundtrip_case(case_dir: &Path) -> Result<(), String> {
    let m1 = load_case(case_dir).map_err(|e| e.to_string())?;
    let bytes = edgeopt_onnx::encode_model(&m1, &Default::default()).map_err(|e| e.to_string())?;
    let m2 = edgeopt_onnx::load_model_bytes(bytes, &LoadOptions::default())
        .map_err(|e| format!("re-import: {e}"))?;
    let set = case_dir.join("test_data_set_0");
    let feeds = edgeopt_ir::exec::feed_inputs(&m1.graph);
    let mut inputs = Vec::new();
    for (i, id) in feeds.iter().enumerate() {
        let p = set.join(format!("input_{i}.pb"));
        if !p.exists() {
            break;
        }
        inputs.push(read_value(&p, Some(&m1.graph.value(*id).ty)).map_err(|e| e.to_string())?);
    }
    let a = run_model(&m1, inputs.clone()).map_err(|e| e.to_string())?;
    let b = run_model(&m2, inputs).map_err(|e| format!("re-imported model: {e}"))?;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let same = match (x, y) {
            (Value::Tensor(p), Value::Tensor(q)) => p.bit_eq(q),
            _ => compare(x, y).is_ok(),
        };
        if !same {
            return Err(format!("output {i} differs after round trip"));
        }
    }
    Ok(())
}

/// Reads a manifest: one "suite/test" per line; `#` starts a comment.
pub fn read_manifest(path: &Path) -> std::io::Result<Vec<String>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// The manifest committed in the repo.
pub fn manifest_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/manifest.txt")
}
