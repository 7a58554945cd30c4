//! Reshape, Flatten, Squeeze, Unsqueeze, Identity: the memory plan gives the output the
//! input's bytes, so the kernel has nothing to do; when the plan could not alias (different
//! buffers), it copies.

use super::LowerCtx;
use crate::{Io, Kernel, Result};

struct Alias;

impl Kernel for Alias {
    fn name(&self) -> &'static str {
        "alias"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let src = io.input_bytes(0);
        let dst = io.output_bytes(0);
        // An aliased output is handed over as the input's own bytes (same pointer): nothing
        // to copy. Distinct buffers of equal size: copy.
        if !dst.is_empty() && dst.as_ptr() != src.as_ptr() && dst.len() == src.len() {
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    if x.dtype != y.dtype || x.numel() != y.numel() || ctx.node.outputs.len() != 1 {
        return Ok(None);
    }
    Ok(Some(Box::new(Alias)))
}
