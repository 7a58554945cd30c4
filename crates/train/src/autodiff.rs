//! Reverse-mode autodiff as a graph transform (TVM style): forward graph + loss + backward
//! nodes in one IR graph whose outputs are the loss, the prediction, `d(loss)/d(param)` for
//! every trainable parameter and the updated state (BatchNorm running statistics).
//!
//! Parameters and states become graph inputs, fed every step, so nothing an executor might
//! prepack goes stale. Training-mode rewrites: BatchNormalization -> `BatchNormTrain` (batch
//! statistics, running statistics as extra outputs) unless `frozen_bn`, Dropout ->
//! `DropoutTrain` with a per-step `seed` input.

use crate::grad::{differentiate, GradCtx};
use crate::ops::batch_norm::BatchNormTrain;
use crate::ops::dropout::DropoutTrain;
use crate::ops::loss::{DistillationLoss, MseLoss, SoftmaxCrossEntropy};
use anyhow::{anyhow, bail, Context, Result};
use edgeopt_ir::ops::nn::batch_normalization::BatchNormalization;
use edgeopt_ir::ops::nn::dropout::Dropout;
use edgeopt_ir::{Graph, Model, Op, ValueId, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};
use std::collections::{BTreeSet, HashMap};

/// The training objective on the model's prediction.
#[derive(Clone, Debug, PartialEq)]
pub enum Loss {
    /// Softmax cross-entropy from logits `[N, C]` against int64 labels `[N]`.
    CrossEntropy,
    /// Mean squared error against an f32 target shaped like the prediction.
    Mse,
    /// `(1 - lambda) * CE(student, labels) + lambda * T^2 * KL(softmax(teacher/T) || softmax(student/T))`;
    /// the teacher's logits are fed as the `teacher_logits` input.
    Distillation { lambda: f32, temperature: f32 },
}

/// What to train.
#[derive(Clone, Debug)]
pub struct TrainSpec {
    pub loss: Loss,
    /// Trainable parameter names; `None`: every float initializer except BatchNorm running
    /// statistics and constants feeding non-differentiable inputs (Clip bounds, FakeQuant scales).
    pub params: Option<Vec<String>>,
    /// Keep BatchNorm in eval mode (running statistics, not updated).
    pub frozen_bn: bool,
    /// Which graph output is the prediction (default: the first).
    pub prediction: Option<String>,
}

impl TrainSpec {
    /// Cross-entropy on the first output, all parameters, BatchNorm in training mode.
    pub fn cross_entropy() -> Self {
        TrainSpec {
            loss: Loss::CrossEntropy,
            params: None,
            frozen_bn: false,
            prediction: None,
        }
    }
}

/// The training graph and how to feed it.
#[derive(Clone, Debug)]
pub struct TrainingGraph {
    pub model: Model,
    pub loss: Loss,
    /// Feed order of `model` (its [`edgeopt_ir::exec::feed_inputs`]), by name.
    pub feeds: Vec<String>,
    /// The data input(s) of the original model.
    pub data_inputs: Vec<String>,
    /// The target input: int64 labels (CE, distillation) or an f32 tensor (MSE).
    pub target: String,
    /// `teacher_logits` for distillation.
    pub teacher: Option<String>,
    /// `seed` (int64 scalar) when the graph has dropout.
    pub seed: Option<String>,
    /// Trainable parameters (graph inputs) with their initial values.
    pub params: Vec<(String, Tensor)>,
    /// State inputs (BatchNorm running statistics) with their initial values.
    pub states: Vec<(String, Tensor)>,
    /// Outputs of `model`: loss, prediction, one gradient per param, one updated value per state.
    pub loss_output: String,
    pub prediction_output: String,
    pub grad_outputs: Vec<String>,
    pub state_outputs: Vec<String>,
}

/// Inputs that carry no gradient whatever their producer (shapes, indices, bounds, scales).
fn non_differentiable(op: &dyn Op, i: usize) -> bool {
    match (op.domain(), op.op_type()) {
        (
            "",
            "Reshape" | "Slice" | "Squeeze" | "Unsqueeze" | "Clip" | "Expand" | "Pad" | "Resize"
            | "Dropout",
        ) => i >= 1,
        ("", "Gather") => i == 1,
        ("", "BatchNormalization") => i >= 3,
        (crate::ops::DOMAIN, "FakeQuant") => i >= 1,
        _ => false,
    }
}

