//! How quantization runs models: an [`Engine`] prepares a model once, its [`Runner`] runs it
//! per sample. [`Fast`] is the runtime (`edgeopt_runtime::Session`: optimized graph, packed
//! kernels, QDQ patterns lowered to int8 kernels, so a report measures what edgeopt deploys);
//! [`Reference`] is the IR's reference executor (slow, the oracle).

use crate::{QuantError, Result};
use edgeopt_ir::{Model, Value};
use edgeopt_runtime::{Session, SessionOptions};

/// Runs one prepared model.
pub trait Runner {
    /// Runs on inputs positional over the model's feed inputs; returns its outputs in order.
    fn run(&mut self, inputs: Vec<Value>) -> Result<Vec<Value>>;
}

/// Prepares models for running.
pub trait Engine: Sync {
    fn prepare(&self, model: &Model) -> Result<Box<dyn Runner + '_>>;
}

/// The IR's reference executor (`edgeopt_ir::exec::run_model`): slow, always available.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

struct ReferenceRunner(Model);

impl Runner for ReferenceRunner {
    fn run(&mut self, inputs: Vec<Value>) -> Result<Vec<Value>> {
        Ok(edgeopt_ir::exec::run_model(&self.0, inputs)?)
    }
}

impl Engine for Reference {
    fn prepare(&self, model: &Model) -> Result<Box<dyn Runner + '_>> {
        Ok(Box::new(ReferenceRunner(model.clone())))
    }
}

/// The fast runtime with `threads` intra-op threads (0: all available).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fast {
    pub threads: usize,
}

struct FastRunner(Session);

fn engine_error(e: edgeopt_runtime::Error) -> QuantError {
    QuantError::Engine(e.to_string())
}

impl Runner for FastRunner {
    fn run(&mut self, inputs: Vec<Value>) -> Result<Vec<Value>> {
        self.0.run_values(&inputs).map_err(engine_error)
    }
}

impl Engine for Fast {
    fn prepare(&self, model: &Model) -> Result<Box<dyn Runner + '_>> {
        let mut opts = SessionOptions::default();
        if self.threads > 0 {
            opts.threads = self.threads;
        }
        let s = Session::new(model.clone(), opts).map_err(engine_error)?;
        Ok(Box::new(FastRunner(s)))
    }
}
