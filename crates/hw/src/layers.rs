//! One [`Layer`] per node of an (optimized, type-inferred) graph: its kernel class, MACs and
//! the bytes it moves at a target precision and weight density. Element counts come from the
//! inferred types; MACs from the IR's per-node cost (`edgeopt_ir::infer::node_costs`).

use crate::profile::Precision;
use crate::{HwError, Result};
use edgeopt_ir::infer::{node_costs, weight_values};
use edgeopt_ir::{Graph, Node};
use serde::Serialize;

/// The kernel family a layer runs on: cost models are per class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelClass {
    /// 1x1 convolution: a plain GEMM on the activations, no im2col.
    Conv1x1,
    /// KxK dense (or grouped) convolution through im2col + GEMM.
    ConvKxK,
    /// 3x3 stride-1 convolution as Winograd F(2x2, 3x3) (devices with `compute.winograd`).
    Winograd,
    /// Depthwise convolution (one filter per channel): little reuse, often memory bound.
    Depthwise,
    /// Gemm / MatMul (fully connected layers).
    Gemm,
    /// Element-wise and normalization ops (activations, adds, fused element-wise chains).
    Elementwise,
    /// Pooling and reductions.
    Pool,
    /// Copies (Transpose, Concat, Slice, Gather, Pad, Resize, ...).
    Movement,
    /// Metadata-only ops (Reshape, Flatten, Squeeze, Shape, ...): no work.
    Free,
}

impl KernelClass {
    pub const ALL: [KernelClass; 9] = [
        KernelClass::Conv1x1,
        KernelClass::ConvKxK,
        KernelClass::Winograd,
        KernelClass::Depthwise,
        KernelClass::Gemm,
        KernelClass::Elementwise,
        KernelClass::Pool,
        KernelClass::Movement,
        KernelClass::Free,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KernelClass::Conv1x1 => "conv1x1",
            KernelClass::ConvKxK => "conv_kxk",
            KernelClass::Winograd => "winograd",
            KernelClass::Depthwise => "depthwise",
            KernelClass::Gemm => "gemm",
            KernelClass::Elementwise => "elementwise",
            KernelClass::Pool => "pool",
            KernelClass::Movement => "movement",
            KernelClass::Free => "free",
        }
    }

    pub fn from_name(s: &str) -> Option<KernelClass> {
        KernelClass::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Whether the layer's MACs run as a matrix product (GEMM, convolutions).
    pub fn is_matmul(self) -> bool {
        matches!(
            self,
            KernelClass::Conv1x1
                | KernelClass::ConvKxK
                | KernelClass::Winograd
                | KernelClass::Depthwise
                | KernelClass::Gemm
        )
    }
}

/// The GEMM view of a matmul-class layer (im2col for convolutions), per group:
/// `[m x k] * [k x n]`, repeated `groups` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GemmDims {
    pub m: u64,
    pub k: u64,
    pub n: u64,
    pub groups: u64,
}

/// One node's work at a precision and density.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Layer {
    pub name: String,
    pub op_type: String,
    pub class: KernelClass,
    /// Multiply-accumulates after sparsity (`density` of the dense count).
    pub macs: u64,
    /// Other operations (bias adds, activations, element-wise arithmetic).
    pub flops: u64,
    pub act_in_bytes: u64,
    pub act_out_bytes: u64,
    /// Weight bytes after sparsity, at the target precision.
    pub weight_bytes: u64,
    pub out_elems: u64,
    pub gemm: Option<GemmDims>,
}

const FREE_OPS: &[&str] = &[
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Identity",
    "Shape",
    "Size",
    "Constant",
    "Dropout",
];
const MOVEMENT_OPS: &[&str] = &[
    "Transpose",
    "Concat",
    "Slice",
    "Gather",
    "Pad",
    "Resize",
    "Upsample",
    "Split",
    "Tile",
    "Expand",
    "DepthToSpace",
    "SpaceToDepth",
    "Cast",
    "ConstantOfShape",
];
const POOL_OPS: &[&str] = &[
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "ReduceMean",
    "ReduceMax",
    "ReduceSum",
    "ReduceMin",
    "LpPool",
];

/// Bytes of a tensor at the target precision: float tensors take the precision's size,
/// others (indices, shapes) keep theirs.
fn bytes_at(g: &Graph, v: edgeopt_ir::ValueId, p: Precision) -> u64 {
    let ty = &g.value(v).ty;
    let elems = ty
        .as_tensor()
        .and_then(|t| t.concrete_shape())
        .map(|s| s.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64)))
        .unwrap_or(0);
    match ty.dtype() {
        Some(d) if d.is_float() => elems.saturating_mul(p.bytes()),
        Some(d) => elems.saturating_mul(d.size_of().max(1) as u64),
        None => 0,
    }
}

fn shape(g: &Graph, v: Option<edgeopt_ir::ValueId>) -> Option<Vec<usize>> {
    v.and_then(|v| g.value(v).ty.as_tensor().and_then(|t| t.concrete_shape()))
}

