//! Phase 3: lowering nodes to kernels.
//!
//! A [`LoweringRegistry`] maps (domain, op_type) to lowering functions. A function looks at
//! the node (its op, static shapes, constant inputs) and returns a [`Kernel`], or `None` when
//! it does not handle this case; the next function for the same key is tried, and a node no
//! function takes runs through the IR's reference `eval` (the fallback), so every model the
//! IR runs, the runtime runs.
//!
//! **Extension point**: other crates (int8, sparse kernels) call
//! [`LoweringRegistry::register`] on a registry from [`LoweringRegistry::with_defaults`] and
//! pass it in `SessionOptions::lowering`. Functions registered later are tried first.
//! The ONNX ops' lowerings live one op family per file in this module.

mod act;
mod alias;
mod binary;
mod concat;
mod conv;
pub mod conv_geometry;
mod conv_transpose;
mod depthwise;
mod fused_elementwise;
mod gather_map;
mod gemm;
mod gemv;
pub mod int8;
mod layer_norm;
mod matmul;
mod packed_conv;
mod pool;
mod reduce;
mod softmax;
mod sparse;
mod sparse_conv;
mod transpose;
mod unary;

pub use act::{kernel_activation, PostActivation};

use crate::{Kernel, Result};
use edgeopt_ir::{Node, Op};
use edgeopt_tensor::{DType, Tensor};
use std::collections::HashMap;

/// Static dtype and shape of a node input or output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorInfo {
    /// Element count.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// What a lowering function sees.
pub struct LowerCtx<'a> {
    pub node: &'a Node,
    pub opset: i64,
    /// Type of each input (`None`: omitted optional input).
    pub inputs: Vec<Option<TensorInfo>>,
    /// Type of each output (`None`: omitted).
    pub outputs: Vec<Option<TensorInfo>>,
    /// Constant value of each input, when known at build time (weights).
    pub consts: Vec<Option<Tensor>>,
    /// The input whose buffer output 0 reuses (the kernel must compute in place).
    pub inplace: Option<usize>,
}

impl<'a> LowerCtx<'a> {
    /// The node's op.
    pub fn op(&self) -> &'a dyn Op {
        self.node.op.as_ref()
    }

    /// Input `i`'s type (None when omitted).
    pub fn input(&self, i: usize) -> Option<&TensorInfo> {
        self.inputs.get(i).and_then(|t| t.as_ref())
    }

    /// Output `i`'s type.
    pub fn output(&self, i: usize) -> Option<&TensorInfo> {
        self.outputs.get(i).and_then(|t| t.as_ref())
    }

    /// Input `i`'s constant value.
    pub fn konst(&self, i: usize) -> Option<&Tensor> {
        self.consts.get(i).and_then(|t| t.as_ref())
    }

    /// Whether every present input and output is f32.
    pub fn all_f32(&self) -> bool {
        self.inputs
            .iter()
            .chain(&self.outputs)
            .flatten()
            .all(|t| t.dtype == DType::F32)
    }

    /// An attribute as exported by the op (`op.attributes()`), by name.
    pub fn attr(&self, name: &str) -> Option<edgeopt_ir::Attribute> {
        self.op()
            .attributes()
            .into_iter()
            .find_map(|(k, a)| (k == name).then_some(a))
    }

    /// An integer attribute with a default.
    pub fn attr_int(&self, name: &str, default: i64) -> i64 {
        match self.attr(name) {
            Some(edgeopt_ir::Attribute::Int(v)) => v,
            _ => default,
        }
    }
}

/// A lowering function: `Ok(None)` when it does not handle this node.
pub type LowerFn = fn(&LowerCtx) -> Result<Option<Box<dyn Kernel>>>;

/// Lowering functions by (domain, op_type).
#[derive(Clone, Default)]
pub struct LoweringRegistry {
    map: HashMap<(String, String), Vec<LowerFn>>,
}

impl std::fmt::Debug for LoweringRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<String> = self.map.keys().map(|(d, o)| format!("{d}::{o}")).collect();
        keys.sort();
        write!(f, "LoweringRegistry({})", keys.join(", "))
    }
}

impl LoweringRegistry {
    /// An empty registry: every node falls back to the reference eval.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in fp32 lowerings.
    pub fn with_defaults() -> Self {
        let mut r = Self::default();
        const FUSED: &str = "com.edgeopt";
        r.register("", "Conv", conv::lower);
        r.register(FUSED, "FusedConv", conv::lower);
        r.register("", "Gemm", gemm::lower);
        r.register(FUSED, "FusedGemm", gemm::lower);
        r.register("", "Gemm", sparse::lower_gemm);
        r.register(FUSED, "FusedGemm", sparse::lower_gemm);
        for (domain, op) in [("", "Conv"), (FUSED, "FusedConv")] {
            r.register(domain, op, sparse_conv::lower);
        }
        r.register("", "MatMul", matmul::lower);
        r.register(FUSED, "FusedMatMul", matmul::lower);
        for op in ["Add", "Sub", "Mul", "Div"] {
            r.register("", op, binary::lower);
        }
        for op in unary::OPS {
            r.register("", op, unary::lower);
        }
        for op in ["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"] {
            r.register("", op, alias::lower);
        }
        for op in [
            "MaxPool",
            "AveragePool",
            "GlobalAveragePool",
            "GlobalMaxPool",
        ] {
            r.register("", op, pool::lower);
        }
        for op in [
            "Slice",
            "Pad",
            "Resize",
            "Tile",
            "Expand",
            "Gather",
            "DepthToSpace",
            "SpaceToDepth",
        ] {
            r.register("", op, gather_map::lower);
        }
        for op in ["ReduceMean", "ReduceSum", "ReduceMax"] {
            r.register("", op, reduce::lower);
        }
        r.register("", "LayerNormalization", layer_norm::lower);
        r.register(FUSED, "FusedElementwise", fused_elementwise::lower);
        r.register("", "Softmax", softmax::lower);
        r.register("", "Concat", concat::lower);
        r.register("", "ConvTranspose", conv_transpose::lower);
        r.register("", "Transpose", transpose::lower);
        int8::register(&mut r);
        r
    }

    /// Adds `f` for (domain, op_type), tried before the ones registered earlier.
    pub fn register(&mut self, domain: &str, op_type: &str, f: LowerFn) {
        self.map
            .entry((domain.to_string(), op_type.to_string()))
            .or_default()
            .insert(0, f);
    }

    /// The first kernel a registered function makes for this node, if any.
    pub fn lower(&self, ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
        let key = (
            ctx.op().domain().to_string(),
            ctx.op().op_type().to_string(),
        );
        if let Some(fs) = self.map.get(&key) {
            for f in fs {
                if let Some(k) = f(ctx)? {
                    return Ok(Some(k));
                }
            }
        }
        Ok(None)
    }
}
