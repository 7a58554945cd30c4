//! The op interface. Each ONNX op is one struct in `ops/<family>/<op>.rs` implementing [`Op`].

use crate::attr::Attribute;
use crate::exec::Scope;
use crate::{bail, Graph, Result, TensorType, Value, ValueType};
use edgeopt_tensor::Tensor;
use std::any::Any;
use std::fmt::Debug;

/// What an op costs for one execution, from static shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Multiply-accumulates (Conv, Gemm, MatMul, ...).
    pub macs: u64,
    /// Other arithmetic operations (element-wise, reductions), one per output element by default.
    pub flops: u64,
    /// Elements of initializer inputs (weights).
    pub params: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        self.macs += o.macs;
        self.flops += o.flops;
        self.params += o.params;
        self.bytes_read += o.bytes_read;
        self.bytes_written += o.bytes_written;
    }
}

/// Inputs to shape and type inference.
pub struct InferCtx<'a> {
    pub opset: i64,
    /// Static types of the node's inputs (`Unknown` for an omitted optional input).
    pub inputs: &'a [ValueType],
    /// Constant values of inputs when known at inference time (initializers, folded constants).
    pub consts: &'a [Option<Tensor>],
    pub num_outputs: usize,
}

impl<'a> InferCtx<'a> {
    pub fn input(&self, i: usize) -> &ValueType {
        static UNKNOWN: ValueType = ValueType::Unknown;
        self.inputs.get(i).unwrap_or(&UNKNOWN)
    }

    pub fn tensor(&self, i: usize) -> TensorType {
        self.input(i).as_tensor().cloned().unwrap_or_default()
    }

    pub fn konst(&self, i: usize) -> Option<&Tensor> {
        self.consts.get(i).and_then(|c| c.as_ref())
    }
}

/// Inputs to cost estimation: the node's resolved input and output types.
pub struct CostCtx<'a> {
    pub inputs: &'a [TensorType],
    pub outputs: &'a [TensorType],
    /// Which inputs are initializers (their elements count as parameters).
    pub is_param: &'a [bool],
}

/// Element count of a static shape; saturates, since declared shapes may be absurd.
fn elems_of(t: &TensorType) -> u64 {
    t.concrete_shape()
        .map(|s| s.iter().fold(1u64, |acc, &d| acc.saturating_mul(d as u64)))
        .unwrap_or(0)
}

fn bytes_of(t: &TensorType) -> u64 {
    match t.dtype {
        Some(d) => elems_of(t).saturating_mul(d.size_of().max(1) as u64),
        None => 0,
    }
}

impl<'a> CostCtx<'a> {
    /// Memory traffic and parameter count, with no arithmetic: the default for data movement ops.
    pub fn movement(&self) -> Cost {
        let params = self
            .inputs
            .iter()
            .zip(self.is_param)
            .filter(|(_, &p)| p)
            .map(|(t, _)| elems_of(t))
            .sum();
        Cost {
            macs: 0,
            flops: 0,
            params,
            bytes_read: self.inputs.iter().map(bytes_of).sum(),
            bytes_written: self.outputs.iter().map(bytes_of).sum(),
        }
    }

    /// Movement plus `per_element` operations per output element: the default for compute ops.
    pub fn elementwise(&self, per_element: u64) -> Cost {
        Cost {
            flops: self.outputs.iter().map(elems_of).sum::<u64>() * per_element,
            ..self.movement()
        }
    }

    pub fn output_elems(&self, i: usize) -> u64 {
        self.outputs.get(i).map(elems_of).unwrap_or(0)
    }

    pub fn input_shape(&self, i: usize) -> Option<Vec<usize>> {
        self.inputs.get(i).and_then(|t| t.concrete_shape())
    }

    pub fn output_shape(&self, i: usize) -> Option<Vec<usize>> {
        self.outputs.get(i).and_then(|t| t.concrete_shape())
    }
}

/// The node's inputs at evaluation time. Omitted optional inputs are `None`.
pub struct Inputs<'a> {
    pub values: &'a [Option<Value>],
}

impl<'a> Inputs<'a> {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn value(&self, i: usize) -> Option<&Value> {
        self.values.get(i).and_then(|v| v.as_ref())
    }

    /// A required tensor input.
    pub fn tensor(&self, i: usize) -> Result<&Tensor> {
        match self.value(i) {
            Some(Value::Tensor(t)) => Ok(t),
            Some(other) => bail!("input {i} should be a tensor, got a {}", other.kind()),
            None => bail!("required input {i} is missing"),
        }
    }

    /// An optional tensor input (absent, or given as an empty name).
    pub fn opt_tensor(&self, i: usize) -> Result<Option<&Tensor>> {
        match self.value(i) {
            None => Ok(None),
            Some(Value::Tensor(t)) => Ok(Some(t)),
            Some(other) => bail!("input {i} should be a tensor, got a {}", other.kind()),
        }
    }
}

/// What an op may use while evaluating: opset, output count, and the scope for subgraphs.
pub struct EvalCtx<'a> {
    pub opset: i64,
    pub num_outputs: usize,
    pub scope: &'a Scope<'a>,
}

impl<'a> EvalCtx<'a> {
    /// Runs a subgraph (If/Loop/Scan body) with `inputs`, resolving captured outer values.
    pub fn run_subgraph(&self, graph: &Graph, inputs: Vec<Value>) -> Result<Vec<Value>> {
        crate::exec::run_scoped(graph, inputs, Some(self.scope), self.opset)
    }
}

/// One operator: attributes (the struct's fields), inference, reference evaluation and cost.
pub trait Op: OpBase + Debug + Send + Sync + 'static {
    /// ONNX op type, e.g. "Conv".
    fn op_type(&self) -> &str;

    /// ONNX domain ("" for the default domain).
    fn domain(&self) -> &str {
        ""
    }

    /// Output types from input types (and constant inputs where the op needs them).
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>>;

    /// Values computable from static types alone (Shape, Size), used to propagate constants
    /// through shape arithmetic during inference.
    fn fold_static(&self, _ctx: &InferCtx) -> Option<Vec<Tensor>> {
        None
    }

    /// Plain-Rust reference evaluation: straightforward, correct, not fast.
    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>>;

    /// Cost for one run. Default: memory traffic plus one operation per output element.
    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(1)
    }

    /// Attributes to export, in ONNX form.
    fn attributes(&self) -> Vec<(String, Attribute)> {
        Vec::new()
    }

    /// Subgraphs held by this op (If branches, Loop/Scan bodies).
    fn subgraphs(&self) -> Vec<&Graph> {
        Vec::new()
    }
}

/// Object-safety helpers implemented for every `Op + Clone`; ops never implement this by hand.
pub trait OpBase {
    fn clone_box(&self) -> Box<dyn Op>;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Op + Clone> OpBase for T {
    fn clone_box(&self) -> Box<dyn Op> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Clone for Box<dyn Op> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl dyn Op {
    /// Downcast to a concrete op, for passes that rewrite specific ops.
    pub fn downcast_ref<T: Op>(&self) -> Option<&T> {
        self.as_any().downcast_ref::<T>()
    }
}
