//! `mlp`: Flatten, then fully connected layers with ReLU between them.

use crate::builder::NetBuilder;
use crate::{metadata, Result, Spec, ZooError};
use edgeopt_ir::Model;

pub(crate) fn build(spec: &Spec) -> Result<Model> {
    let hidden: Vec<usize> = spec
        .cfg
        .hidden
        .clone()
        .unwrap_or_else(|| vec![256, 128])
        .into_iter()
        .map(|h| spec.channels(h))
        .collect();
    if hidden.len() > 64 {
        return Err(ZooError::Invalid(format!(
            "--hidden has {} layers (at most 64)",
            hidden.len()
        )));
    }
    let (mut b, x) = NetBuilder::new("mlp", &spec.chw, &spec.cfg.batch, spec.cfg.seed);
    let mut h = b.flatten(x, "flatten")?;
    let mut width = spec.chw.iter().product::<usize>();
    for (i, &out) in hidden.iter().enumerate() {
        h = b.linear(h, &format!("fc{}", i + 1), width, out)?;
        h = b.relu(h, &format!("relu{}", i + 1))?;
        width = out;
    }
    let y = b.linear(h, &format!("fc{}", hidden.len() + 1), width, spec.classes)?;
    b.finish(y, metadata("mlp", spec))
}
