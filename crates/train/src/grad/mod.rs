//! Per-op gradient rules, one file per op (family). A rule sees the forward node and the
//! gradients of its outputs, emits backward nodes into the graph through [`GradCtx`], and
//! returns the gradient of each input (`None` where the input needs none or has none).

mod activation;
mod batch_norm;
mod concat;
mod conv;
mod dropout;
mod elementwise;
mod fake_quant;
mod gather;
mod gemm;
mod layer_norm;
mod matmul;
mod pool;
mod shape;
mod slice;
mod softmax;

use edgeopt_ir::{
    AttrList, Attrs, BuildCtx, Graph, IrError, Node, Op, Registry, Result, ValueId, ValueType,
};
use edgeopt_tensor::Tensor;

/// What a gradient rule works with.
pub struct GradCtx<'a> {
    pub graph: &'a mut Graph,
    /// The forward node (after training-mode rewrites).
    pub node: Node,
    pub opset: i64,
    /// For each input of `node`: does the loss gradient have to flow into it?
    pub needs: Vec<bool>,
    counter: &'a mut usize,
}

impl<'a> GradCtx<'a> {
    pub fn new(
        graph: &'a mut Graph,
        node: Node,
        opset: i64,
        needs: Vec<bool>,
        counter: &'a mut usize,
    ) -> Self {
        GradCtx {
            graph,
            node,
            opset,
            needs,
            counter,
        }
    }

    /// Forward input `i` (error if omitted).
    pub fn input(&self, i: usize) -> Result<ValueId> {
        self.node.inputs.get(i).copied().flatten().ok_or_else(|| {
            IrError::Op(format!(
                "gradient of '{}' ({}): input {i} is missing",
                self.node.name,
                self.node.op_type()
            ))
        })
    }

    /// Forward input `i`, if present.
    pub fn opt_input(&self, i: usize) -> Option<ValueId> {
        self.node.inputs.get(i).copied().flatten()
    }

    /// Forward output `i`.
    pub fn output(&self, i: usize) -> Result<ValueId> {
        self.node.outputs.get(i).copied().flatten().ok_or_else(|| {
            IrError::Op(format!(
                "gradient of '{}' ({}): output {i} is missing",
                self.node.name,
                self.node.op_type()
            ))
        })
    }

    /// Does input `i` need a gradient?
    pub fn need(&self, i: usize) -> bool {
        self.needs.get(i).copied().unwrap_or(false)
    }

    /// Appends a node running `op` on `inputs`, with `n_out` fresh outputs.
    pub fn emit(
        &mut self,
        op: Box<dyn Op>,
        inputs: &[Option<ValueId>],
        n_out: usize,
    ) -> Vec<ValueId> {
        *self.counter += 1;
        let base = format!("grad{}_{}_{}", self.counter, self.node.name, op.op_type());
        let outs: Vec<ValueId> = (0..n_out)
            .map(|k| {
                self.graph
                    .add_value(&format!("{base}_{k}"), ValueType::Unknown)
            })
            .collect();
        self.graph.add_node(
            &base,
            op,
            inputs.to_vec(),
            outs.iter().map(|&o| Some(o)).collect(),
        );
        outs
    }

    /// Like [`emit`](Self::emit) with a single output and all inputs present.
    pub fn emit1(&mut self, op: Box<dyn Op>, inputs: &[ValueId]) -> ValueId {
        let ins: Vec<Option<ValueId>> = inputs.iter().map(|&v| Some(v)).collect();
        self.emit(op, &ins, 1)[0]
    }

    /// A standard ONNX op built through the IR registry.
    pub fn onnx(&mut self, op_type: &str, attrs: AttrList, inputs: &[ValueId]) -> Result<ValueId> {
        let op = build_onnx(op_type, attrs, inputs.len(), self.opset)?;
        Ok(self.emit1(op, inputs))
    }

    /// A new f32 constant (initializer).
    pub fn constant(&mut self, name: &str, t: Tensor) -> ValueId {
        *self.counter += 1;
        self.graph.add_initializer(
            &format!("grad{}_{}_{name}", self.counter, self.node.name),
            t,
        )
    }

    /// The constant value of forward input `i`, if it is an initializer.
    pub fn const_input(&self, i: usize) -> Option<&Tensor> {
        self.opt_input(i)
            .and_then(|v| self.graph.initializers.get(&v))
    }

    /// An error naming this node.
    pub fn unsupported(&self, why: &str) -> IrError {
        IrError::Op(format!(
            "cannot differentiate '{}' ({}): {why}",
            self.node.name,
            self.node.op_type()
        ))
    }
}

/// Builds a default-domain ONNX op from attributes.
pub fn build_onnx(
    op_type: &str,
    attrs: AttrList,
    num_inputs: usize,
    opset: i64,
) -> Result<Box<dyn Op>> {
    let mut a = Attrs::new(attrs.0.into_iter().collect());
    let mut ctx = BuildCtx {
        opset,
        attrs: &mut a,
        num_inputs,
        num_outputs: 1,
    };
    Registry::global().build("", op_type, &mut ctx)
}

/// Gradient of one forward node: `dys[k]` is the gradient of output `k`, if any.
pub fn differentiate(ctx: &mut GradCtx, dys: &[Option<ValueId>]) -> Result<Vec<Option<ValueId>>> {
    let dy = |k: usize| dys.get(k).copied().flatten();
    let domain = ctx.node.op.domain().to_string();
    let op_type = ctx.node.op_type().to_string();
    if dys.iter().skip(1).any(|d| d.is_some())
        && !matches!(op_type.as_str(), "BatchNormTrain" | "DropoutTrain")
    {
        return Err(ctx.unsupported("gradients of secondary outputs are not supported"));
    }
    let Some(g) = dy(0) else {
        return Ok(vec![None; ctx.node.inputs.len()]);
    };
    match (domain.as_str(), op_type.as_str()) {
        ("", "Conv") => conv::grad(ctx, g),
        ("", "Gemm") => gemm::grad(ctx, g),
        ("", "MatMul") => matmul::grad(ctx, g),
        ("", "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "HardSwish" | "HardSigmoid" | "Clip") => {
            activation::grad(ctx, g)
        }
        ("", "MaxPool" | "AveragePool" | "GlobalAveragePool") => pool::grad(ctx, g),
        (crate::ops::DOMAIN, "BatchNormTrain") | ("", "BatchNormalization") => {
            batch_norm::grad(ctx, g)
        }
        ("", "Softmax" | "LogSoftmax") => softmax::grad(ctx, g),
        ("", "LayerNormalization") => layer_norm::grad(ctx, g),
        ("", "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Transpose" | "Identity") => {
            shape::grad(ctx, g)
        }
        ("", "Concat") => concat::grad(ctx, g),
        ("", "Slice") => slice::grad(ctx, g),
        ("", "Gather") => gather::grad(ctx, g),
        ("", "Add" | "Sub" | "Mul" | "Div") => elementwise::grad(ctx, g),
        ("", "Dropout") | (crate::ops::DOMAIN, "DropoutTrain") => dropout::grad(ctx, g),
        (crate::ops::DOMAIN, "FakeQuant") => fake_quant::grad(ctx, g),
        _ => Err(ctx.unsupported("no gradient rule for this op")),
    }
}
