//! Helpers for tests: build small models op by op (ops come from the registry, as import
//! builds them), seeded random tensors, and the before/after comparison every pass test makes.

use crate::{Config, PassReport, Pipeline};
use edgeopt_ir::attr::Attrs;
use edgeopt_ir::exec::run_model;
use edgeopt_ir::{Attribute, BuildCtx, Model, Registry, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn reg() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(crate::registry)
}

/// Deterministic values in [-1, 1) from `seed` (xorshift; no dependency).
pub fn random_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn random_tensor(shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), random_vec(n, seed)).expect("shape matches data")
}

pub fn ints(v: &[i64]) -> Attribute {
    Attribute::Ints(v.to_vec())
}

pub struct ModelBuilder {
    pub model: Model,
    opset: i64,
    seed: u64,
}

impl ModelBuilder {
    pub fn new(opset: i64) -> Self {
        ModelBuilder {
            model: Model {
                opsets: vec![(String::new(), opset)],
                ir_version: 8,
                ..Default::default()
            },
            opset,
            seed: 1,
        }
    }

    pub fn input(&mut self, name: &str, shape: &[usize]) -> &mut Self {
        let id = self.model.graph.value_named(name);
        self.model.graph.value_mut(id).ty = ValueType::known(DType::F32, shape);
        self.model.graph.inputs.push(id);
        self
    }

    pub fn init(&mut self, name: &str, t: Tensor) -> &mut Self {
        self.model.graph.add_initializer(name, t);
        self
    }

    /// A seeded random f32 initializer.
    pub fn weight(&mut self, name: &str, shape: &[usize]) -> &mut Self {
        self.seed += 1;
        let t = random_tensor(shape, self.seed);
        self.init(name, t)
    }

    /// Adds a node built by the registry; "" in `inputs` is an omitted input.
    pub fn node(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<(&str, Attribute)>,
    ) -> &mut Self {
        self.node_in("", op_type, inputs, outputs, attrs)
    }

    pub fn node_in(
        &mut self,
        domain: &str,
        op_type: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<(&str, Attribute)>,
    ) -> &mut Self {
        let map: BTreeMap<String, Attribute> =
            attrs.into_iter().map(|(k, a)| (k.to_string(), a)).collect();
        let mut attrs = Attrs::new(map);
        let mut ctx = BuildCtx {
            opset: self.opset,
            attrs: &mut attrs,
            num_inputs: inputs.len(),
            num_outputs: outputs.len(),
        };
        let op = reg()
            .build(domain, op_type, &mut ctx)
            .unwrap_or_else(|e| panic!("building {op_type}: {e}"));
        let g = &mut self.model.graph;
        let ins = inputs
            .iter()
            .map(|n| (!n.is_empty()).then(|| g.value_named(n)))
            .collect();
        let outs = outputs.iter().map(|n| Some(g.value_named(n))).collect();
        let name = format!("{op_type}_{}", g.nodes.len());
        g.add_node(&name, op, ins, outs);
        self
    }

    pub fn output(&mut self, name: &str) -> &mut Self {
        let id = self.model.graph.value_named(name);
        self.model.graph.outputs.push(id);
        self
    }

    pub fn build(&mut self) -> Model {
        let mut m = std::mem::take(&mut self.model);
        m.graph.topo_sort().expect("test graph sorts");
        edgeopt_ir::infer::infer_types(&mut m.graph, self.opset).expect("test graph infers");
        m
    }
}

pub fn run(model: &Model, inputs: &[Tensor]) -> Vec<Tensor> {
    let vals = inputs.iter().cloned().map(Value::Tensor).collect();
    run_model(model, vals)
        .unwrap_or_else(|e| panic!("run: {e}"))
        .into_iter()
        .map(|v| v.as_tensor().cloned().expect("tensor output"))
        .collect()
}

/// Largest difference between `a` and `b`, relative to `b`'s largest magnitude (at least 1).
pub fn max_rel_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    assert_eq!(a.len(), b.len(), "output counts differ");
    let mut worst = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.shape(), y.shape(), "output shapes differ");
        let (xv, yv) = (x.to_f64_vec().unwrap(), y.to_f64_vec().unwrap());
        let scale = yv.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (p, q) in xv.iter().zip(&yv) {
            worst = worst.max((p - q).abs() / scale);
        }
    }
    worst
}

/// Runs the named passes (alone, to a fixed point) and checks the outputs on `inputs` stay
/// within 1e-5 of the original's. Returns the optimized model and the reports.
pub fn check_passes(model: &Model, passes: &[&str], inputs: &[Tensor]) -> (Model, Vec<PassReport>) {
    let before = run(model, inputs);
    let mut m = model.clone();
    let pipeline = Pipeline::new(Config {
        opt_level: 0,
        enable: passes.iter().map(|s| s.to_string()).collect(),
        verify: true,
        ..Config::default()
    })
    .expect("known passes");
    let reports = pipeline.run(&mut m).unwrap_or_else(|e| panic!("{e}"));
    m.graph.check().expect("valid graph");
    let after = run(&m, inputs);
    let d = max_rel_diff(&after, &before);
    assert!(d <= 1e-5, "outputs moved by {d} after {passes:?}");
    (m, reports)
}

/// Nodes of `op_type`.
pub fn count(m: &Model, op_type: &str) -> usize {
    m.graph
        .nodes
        .iter()
        .filter(|n| n.op_type() == op_type)
        .count()
}

/// `op_type: count` for every op, sorted: a compact picture of a graph.
pub fn histogram(m: &Model) -> String {
    let mut h: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &m.graph.nodes {
        *h.entry(n.op_type()).or_default() += 1;
    }
    h.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
