//! `NetBuilder`: adds layers to an IR graph with seeded He-initialized weights stored as
//! initializers (named like PyTorch parameters: `conv1.weight`, `bn1.running_mean`, ...).

use crate::{BatchDim, Result, ZooError};
use edgeopt_data::SplitMix64;
use edgeopt_ir::attr::Attrs;
use edgeopt_ir::{Attribute, BuildCtx, Model, Registry, ValueId, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

/// Default-domain opset the zoo writes.
pub const OPSET: i64 = 13;

/// Builds a CNN/MLP graph layer by layer. Values are addressed by [`ValueId`]; shapes are
/// tracked by the caller (the model files know their channel counts).
pub struct NetBuilder {
    model: Model,
    seed: u64,
    params: u64,
    relu6_bounds: Option<(ValueId, ValueId)>,
}

impl NetBuilder {
    /// A graph named `name` with one f32 input `input` of shape `[batch, ...chw]`.
    pub fn new(name: &str, chw: &[usize], batch: &BatchDim, seed: u64) -> (Self, ValueId) {
        let mut model = Model {
            opsets: vec![(String::new(), OPSET)],
            ir_version: 8,
            producer_name: "edgeopt-zoo".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        };
        model.graph.name = name.to_string();
        let mut shape = vec![match batch {
            BatchDim::Fixed(b) => Dim::Known(*b),
            BatchDim::Symbolic(s) => Dim::Sym(s.clone()),
        }];
        shape.extend(chw.iter().map(|&d| Dim::Known(d)));
        let x = model
            .graph
            .add_value("input", ValueType::tensor(DType::F32, shape));
        model.graph.inputs.push(x);
        let b = NetBuilder {
            model,
            seed,
            params: 0,
            relu6_bounds: None,
        };
        (b, x)
    }

    /// Adds one node of the default domain, built by the IR registry (as import would).
    pub fn op(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[ValueId],
        attrs: Vec<(&str, Attribute)>,
    ) -> Result<ValueId> {
        let mut attrs = Attrs::new(attrs.into_iter().map(|(k, a)| (k.to_string(), a)).collect());
        let op = Registry::global()
            .build(
                "",
                op_type,
                &mut BuildCtx {
                    opset: OPSET,
                    attrs: &mut attrs,
                    num_inputs: inputs.len(),
                    num_outputs: 1,
                },
            )
            .map_err(|e| ZooError::Ir(format!("building {op_type} '{name}': {e}")))?;
        let g = &mut self.model.graph;
        let out = g.add_value(name, ValueType::Unknown);
        g.add_node(
            name,
            op,
            inputs.iter().map(|&v| Some(v)).collect(),
            vec![Some(out)],
        );
        Ok(out)
    }

    /// A weight drawn from N(0, std^2), seeded per parameter tensor.
    fn normal(&mut self, name: &str, shape: Vec<usize>, std: f64) -> Result<ValueId> {
        self.params += 1;
        let mut rng = SplitMix64::derive(self.seed, &[self.params]);
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| (rng.normal() * std) as f32).collect();
        self.init(name, Tensor::from_vec(shape, v)?)
    }

    fn filled(&mut self, name: &str, n: usize, v: f32) -> Result<ValueId> {
        self.init(name, Tensor::from_vec(vec![n], vec![v; n])?)
    }

    fn init(&mut self, name: &str, t: Tensor) -> Result<ValueId> {
        Ok(self.model.graph.add_initializer(name, t))
    }

    /// `Conv` with He-normal weights `[cout, cin/groups, k, k]` (fan-in mode) and, when `bias`,
    /// a zero bias. Padding is symmetric.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        x: ValueId,
        name: &str,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
        groups: usize,
        bias: bool,
    ) -> Result<ValueId> {
        if groups == 0 || !cin.is_multiple_of(groups) || !cout.is_multiple_of(groups) {
            return Err(ZooError::Invalid(format!(
                "{name}: {cin} -> {cout} channels do not split into {groups} groups"
            )));
        }
        let fan_in = cin / groups * k * k;
        let w = self.normal(
            &format!("{name}.weight"),
            vec![cout, cin / groups, k, k],
            (2.0 / fan_in as f64).sqrt(),
        )?;
        let mut inputs = vec![x, w];
        if bias {
            inputs.push(self.filled(&format!("{name}.bias"), cout, 0.0)?);
        }
        let (k, s, p) = (k as i64, stride as i64, pad as i64);
        self.op(
            "Conv",
            name,
            &inputs,
            vec![
                ("kernel_shape", Attribute::Ints(vec![k, k])),
                ("strides", Attribute::Ints(vec![s, s])),
                ("pads", Attribute::Ints(vec![p, p, p, p])),
                ("group", Attribute::Int(groups as i64)),
            ],
        )
    }

    /// Inference-mode `BatchNormalization` initialized as PyTorch does: scale 1, bias 0,
    /// running mean 0, running variance 1, epsilon 1e-5, momentum 0.9.
    pub fn batch_norm(&mut self, x: ValueId, name: &str, c: usize) -> Result<ValueId> {
        let scale = self.filled(&format!("{name}.weight"), c, 1.0)?;
        let bias = self.filled(&format!("{name}.bias"), c, 0.0)?;
        let mean = self.filled(&format!("{name}.running_mean"), c, 0.0)?;
        let var = self.filled(&format!("{name}.running_var"), c, 1.0)?;
        self.op(
            "BatchNormalization",
            name,
            &[x, scale, bias, mean, var],
            vec![
                ("epsilon", Attribute::Float(1e-5)),
                ("momentum", Attribute::Float(0.9)),
            ],
        )
    }

    pub fn relu(&mut self, x: ValueId, name: &str) -> Result<ValueId> {
        self.op("Relu", name, &[x], vec![])
    }

    /// ReLU6 as `Clip(x, 0, 6)` (opset 13: bounds are inputs, shared scalar initializers).
    pub fn relu6(&mut self, x: ValueId, name: &str) -> Result<ValueId> {
        let (lo, hi) = match self.relu6_bounds {
            Some(b) => b,
            None => {
                let lo = self.init("relu6.min", Tensor::scalar(0f32))?;
                let hi = self.init("relu6.max", Tensor::scalar(6f32))?;
                self.relu6_bounds = Some((lo, hi));
                (lo, hi)
            }
        };
        self.op("Clip", name, &[x, lo, hi], vec![])
    }

    pub fn max_pool(&mut self, x: ValueId, name: &str, k: usize, stride: usize) -> Result<ValueId> {
        let (k, s) = (k as i64, stride as i64);
        self.op(
            "MaxPool",
            name,
            &[x],
            vec![
                ("kernel_shape", Attribute::Ints(vec![k, k])),
                ("strides", Attribute::Ints(vec![s, s])),
            ],
        )
    }

    pub fn global_avg_pool(&mut self, x: ValueId, name: &str) -> Result<ValueId> {
        self.op("GlobalAveragePool", name, &[x], vec![])
    }

    /// `Flatten(axis=1)`: `[N, ...] -> [N, prod]`.
    pub fn flatten(&mut self, x: ValueId, name: &str) -> Result<ValueId> {
        self.op("Flatten", name, &[x], vec![("axis", Attribute::Int(1))])
    }

    /// Fully connected `Gemm(x, W^T) + b` with `W: [out, inp]` (transB = 1, PyTorch layout),
    /// He-normal weights and zero bias.
    pub fn linear(&mut self, x: ValueId, name: &str, inp: usize, out: usize) -> Result<ValueId> {
        let w = self.normal(
            &format!("{name}.weight"),
            vec![out, inp],
            (2.0 / inp as f64).sqrt(),
        )?;
        let b = self.filled(&format!("{name}.bias"), out, 0.0)?;
        self.op(
            "Gemm",
            name,
            &[x, w, b],
            vec![("transB", Attribute::Int(1))],
        )
    }

    pub fn add(&mut self, a: ValueId, b: ValueId, name: &str) -> Result<ValueId> {
        self.op("Add", name, &[a, b], vec![])
    }

    /// Marks `out` as the graph output (renamed `logits`), sorts, checks and infers types.
    pub fn finish(mut self, out: ValueId, metadata: Vec<(String, String)>) -> Result<Model> {
        let g = &mut self.model.graph;
        let old = g.value(out).name.clone();
        if g.find("logits").is_some() {
            return Err(ZooError::Ir(format!(
                "value '{old}' cannot be renamed to logits"
            )));
        }
        g.value_mut(out).name = "logits".into();
        g.reindex();
        g.outputs.push(out);
        g.topo_sort().map_err(|e| ZooError::Ir(e.to_string()))?;
        g.check().map_err(|e| ZooError::Ir(e.to_string()))?;
        edgeopt_ir::infer::infer_types(g, OPSET).map_err(|e| ZooError::Ir(e.to_string()))?;
        self.model.metadata = metadata;
        Ok(self.model)
    }
}