/// Builds the training graph of `model` for `spec`.
pub fn build_training_graph(model: &Model, spec: &TrainSpec) -> Result<TrainingGraph> {
    let opset = model.opset();
    let mut g: Graph = model.graph.clone();
    let data_inputs: Vec<String> = edgeopt_ir::exec::feed_inputs(&g)
        .iter()
        .map(|&v| g.value(v).name.clone())
        .collect();
    relax_batch_dims(&mut g, &data_inputs);
    let pred = match &spec.prediction {
        Some(n) => g
            .find(n)
            .ok_or_else(|| anyhow!("the model has no value '{n}'"))?,
        None => *g
            .outputs
            .first()
            .ok_or_else(|| anyhow!("the model has no outputs"))?,
    };

    // States: BatchNorm running statistics.
    let mut state_ids: Vec<ValueId> = Vec::new();
    for n in &g.nodes {
        if n.op_type() == "BatchNormalization" {
            state_ids.extend(n.inputs.iter().skip(3).take(2).flatten().copied());
        }
    }
    let state_set: BTreeSet<ValueId> = state_ids.iter().copied().collect();
    let mut nondiff: BTreeSet<ValueId> = BTreeSet::new();
    for n in &g.nodes {
        for (i, v) in n.inputs.iter().enumerate() {
            if let Some(v) = v {
                if non_differentiable(n.op.as_ref(), i) {
                    nondiff.insert(*v);
                }
            }
        }
    }
    let param_ids: Vec<ValueId> = match &spec.params {
        Some(names) => names
            .iter()
            .map(|n| {
                g.find(n)
                    .filter(|v| g.initializers.contains_key(v))
                    .ok_or_else(|| anyhow!("'{n}' is not an initializer of the model"))
            })
            .collect::<Result<_>>()?,
        None => g
            .initializers
            .iter()
            .filter(|(v, t)| {
                t.dtype() == DType::F32 && !state_set.contains(v) && !nondiff.contains(v)
            })
            .map(|(v, _)| *v)
            .collect(),
    };
    if param_ids.is_empty() {
        bail!("the model has no trainable (float32 initializer) parameters");
    }
    let mut params = Vec::new();
    for &p in &param_ids {
        let t = g
            .initializers
            .remove(&p)
            .ok_or_else(|| anyhow!("parameter listed twice"))?;
        params.push((g.value(p).name.clone(), t));
        g.inputs.push(p);
    }
    let mut states = Vec::new();
    let mut state_outputs = Vec::new();
    let mut seed = None;
    if !spec.frozen_bn {
        for &s in &state_ids {
            if let Some(t) = g.initializers.remove(&s) {
                states.push((g.value(s).name.clone(), t));
                g.inputs.push(s);
            } else if !g.inputs.contains(&s) {
                bail!(
                    "BatchNorm running statistic '{}' is neither an initializer nor an input",
                    g.value(s).name
                );
            }
        }
        // Training-mode rewrites.
        for i in 0..g.nodes.len() {
            let node = g.nodes[i].clone();
            if let Some(bn) = node.op.downcast_ref::<BatchNormalization>() {
                let new: Vec<ValueId> = [
                    "saved_mean",
                    "saved_inv_std",
                    "running_mean_out",
                    "running_var_out",
                ]
                .iter()
                .map(|s| g.add_value(&format!("{}_{s}", node.name), ValueType::Unknown))
                .collect();
                let y = node
                    .outputs
                    .first()
                    .copied()
                    .flatten()
                    .ok_or_else(|| anyhow!("BatchNorm '{}' has no output", node.name))?;
                g.nodes[i].op = Box::new(BatchNormTrain {
                    epsilon: bn.epsilon.unwrap_or(1e-5),
                    momentum: bn.momentum.unwrap_or(0.9),
                });
                g.nodes[i].outputs = std::iter::once(Some(y))
                    .chain(new.iter().map(|&v| Some(v)))
                    .collect();
                state_outputs.push(g.value(new[2]).name.clone());
                state_outputs.push(g.value(new[3]).name.clone());
            } else if let Some(d) = node.op.downcast_ref::<Dropout>() {
                let ratio = match node.inputs.get(1).copied().flatten() {
                    Some(r) => g
                        .initializers
                        .get(&r)
                        .and_then(|t| t.to_f64_vec().ok())
                        .and_then(|v| v.first().copied())
                        .ok_or_else(|| {
                            anyhow!("Dropout '{}': the ratio must be a constant", node.name)
                        })? as f32,
                    None => d.ratio.unwrap_or(0.5),
                };
                let s = *seed.get_or_insert_with(|| {
                    let id = g.add_value("seed", ValueType::known(DType::I64, &[]));
                    g.inputs.push(id);
                    id
                });
                let y = node
                    .outputs
                    .first()
                    .copied()
                    .flatten()
                    .ok_or_else(|| anyhow!("Dropout '{}' has no output", node.name))?;
                let mask = g.add_value(&format!("{}_mask", node.name), ValueType::Unknown);
                g.nodes[i].op = Box::new(DropoutTrain { ratio });
                g.nodes[i].inputs = vec![node.inputs[0], Some(s)];
                g.nodes[i].outputs = vec![Some(y), Some(mask)];
            }
        }
    }

    // Loss.
    let (target, teacher) = add_targets(&mut g, &spec.loss);
    let loss_op: Box<dyn Op> = match spec.loss {
        Loss::CrossEntropy => Box::new(SoftmaxCrossEntropy),
        Loss::Mse => Box::new(MseLoss),
        Loss::Distillation {
            lambda,
            temperature,
        } => Box::new(DistillationLoss {
            lambda,
            temperature,
        }),
    };
    let loss = g.add_value("loss", ValueType::known(DType::F32, &[]));
    let dpred = g.add_value("loss_grad", ValueType::Unknown);
    let mut loss_in = vec![Some(pred)];
    if let Some(t) = teacher {
        loss_in.push(Some(t));
    }
    loss_in.push(Some(target));
    let n_forward = g.nodes.len();
    g.add_node("loss", loss_op, loss_in, vec![Some(loss), Some(dpred)]);

    // Which values depend on a parameter.
    let mut requires: Vec<bool> = vec![false; g.values.len()];
    for &p in &param_ids {
        requires[p.0 as usize] = true;
    }
    for n in &g.nodes[..n_forward] {
        let any = n.inputs.iter().enumerate().any(|(i, v)| {
            v.is_some_and(|v| requires[v.0 as usize]) && !non_differentiable(n.op.as_ref(), i)
        });
        if any {
            for o in n.outputs.iter().flatten() {
                requires[o.0 as usize] = true;
            }
        }
    }

    // Backward pass.
    let mut contrib: HashMap<ValueId, Vec<ValueId>> = HashMap::new();
    contrib.insert(pred, vec![dpred]);
    let mut counter = 0usize;
    for i in (0..n_forward).rev() {
        let node = g.nodes[i].clone();
        let mut dys = Vec::new();
        for o in &node.outputs {
            dys.push(match o {
                Some(o) => sum_grads(&mut g, &mut contrib, *o, opset, &mut counter)?,
                None => None,
            });
        }
        if dys.iter().all(|d| d.is_none()) {
            continue;
        }
        let needs: Vec<bool> = node
            .inputs
            .iter()
            .enumerate()
            .map(|(k, v)| {
                v.is_some_and(|v| requires[v.0 as usize])
                    && !non_differentiable(node.op.as_ref(), k)
            })
            .collect();
        let name = node.name.clone();
        let op_type = node.op_type().to_string();
        let mut ctx = GradCtx::new(&mut g, node.clone(), opset, needs.clone(), &mut counter);
        let dxs = differentiate(&mut ctx, &dys)
            .with_context(|| format!("backward of node '{name}' ({op_type})"))?;
        for (k, dx) in dxs.into_iter().enumerate() {
            if let (Some(dx), Some(Some(v))) = (dx, node.inputs.get(k)) {
                if needs[k] {
                    contrib.entry(*v).or_default().push(dx);
                }
            }
        }
    }
    let mut grad_outputs = Vec::new();
    for (&p, (name, t)) in param_ids.iter().zip(&params) {
        let gid = match sum_grads(&mut g, &mut contrib, p, opset, &mut counter)? {
            Some(v) => v,
            None => g.add_initializer(
                &format!("{name}_zero_grad"),
                Tensor::zeros(DType::F32, t.shape().to_vec())?,
            ),
        };
        grad_outputs.push(g.value(gid).name.clone());
    }

    // Outputs.
    let mut outputs = vec![loss, pred];
    for n in grad_outputs.iter().chain(&state_outputs) {
        outputs.push(g.find(n).ok_or_else(|| anyhow!("lost value '{n}'"))?);
    }
    // A parameter's gradient may be a constant zero initializer or alias another output; route
    // through Identity so every output is a distinct node output.
    let mut seen = BTreeSet::new();
    for o in outputs.iter_mut() {
        if !seen.insert(*o) || g.initializers.contains_key(o) {
            let name = format!("{}_out", g.value(*o).name);
            let id = g.add_value(&name, ValueType::Unknown);
            g.add_node(
                &name,
                crate::grad::build_onnx("Identity", Default::default(), 1, opset)?,
                vec![Some(*o)],
                vec![Some(id)],
            );
            *o = id;
            seen.insert(id);
        }
    }
    g.outputs = outputs.clone();
    let names: Vec<String> = outputs.iter().map(|&o| g.value(o).name.clone()).collect();
    let feeds = edgeopt_ir::exec::feed_inputs(&g)
        .iter()
        .map(|&v| g.value(v).name.clone())
        .collect();
    let mut m = model.clone();
    m.graph = g;
    Ok(TrainingGraph {
        model: m,
        loss: spec.loss.clone(),
        feeds,
        data_inputs,
        target: target_name(&spec.loss),
        teacher: teacher.map(|_| "teacher_logits".to_string()),
        seed: seed.map(|_| "seed".to_string()),
        params,
        states,
        loss_output: names[0].clone(),
        prediction_output: names[1].clone(),
        grad_outputs: names[2..2 + param_ids.len()].to_vec(),
        state_outputs: names[2 + param_ids.len()..].to_vec(),
    })
}

