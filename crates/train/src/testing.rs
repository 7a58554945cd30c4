//! Test helpers: tiny IR models built in code, and the central finite-difference gradient check.

use crate::autodiff::{build_training_graph, Loss, TrainSpec};
use crate::rng::Rng;
use anyhow::{anyhow, Result};
use edgeopt_ir::{AttrList, Attrs, BuildCtx, Graph, Model, Registry, Value, ValueId, ValueType};
use edgeopt_tensor::{DType, Tensor};

/// Builds a graph node by node.
pub struct GraphBuilder {
    pub g: Graph,
    pub opset: i64,
    n: usize,
}

impl GraphBuilder {
    pub fn new(opset: i64) -> Self {
        GraphBuilder {
            g: Graph::new("test"),
            opset,
            n: 0,
        }
    }

    /// A float32 graph input of known shape.
    pub fn input(&mut self, name: &str, shape: &[usize]) -> ValueId {
        let id = self.g.add_value(name, ValueType::known(DType::F32, shape));
        self.g.inputs.push(id);
        id
    }

    pub fn init(&mut self, name: &str, t: Tensor) -> ValueId {
        self.g.add_initializer(name, t)
    }

    /// A node of a default-domain op with attributes; returns its outputs.
    pub fn node(
        &mut self,
        op_type: &str,
        attrs: AttrList,
        inputs: &[Option<ValueId>],
        n_out: usize,
    ) -> Result<Vec<ValueId>> {
        let mut a = Attrs::new(attrs.0.into_iter().collect());
        let mut ctx = BuildCtx {
            opset: self.opset,
            attrs: &mut a,
            num_inputs: inputs.len(),
            num_outputs: n_out,
        };
        let op = Registry::global().build("", op_type, &mut ctx)?;
        self.add(op, inputs, n_out)
    }

    /// A node of any op.
    pub fn add(
        &mut self,
        op: Box<dyn edgeopt_ir::Op>,
        inputs: &[Option<ValueId>],
        n_out: usize,
    ) -> Result<Vec<ValueId>> {
        self.n += 1;
        let name = format!("n{}_{}", self.n, op.op_type());
        let outs: Vec<ValueId> = (0..n_out)
            .map(|k| self.g.add_value(&format!("{name}_{k}"), ValueType::Unknown))
            .collect();
        self.g.add_node(
            &name,
            op,
            inputs.to_vec(),
            outs.iter().map(|&o| Some(o)).collect(),
        );
        Ok(outs)
    }

    pub fn op1(&mut self, op_type: &str, attrs: AttrList, inputs: &[ValueId]) -> Result<ValueId> {
        let ins: Vec<Option<ValueId>> = inputs.iter().map(|&v| Some(v)).collect();
        Ok(self.node(op_type, attrs, &ins, 1)?[0])
    }

    pub fn finish(mut self, outputs: &[ValueId]) -> Result<Model> {
        self.g.outputs = outputs.to_vec();
        let mut m = Model {
            graph: self.g,
            opsets: vec![(String::new(), self.opset), (crate::ops::DOMAIN.into(), 1)],
            ir_version: 8,
            ..Default::default()
        };
        let opset = m.opset();
        edgeopt_ir::infer::infer_types(&mut m.graph, opset)?;
        Ok(m)
    }
}
/// Three classes of 1x8x8 images: a bright horizontal bar, a vertical bar, or a bright corner,
/// plus uniform noise; `n` samples cycling through the classes, seeded.
pub fn bars_dataset(n: usize, seed: u64) -> Result<edgeopt_data::InMemoryDataset> {
    let mut rng = Rng::new(seed);
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let c = i % 3;
        let pos = rng.below(6) + 1;
        for r in 0..8 {
            for col in 0..8 {
                let on = match c {
                    0 => r == pos,
                    1 => col == pos,
                    _ => r < 3 && col < 3,
                };
                x.push(if on { 1.0 } else { 0.0 } + 0.3 * rng.next_f32());
            }
        }
        labels.push(c as i64);
    }
    Ok(edgeopt_data::InMemoryDataset::new(
        "synthetic",
        vec![1, 8, 8],
        x,
        labels,
        3,
    )?)
}

/// A tensor of uniform values in `[lo, hi)`.
pub fn uniform(rng: &mut Rng, shape: &[usize], lo: f32, hi: f32) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| lo + (hi - lo) * rng.next_f32()).collect();
    Tensor::from_vec(shape.to_vec(), v).expect("shape matches data")
}

