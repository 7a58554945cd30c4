//! Which nodes and tensors static quantization touches, following ONNX Runtime's QDQ format:
//! a quantized node reads DequantizeLinear outputs and its float output goes through a
//! QuantizeLinear/DequantizeLinear pair. Weights of Conv / ConvTranspose / Gemm / MatMul are
//! int8 initializers behind a DequantizeLinear; a 1-D bias is int32 with scale `s_x * s_w`.
//! A Relu or Clip right after a quantized node joins its group: the pair goes after the
//! activation, so an int8 runtime fuses it (as ORT drops it).

use edgeopt_ir::{Graph, NodeId, ValueId};
use edgeopt_tensor::DType;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How a node type is quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Weighted op: `(weight input, bias input)`, quantized when they are initializers.
    Weighted { weight: usize, bias: Option<usize> },
    /// Float inputs and outputs quantized independently (Add, Concat, pooling ...).
    Arith,
    /// Data movement: input 0 quantized, the output reuses its scale and zero point.
    PassThrough,
}

/// The quantization kind of an op type, or `None` when it stays in float.
pub fn kind_of(op_type: &str) -> Option<Kind> {
    Some(match op_type {
        "Conv" | "ConvTranspose" => Kind::Weighted {
            weight: 1,
            bias: Some(2),
        },
        "Gemm" => Kind::Weighted {
            weight: 1,
            bias: Some(2),
        },
        "MatMul" => Kind::Weighted {
            weight: 1,
            bias: None,
        },
        "Add" | "Mul" | "Concat" | "AveragePool" | "GlobalAveragePool" | "Sigmoid"
        | "HardSigmoid" | "HardSwish" | "LeakyRelu" | "Softmax" => Kind::Arith,
        "MaxPool" | "Resize" | "Reshape" | "Transpose" | "Flatten" | "Squeeze" | "Unsqueeze" => {
            Kind::PassThrough
        }
        _ => return None,
    })
}

/// A weight to quantize and the axis of its per-channel parameters (`None`: per tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightPlan {
    pub value: ValueId,
    pub axis: Option<usize>,
}

/// A bias to store as int32 with scale `scale(input) * scale(weight)`.
#[derive(Clone, Debug, PartialEq)]
pub struct BiasPlan {
    pub value: ValueId,
    pub input: ValueId,
    pub weight: ValueId,
}

/// Everything static quantization will rewrite.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Quantized nodes (group heads), by name.
    pub nodes: Vec<String>,
    /// Activation tensors getting a Q/DQ pair, in graph order.
    pub activations: Vec<ValueId>,
    /// Activations whose parameters are copied from another's (pass-through ops).
    pub shared: HashMap<ValueId, ValueId>,
    pub weights: BTreeMap<ValueId, WeightPlan>,
    pub biases: BTreeMap<ValueId, BiasPlan>,
    /// Constant float inputs of arithmetic ops, quantized per tensor like weights.
    pub constants: BTreeMap<ValueId, WeightPlan>,
}

/// Which nodes to quantize: `include` (empty: all) and `exclude`, each a node name or op type.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Selection {
    pub fn selects(&self, name: &str, op_type: &str) -> bool {
        let hit = |l: &[String]| l.iter().any(|s| s == name || s == op_type);
        (self.include.is_empty() || hit(&self.include)) && !hit(&self.exclude)
    }

    /// Explicitly excluded: the node computes in float on unquantized inputs.
    pub fn excludes(&self, name: &str, op_type: &str) -> bool {
        self.exclude.iter().any(|s| s == name || s == op_type)
    }
}

fn is_f32(g: &Graph, v: ValueId) -> bool {
    g.value(v).ty.dtype() == Some(DType::F32)
}

/// Channel axis of a weight for per-channel parameters.
fn weight_axis(g: &Graph, node: NodeId) -> Option<usize> {
    let n = g.node(node);
    let w = n.inputs.get(1).copied().flatten()?;
    let rank = g.initializers.get(&w)?.rank();
    let attr_int = |name: &str| {
        n.op.attributes()
            .into_iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, a)| match a {
                edgeopt_ir::Attribute::Int(i) => Some(i),
                _ => None,
            })
    };
    match n.op_type() {
        "Conv" => Some(0),
        "ConvTranspose" => (attr_int("group").unwrap_or(1) == 1).then_some(1),
        "Gemm" => Some(if attr_int("transB").unwrap_or(0) != 0 {
            0
        } else {
            1
        }),
        "MatMul" if rank >= 2 => Some(rank - 1),
        _ => None,
    }
}

/// Consumers of each value.
pub fn consumers(g: &Graph) -> HashMap<ValueId, Vec<NodeId>> {
    let mut c: HashMap<ValueId, Vec<NodeId>> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        for v in n.inputs.iter().flatten().chain(&n.implicit_inputs) {
            c.entry(*v).or_default().push(NodeId(i as u32));
        }
    }
    c
}

/// The Relu / Clip (constant bounds) that alone reads `out`, if the pair can go after it.
fn fused_activation(
    g: &Graph,
    cons: &HashMap<ValueId, Vec<NodeId>>,
    out: ValueId,
) -> Option<NodeId> {
    if g.outputs.contains(&out) {
        return None;
    }
    let users = cons.get(&out)?;
    let [only] = users.as_slice() else {
        return None;
    };
    let n = g.node(*only);
    let ok = match n.op_type() {
        "Relu" => true,
        "Clip" => n.inputs[1..]
            .iter()
            .flatten()
            .all(|v| g.initializers.contains_key(v)),
        _ => false,
    };
    ok.then_some(*only)
}