fn target_name(_loss: &Loss) -> String {
    "target".to_string()
}

fn add_targets(g: &mut Graph, loss: &Loss) -> (ValueId, Option<ValueId>) {
    let n = Dim::Sym("N".into());
    let target = match loss {
        Loss::Mse => g.add_value("target", ValueType::dtype_only(DType::F32)),
        _ => g.add_value("target", ValueType::tensor(DType::I64, vec![n.clone()])),
    };
    g.inputs.push(target);
    let teacher = matches!(loss, Loss::Distillation { .. }).then(|| {
        let t = g.add_value("teacher_logits", ValueType::dtype_only(DType::F32));
        g.inputs.push(t);
        t
    });
    (target, teacher)
}

/// Sums the gradient contributions of `v` (one node for several), removing them.
fn sum_grads(
    g: &mut Graph,
    contrib: &mut HashMap<ValueId, Vec<ValueId>>,
    v: ValueId,
    opset: i64,
    counter: &mut usize,
) -> Result<Option<ValueId>> {
    let Some(list) = contrib.remove(&v) else {
        return Ok(None);
    };
    if list.len() == 1 {
        contrib.insert(v, list.clone());
        return Ok(Some(list[0]));
    }
    *counter += 1;
    let name = format!("grad{counter}_sum_{}", g.value(v).name);
    let out = g.add_value(&name, ValueType::Unknown);
    let op = crate::grad::build_onnx("Sum", Default::default(), list.len(), opset)?;
    g.add_node(
        &name,
        op,
        list.iter().map(|&x| Some(x)).collect(),
        vec![Some(out)],
    );
    contrib.insert(v, vec![out]);
    Ok(Some(out))
}

/// Makes the leading (batch) dim of the data inputs symbolic, so the training graph takes any
/// batch size even when the model was exported for batch 1.
pub(crate) fn relax_batch_dims(g: &mut Graph, data_inputs: &[String]) {
    for name in data_inputs {
        if let Some(id) = g.find(name) {
            if let ValueType::Tensor(t) = &mut g.value_mut(id).ty {
                if let Some(d) = t.shape.as_mut().and_then(|s| s.first_mut()) {
                    *d = Dim::Sym("N".into());
                }
            }
        }
    }
    // Intermediate types were inferred for the old batch size: forget them.
    let keep: BTreeSet<ValueId> = g
        .inputs
        .iter()
        .chain(g.initializers.keys())
        .copied()
        .collect();
    for i in 0..g.values.len() {
        let id = ValueId(i as u32);
        if !keep.contains(&id) {
            if let Some(dt) = g.value(id).ty.dtype() {
                g.value_mut(id).ty = ValueType::dtype_only(dt);
            }
        }
    }
}
