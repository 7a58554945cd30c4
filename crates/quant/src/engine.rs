//! How quantization runs models: an [`Engine`] prepares a model once, its [`Runner`] runs it
//! per sample. The default [`Reference`] engine is the IR's reference executor; a faster runtime
//! plugs in by implementing the two traits.

use crate::Result;
use edgeopt_ir::{Model, Value};

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