/// Checks the analytic gradients of `params` (initializers of `model`, whose first output is
/// the prediction) against central finite differences of an MSE loss to a random target.
/// Passes when `|num - ana| <= atol + rtol * max(|num|, |ana|)` for up to `samples` elements
/// per parameter. Returns the largest error seen.
pub fn check_gradients(
    model: &Model,
    params: &[&str],
    eps: f32,
    atol: f32,
    rtol: f32,
    samples: usize,
) -> Result<f32> {
    let spec = TrainSpec {
        loss: Loss::Mse,
        params: Some(params.iter().map(|s| s.to_string()).collect()),
        frozen_bn: false,
        prediction: None,
    };
    let tg = build_training_graph(model, &spec)?;
    let mut rng = Rng::new(7);
    // Shape of the prediction: run the forward model once.
    let pred = edgeopt_ir::exec::run_model(model, vec![])?;
    let pshape = pred[0]
        .as_tensor()
        .ok_or_else(|| anyhow!("no tensor output"))?
        .shape()
        .to_vec();
    let target = uniform(&mut rng, &pshape, -1.0, 1.0);
    let mut values: Vec<Tensor> = tg.params.iter().map(|(_, t)| t.clone()).collect();
    let states: Vec<Tensor> = tg.states.iter().map(|(_, t)| t.clone()).collect();
    let run = |vals: &[Tensor]| -> Result<Vec<Value>> {
        let feeds = tg
            .feeds
            .iter()
            .map(|n| {
                if n == &tg.target {
                    return Ok(Value::Tensor(target.clone()));
                }
                if n == "seed" {
                    return Ok(Value::Tensor(Tensor::scalar(5i64)));
                }
                if let Some(i) = tg.params.iter().position(|(p, _)| p == n) {
                    return Ok(Value::Tensor(vals[i].clone()));
                }
                if let Some(i) = tg.states.iter().position(|(p, _)| p == n) {
                    return Ok(Value::Tensor(states[i].clone()));
                }
                Err(anyhow!("unexpected feed '{n}'"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(edgeopt_ir::exec::run_model(&tg.model, feeds)?)
    };
    let outs = run(&values)?;
    let loss_of = |o: &[Value]| -> Result<f64> {
        Ok(o[0]
            .as_tensor()
            .ok_or_else(|| anyhow!("loss"))?
            .to_f64_vec()?[0])
    };
    let mut worst = 0f32;
    for (pi, (name, t)) in tg.params.iter().enumerate() {
        let ana = outs[2 + pi]
            .as_tensor()
            .ok_or_else(|| anyhow!("grad"))?
            .to_vec::<f32>()?;
        if ana.len() != t.len() {
            return Err(anyhow!(
                "gradient of '{name}' has {} elements, the parameter {}",
                ana.len(),
                t.len()
            ));
        }
        let picks: Vec<usize> = if t.len() <= samples {
            (0..t.len()).collect()
        } else {
            (0..samples).map(|_| rng.below(t.len())).collect()
        };
        for &k in &picks {
            let base = values[pi].to_vec::<f32>()?;
            let mut eval_at = |delta: f32| -> Result<f64> {
                let mut v = base.clone();
                v[k] += delta;
                values[pi] = Tensor::from_vec(t.shape().to_vec(), v)?;
                loss_of(&run(&values)?)
            };
            let num = ((eval_at(eps)? - eval_at(-eps)?) / (2.0 * eps as f64)) as f32;
            values[pi] = Tensor::from_vec(t.shape().to_vec(), base)?;
            let err = (num - ana[k]).abs();
            worst = worst.max(err);
            if err > atol + rtol * num.abs().max(ana[k].abs()) {
                return Err(anyhow!(
                    "d loss / d {name}[{k}]: finite differences {num}, analytic {}",
                    ana[k]
                ));
            }
        }
    }
    Ok(worst)
}

/// Runs the MSE training graph of `model` (parameters `params`, BatchNorm in training mode)
/// once on the reference executor (gradient ops through their `eval`) and once on a runtime
/// session with the training lowerings; returns the largest difference over all outputs
/// relative to `1 + |reference|`, and the nodes the session ran through the fallback.
pub fn compare_with_runtime(
    model: &Model,
    params: &[&str],
    threads: usize,
) -> Result<(f32, Vec<(String, String)>)> {
    let spec = TrainSpec {
        loss: Loss::Mse,
        params: Some(params.iter().map(|s| s.to_string()).collect()),
        frozen_bn: false,
        prediction: None,
    };
    let tg = build_training_graph(model, &spec)?;
    let mut rng = Rng::new(11);
    let pred = edgeopt_ir::exec::run_model(model, vec![])?;
    let pshape = pred[0]
        .as_tensor()
        .ok_or_else(|| anyhow!("no tensor output"))?
        .shape()
        .to_vec();
    let target = uniform(&mut rng, &pshape, -1.0, 1.0);
    let feeds = tg
        .feeds
        .iter()
        .map(|n| {
            if n == &tg.target {
                Ok(Value::Tensor(target.clone()))
            } else if n == "seed" {
                Ok(Value::Tensor(Tensor::scalar(5i64)))
            } else if let Some((_, t)) = tg.params.iter().chain(&tg.states).find(|(p, _)| p == n) {
                Ok(Value::Tensor(t.clone()))
            } else {
                Err(anyhow!("unexpected feed '{n}'"))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let want = edgeopt_ir::exec::run_model(&tg.model, feeds.clone())?;
    let mut s =
        edgeopt_runtime::Session::new(tg.model.clone(), crate::trainer::session_options(threads))?;
    let got = s.run_values(&feeds)?;
    let mut worst = 0f32;
    for (k, (w, g)) in want.iter().zip(&got).enumerate() {
        let (Some(w), Some(g)) = (w.as_tensor(), g.as_tensor()) else {
            return Err(anyhow!("output {k} is not a tensor"));
        };
        if w.shape() != g.shape() {
            return Err(anyhow!(
                "output {k}: reference {:?}, runtime {:?}",
                w.shape(),
                g.shape()
            ));
        }
        for (a, b) in w.to_f64_vec()?.iter().zip(g.to_f64_vec()?) {
            worst = worst.max(((a - b).abs() / (1.0 + a.abs())) as f32);
        }
    }
    Ok((worst, s.fallback_nodes()))
}
