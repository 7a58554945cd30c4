//! Transpose of any rank and any plain dtype: input strides permuted at build, the innermost
//! output dim copied in a tight loop.

use super::LowerCtx;
use crate::{Io, Kernel, Result};

struct Transpose {
    /// Output dims and, for each, the input stride in elements.
    dims: Vec<usize>,
    strides: Vec<usize>,
    size: usize,
}

fn copy_elems<T: Copy>(x: &[T], y: &mut [T], dims: &[usize], strides: &[usize]) {
    let r = dims.len();
    let (inner, istride) = (dims[r - 1], strides[r - 1]);
    if inner == 0 {
        return;
    }
    let mut idx = [0usize; 8];
    let mut off = 0usize;
    for row in y.chunks_exact_mut(inner) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = x[off + j * istride];
        }
        let mut d = r - 1;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < dims[d] {
                break;
            }
            off -= strides[d] * dims[d];
            idx[d] = 0;
        }
    }
}

impl Kernel for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input_bytes(0);
        let y = io.output_bytes(0);
        match self.size {
            4 => {
                let (x, y) = (bytemuck_f32(x), bytemuck_f32_mut(y));
                copy_elems(x, y, &self.dims, &self.strides)
            }
            // Other element sizes: dims and strides were expanded to bytes at build.
            _ => copy_elems(x, y, &self.dims, &self.strides),
        }
        Ok(())
    }
}

fn bytemuck_f32(b: &[u8]) -> &[f32] {
    // SAFETY: arena and tensor buffers are aligned for their dtype (64-byte arena offsets).
    unsafe { std::slice::from_raw_parts(b.as_ptr() as *const f32, b.len() / 4) }
}

fn bytemuck_f32_mut(b: &mut [u8]) -> &mut [f32] {
    // SAFETY: as above.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr() as *mut f32, b.len() / 4) }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(x), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    let r = x.shape.len();
    if r == 0 || r > 7 || x.dtype != y.dtype || x.dtype.size_of() == 0 {
        return Ok(None);
    }
    let perm: Vec<usize> = match ctx.attr("perm") {
        Some(edgeopt_ir::Attribute::Ints(p)) => p.iter().map(|&v| v as usize).collect(),
        None => (0..r).rev().collect(),
        _ => return Ok(None),
    };
    if perm.len() != r || perm.iter().any(|&p| p >= r) {
        return Ok(None);
    }
    let mut istr = vec![1usize; r];
    for i in (0..r.saturating_sub(1)).rev() {
        istr[i] = istr[i + 1] * x.shape[i + 1];
    }
    let dims: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    if dims != y.shape {
        return Ok(None);
    }
    let mut strides: Vec<usize> = perm.iter().map(|&p| istr[p]).collect();
    let size = x.dtype.size_of();
    let mut dims = dims;
    if size != 4 {
        strides.iter_mut().for_each(|v| *v *= size);
        dims.push(size);
        strides.push(1);
    }
    Ok(Some(Box::new(Transpose {
        dims,
        strides,
        size,
    })))
}
