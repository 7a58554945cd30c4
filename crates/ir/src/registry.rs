//! Maps (domain, op_type) to the function that builds the op from its attributes.

use crate::attr::Attrs;
use crate::op::Op;
use crate::{IrError, Result};
use std::collections::HashMap;
use std::sync::OnceLock;

/// What an op builder sees: the node's attributes (consumed as read) and its arity.
pub struct BuildCtx<'a> {
    /// Version of the op's domain imported by the model.
    pub opset: i64,
    pub attrs: &'a mut Attrs,
    pub num_inputs: usize,
    pub num_outputs: usize,
}

pub type Builder = fn(&mut BuildCtx) -> Result<Box<dyn Op>>;

#[derive(Default)]
pub struct Registry {
    map: HashMap<(String, String), Builder>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({} ops)", self.map.len())
    }
}

/// The default domain has two spellings.
pub fn canonical_domain(domain: &str) -> &str {
    if domain == "ai.onnx" {
        ""
    } else {
        domain
    }
}

impl Registry {
    pub fn register(&mut self, domain: &str, op_type: &str, b: Builder) {
        self.map.insert(
            (canonical_domain(domain).to_string(), op_type.to_string()),
            b,
        );
    }

    pub fn get(&self, domain: &str, op_type: &str) -> Option<Builder> {
        self.map
            .get(&(canonical_domain(domain).to_string(), op_type.to_string()))
            .copied()
    }

    pub fn supports(&self, domain: &str, op_type: &str) -> bool {
        self.get(domain, op_type).is_some()
    }

    /// Every registered (domain, op_type), sorted.
    pub fn ops(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self.map.keys().cloned().collect();
        v.sort();
        v
    }

    /// The registry with every op edgeopt implements.
    pub fn global() -> &'static Registry {
        static R: OnceLock<Registry> = OnceLock::new();
        R.get_or_init(|| {
            let mut r = Registry::default();
            crate::ops::register_all(&mut r);
            r
        })
    }

    pub fn build(&self, domain: &str, op_type: &str, ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
        match self.get(domain, op_type) {
            Some(b) => b(ctx),
            None => Err(IrError::Unsupported(vec![(
                String::new(),
                qualified(domain, op_type),
            )])),
        }
    }
}

/// "Conv" for the default domain, "com.microsoft::FusedConv" otherwise.
pub fn qualified(domain: &str, op_type: &str) -> String {
    match canonical_domain(domain) {
        "" => op_type.to_string(),
        d => format!("{d}::{op_type}"),
    }
}
