//! edgeopt-runtime: runs ONNX models fast on the CPU.
//!
//! Building a [`Session`] goes through fixed phases, each in its own module:
//! 1. [`prepare`]: fix input shapes, optimize the graph (`edgeopt_passes::optimize`), re-infer
//!    types, and fold every node whose inputs are all constants (once, at build time);
//! 2. [`plan`]: the static memory plan: the liveness of every intermediate tensor over the
//!    schedule, in-place reuse and zero-copy aliases, and one arena with offsets placed
//!    greedy-by-size ([`plan::plan_memory`] is the single source of truth for peak memory);
//! 3. [`lower`]: each node becomes a [`Kernel`] through a [`LoweringRegistry`] keyed by
//!    (domain, op_type); ops without a fast kernel run through the IR's reference `eval`;
//! 4. [`exec`]: the executor runs the kernels over precomputed views into the arena: no
//!    lookups, no allocations per run once warmed up (for models whose ops all have fast
//!    kernels).
//!
//! ```no_run
//! use edgeopt_runtime::{Session, SessionOptions};
//! let mut s = Session::from_path("model.onnx", SessionOptions::default())?;
//! let x = edgeopt_tensor::Tensor::zeros(edgeopt_tensor::DType::F32, vec![1, 3, 224, 224])?;
//! let outputs = s.run(&[x])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
pub mod exec;
pub mod kernel;
pub mod lower;
pub mod peak;
pub mod plan;
pub mod prepare;
mod session;
mod trace;

pub use error::{Error, Result};
pub use exec::StepProfile;
pub use kernel::{Buf, Io, Kernel};
pub use lower::{LowerCtx, LowerFn, LoweringRegistry, TensorInfo};
pub use plan::{memory_plan, plan_memory, MemoryPlan, PlannedValue};
pub use session::{Session, SessionOptions};
