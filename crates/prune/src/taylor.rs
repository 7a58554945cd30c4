//! The first-order Taylor criterion (Molchanov et al. 2019): removing channel `c` changes the
//! loss by about `-sum_{w in c} w * dL/dw`, so a channel whose weights' `|sum w * dL/dw|` is
//! small can go. Gradients come from the training engine's autodiff
//! ([`edgeopt_train::build_training_graph`]) run on labelled calibration batches.

use std::collections::BTreeMap;

use edgeopt_ir::{Model, Value};
use edgeopt_runtime::Session;
use edgeopt_tensor::Tensor;
use edgeopt_train::{build_training_graph, TrainSpec};

use crate::depgraph::{DepGraph, Role};
use crate::{PruneError, Result};

fn train_err(e: impl std::fmt::Display) -> PruneError {
    PruneError::Graph(format!("taylor criterion: {e:#}"))
}

/// `sum` over every axis but `axis` of `a * b` (same shape), one value per index of `axis`.
fn products_along(a: &[f32], b: &[f32], shape: &[usize], axis: usize) -> Vec<f64> {
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = vec![0f64; len];
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        out[(i / inner.max(1)) % len] += *x as f64 * *y as f64;
    }
    out
}

/// Gradients of the cross-entropy loss with respect to every trainable initializer, by name,
/// on one batch `[inputs.., labels]` (BatchNorm in eval mode).
pub fn gradients(
    model: &Model,
    session: &mut Option<(Session, edgeopt_train::TrainingGraph)>,
    batch: &[Tensor],
) -> Result<BTreeMap<String, Vec<f32>>> {
    let (Some(labels), Some(x)) = (batch.last(), batch.first()) else {
        return Err(PruneError::Input(
            "taylor criterion: a calibration batch must be [inputs.., labels]".into(),
        ));
    };
    if batch.len() < 2 {
        return Err(PruneError::Input(
            "taylor criterion: calibration batches need labels after the inputs".into(),
        ));
    }
    if session.is_none() {
        let spec = TrainSpec {
            frozen_bn: true,
            ..TrainSpec::cross_entropy()
        };
        let tg = build_training_graph(model, &spec).map_err(train_err)?;
        let s = Session::new(tg.model.clone(), edgeopt_train::trainer::session_options(1))
            .map_err(train_err)?;
        *session = Some((s, tg));
    }
    let Some((s, tg)) = session.as_mut() else {
        return Err(train_err("no session"));
    };
    let feeds: Vec<Value> = tg
        .feeds
        .iter()
        .map(|n| {
            let t = if n == &tg.target {
                labels.clone()
            } else if tg.data_inputs.first() == Some(n) {
                x.clone()
            } else if let Some((_, t)) = tg.params.iter().chain(&tg.states).find(|(p, _)| p == n) {
                t.clone()
            } else if Some(n) == tg.seed.as_ref() {
                Tensor::scalar(0i64)
            } else {
                return Err(train_err(format!("cannot feed '{n}'")));
            };
            Ok(Value::Tensor(t))
        })
        .collect::<Result<_>>()?;
    let outs = s.run_values(&feeds).map_err(train_err)?;
    let mut grads = BTreeMap::new();
    for ((name, _), o) in tg.params.iter().zip(outs.iter().skip(2)) {
        let t = o
            .as_tensor()
            .ok_or_else(|| train_err(format!("the gradient of '{name}' is not a tensor")))?;
        grads.insert(name.clone(), t.to_vec::<f32>()?);
    }
    Ok(grads)
}

/// Importance of every union-find root: the mean over `batches` of `|sum w * dL/dw|` over the
/// channel's producer slices and per-channel parameters (biases, BatchNorm scale and shift).
pub fn importance(
    model: &Model,
    dg: &DepGraph,
    batches: &[Vec<Tensor>],
) -> Result<BTreeMap<usize, f64>> {
    if batches.is_empty() {
        return Err(PruneError::Input(
            "the taylor criterion needs labelled calibration batches".into(),
        ));
    }
    let mut session = None;
    let mut imp: BTreeMap<usize, f64> = BTreeMap::new();
    for batch in batches {
        let grads = gradients(model, &mut session, batch)?;
        let mut total: BTreeMap<usize, f64> = BTreeMap::new();
        for s in dg.params.iter().filter(|s| s.role != Role::In) {
            let name = &model.graph.value(s.tensor).name;
            let (Some(g), Some(w)) = (grads.get(name), model.graph.initializers.get(&s.tensor))
            else {
                continue;
            };
            let Ok(wv) = w.as_slice::<f32>() else {
                continue;
            };
            if wv.len() != g.len() || s.axis >= w.rank() {
                continue;
            }
            for (c, v) in products_along(wv, g, w.shape(), s.axis)
                .into_iter()
                .enumerate()
            {
                if let Some(e) = dg.element(s.channels, c) {
                    *total.entry(dg.find(e)).or_default() += v;
                }
            }
        }
        for (root, v) in total {
            *imp.entry(root).or_default() += v.abs() / batches.len() as f64;
        }
    }
    Ok(imp)
}

#[cfg(test)]
mod tests {
    use super::products_along;

    #[test]
    fn products_sum_per_index_of_the_axis() {
        // shape [2, 3], axis 1: columns.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        assert_eq!(products_along(&a, &b, &[2, 3], 1), vec![9.0, 12.0, 15.0]);
        assert_eq!(products_along(&a, &b, &[2, 3], 0), vec![6.0, 30.0]);
    }
}