/// Plans static quantization of `g` with per-channel weights when `per_channel`.
pub fn plan(g: &Graph, sel: &Selection, per_channel: bool) -> Plan {
    let cons = consumers(g);
    let mut p = Plan::default();
    let mut seen: HashSet<ValueId> = HashSet::new();
    let mut absorbed: HashSet<NodeId> = HashSet::new();
    let mut add_act = |p: &mut Plan, v: ValueId| {
        if seen.insert(v) {
            p.activations.push(v);
        }
    };
    for (i, n) in g.nodes.iter().enumerate() {
        let id = NodeId(i as u32);
        if absorbed.contains(&id) || !n.op.domain().is_empty() {
            continue;
        }
        let Some(kind) = kind_of(n.op_type()) else {
            continue;
        };
        if !sel.selects(&n.name, n.op_type()) {
            continue;
        }
        let is_init = |v: &ValueId| g.initializers.contains_key(v);
        let inputs: Vec<(usize, ValueId)> = n
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .filter(|&(_, v)| is_f32(g, v))
            .collect();
        let outs: Vec<ValueId> = n
            .outputs
            .iter()
            .flatten()
            .copied()
            .filter(|&v| is_f32(g, v))
            .collect();
        if outs.is_empty() {
            continue;
        }
        match kind {
            Kind::Weighted { weight, bias } => {
                let Some(&(_, x)) = inputs.iter().find(|(k, _)| *k == 0) else {
                    continue;
                };
                if is_init(&x) {
                    continue;
                }
                add_act(&mut p, x);
                let w = n.inputs.get(weight).copied().flatten();
                match w {
                    Some(w) if is_init(&w) && is_f32(g, w) => {
                        let axis = if per_channel {
                            weight_axis(g, id)
                        } else {
                            None
                        };
                        let prev = p.weights.insert(w, WeightPlan { value: w, axis });
                        if prev.is_some_and(|q| q.axis != axis) {
                            p.weights.insert(
                                w,
                                WeightPlan {
                                    value: w,
                                    axis: None,
                                },
                            );
                        }
                        let b = bias.and_then(|k| n.inputs.get(k).copied().flatten());
                        if let Some(b) = b {
                            let one_d = g.initializers.get(&b).is_some_and(|t| t.rank() == 1);
                            let gemm_ok = n.op_type() != "Gemm" || gemm_plain(n);
                            if one_d && is_f32(g, b) && gemm_ok && !p.biases.contains_key(&b) {
                                p.biases.insert(
                                    b,
                                    BiasPlan {
                                        value: b,
                                        input: x,
                                        weight: w,
                                    },
                                );
                            }
                        }
                    }
                    Some(w) if !is_init(&w) && is_f32(g, w) => add_act(&mut p, w),
                    _ => continue,
                }
            }
            Kind::Arith => {
                let data_inputs: &[usize] = match n.op_type() {
                    "Add" | "Mul" => &[0, 1],
                    "Concat" => &[],
                    _ => &[0],
                };
                for &(k, v) in &inputs {
                    if !data_inputs.is_empty() && !data_inputs.contains(&k) {
                        continue;
                    }
                    if is_init(&v) {
                        if g.initializers
                            .get(&v)
                            .is_some_and(|t| t.dtype() == DType::F32)
                        {
                            p.constants.entry(v).or_insert(WeightPlan {
                                value: v,
                                axis: None,
                            });
                        }
                    } else {
                        add_act(&mut p, v);
                    }
                }
            }
            Kind::PassThrough => {
                let Some(&(0, x)) = inputs.first() else {
                    continue;
                };
                if is_init(&x) || outs.len() != 1 {
                    continue;
                }
                add_act(&mut p, x);
                p.shared.insert(outs[0], x);
            }
        }
        p.nodes.push(n.name.clone());
        for o in outs {
            let mut q = o;
            if kind != Kind::PassThrough {
                while let Some(act) = fused_activation(g, &cons, q) {
                    absorbed.insert(act);
                    match g.node(act).outputs.first().copied().flatten() {
                        Some(next) => q = next,
                        None => break,
                    }
                }
            }
            if q != o {
                p.shared.remove(&o);
            }
            add_act(&mut p, q);
        }
    }
    // Excluded nodes read exact float inputs (so a layer moved back to float by the fallback
    // is really float, not fed by its quantized neighbours' Q/DQ pairs).
    let float_inputs: HashSet<ValueId> = g
        .nodes
        .iter()
        .filter(|n| n.op.domain().is_empty() && sel.excludes(&n.name, n.op_type()))
        .flat_map(|n| n.inputs.iter().flatten().copied())
        .collect();
    p.activations.retain(|v| !float_inputs.contains(v));
    // Shared parameters only make sense when the source is itself quantized.
    let acts: HashSet<ValueId> = p.activations.iter().copied().collect();
    p.shared.retain(|_, src| acts.contains(src));
    p
}

/// A Gemm whose bias maps onto int32 accumulators: alpha = beta = 1, A not transposed.
fn gemm_plain(n: &edgeopt_ir::Node) -> bool {
    n.op.attributes()
        .into_iter()
        .all(|(k, a)| match (k.as_str(), a) {
            ("alpha" | "beta", edgeopt_ir::Attribute::Float(f)) => f == 1.0,
            ("transA", edgeopt_ir::Attribute::Int(i)) => i == 0,
            _ => true,
        })
}