fn classify(g: &Graph, n: &Node, macs: u64, out_elems: u64, winograd: bool) -> KernelClass {
    let op = n.op_type();
    if op == "Conv" || op == "FusedConv" {
        let (x, w, y) = (
            shape(g, n.inputs.first().copied().flatten()),
            shape(g, n.inputs.get(1).copied().flatten()),
            shape(g, n.outputs.first().copied().flatten()),
        );
        let (Some(x), Some(w), Some(y)) = (x, w, y) else {
            return KernelClass::ConvKxK;
        };
        if x.len() < 3 || w.len() != x.len() || y.len() != x.len() {
            return KernelClass::ConvKxK;
        }
        let groups = x[1].checked_div(w[1]).unwrap_or(1);
        if groups > 1 && w[1] == 1 {
            return KernelClass::Depthwise;
        }
        if w[2..].iter().all(|&k| k == 1) {
            return KernelClass::Conv1x1;
        }
        let same_size = x[2..].iter().zip(&y[2..]).all(|(a, b)| a == b);
        if winograd && groups == 1 && w[2..].iter().all(|&k| k == 3) && same_size {
            return KernelClass::Winograd;
        }
        return KernelClass::ConvKxK;
    }
    if matches!(op, "Gemm" | "MatMul" | "FusedGemm" | "FusedMatMul") {
        return KernelClass::Gemm;
    }
    if FREE_OPS.contains(&op) {
        return KernelClass::Free;
    }
    if MOVEMENT_OPS.contains(&op) {
        return KernelClass::Movement;
    }
    if POOL_OPS.contains(&op) {
        return KernelClass::Pool;
    }
    if macs > 0 && out_elems > 0 {
        return KernelClass::Gemm;
    }
    KernelClass::Elementwise
}

fn gemm_dims(g: &Graph, n: &Node, class: KernelClass, macs: u64) -> Option<GemmDims> {
    let y = shape(g, n.outputs.first().copied().flatten())?;
    let out: u64 = y.iter().map(|&d| d as u64).product();
    if out == 0 || macs == 0 || y.len() < 2 {
        return None;
    }
    let k = macs / out;
    if class == KernelClass::Gemm {
        let nn = *y.last()? as u64;
        return Some(GemmDims {
            m: out / nn.max(1),
            k,
            n: nn,
            groups: 1,
        });
    }
    let x = shape(g, n.inputs.first().copied().flatten())?;
    let w = shape(g, n.inputs.get(1).copied().flatten())?;
    let groups = x
        .get(1)
        .zip(w.get(1))
        .and_then(|(a, b)| a.checked_div(*b))
        .unwrap_or(1) as u64;
    let cout = y[1] as u64;
    Some(GemmDims {
        m: out / cout.max(1),
        k,
        n: cout / groups.max(1),
        groups: groups.max(1),
    })
}

/// Extracts the layers of `graph` (types inferred) at precision `p` with weight `density` in
/// (0, 1] (structured sparsity: MACs and weights shrink by it). `winograd`: classify 3x3
/// stride-1 convolutions as Winograd (their MACs drop 2.25x).
pub fn extract(graph: &Graph, p: Precision, density: f64, winograd: bool) -> Result<Vec<Layer>> {
    if !(density > 0.0 && density <= 1.0) {
        return Err(HwError::Invalid(format!(
            "sparsity must be in [0, 1), got density {density}"
        )));
    }
    let costs = node_costs(graph);
    let weights = weight_values(graph);
    let mut layers = Vec::with_capacity(graph.nodes.len());
    for (n, c) in graph.nodes.iter().zip(&costs) {
        let out_elems: u64 = n
            .outputs
            .iter()
            .flatten()
            .filter_map(|&v| shape(graph, Some(v)))
            .map(|s| s.iter().map(|&d| d as u64).product::<u64>())
            .sum();
        let class = classify(graph, n, c.macs, out_elems, winograd);
        let (mut act_in, mut w_bytes) = (0u64, 0u64);
        for v in n.inputs.iter().flatten() {
            let b = bytes_at(graph, *v, p);
            if weights[v.0 as usize] {
                w_bytes += b;
            } else {
                act_in += b;
            }
        }
        let act_out = n
            .outputs
            .iter()
            .flatten()
            .map(|&v| bytes_at(graph, v, p))
            .sum();
        let mut macs = (c.macs as f64 * density).round() as u64;
        if class == KernelClass::Winograd {
            macs = (macs as f64 / 2.25).round() as u64;
        }
        let gemm = if class.is_matmul() {
            gemm_dims(graph, n, class, c.macs)
        } else {
            None
        };
        layers.push(Layer {
            name: n.name.clone(),
            op_type: n.op_type().to_string(),
            class,
            macs,
            flops: c.flops,
            act_in_bytes: act_in,
            act_out_bytes: act_out,
            weight_bytes: (w_bytes as f64 * density).round() as u64,
            out_elems,
            gemm,
        });
    }
    Ok(layers)
}
