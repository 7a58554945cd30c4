//! edgeopt-ir: the typed graph IR every edgeopt tool works on.
//!
//! A [`Model`] holds a [`Graph`]: an arena of typed values and of nodes kept in topological
//! order. Each node holds a boxed [`Op`]: one struct per ONNX op, in `ops/<family>/<op>.rs`,
//! with its attributes as fields, type inference, a plain-Rust reference `eval` and a cost.
//! The [`exec`] module runs a graph with those reference evals; it is the oracle for faster
//! runtimes, not the fast path.

pub mod attr;
mod error;
pub mod exec;
mod graph;
pub mod infer;
pub mod op;
pub mod ops;
pub mod registry;
mod value;

pub use attr::{AttrList, Attribute, Attrs};
pub use error::{IrError, Result};
pub use graph::{Graph, Model, Node, NodeId, ValueId, ValueInfo};
pub use op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
pub use registry::{BuildCtx, Registry};
pub use value::{TensorType, Value, ValueType};
