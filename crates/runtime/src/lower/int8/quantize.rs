//! QuantizeLinear / DequantizeLinear with one scale (per-tensor), DynamicQuantizeLinear.

use super::{as_i8, as_i8_mut, node_err, scales, signed8, zero_points, LowerCtx};
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::quant::dequantize_linear::DequantizeLinear;
use edgeopt_ir::ops::quant::quantize_linear::QuantizeLinear;
use edgeopt_kernels::int8::{dequantize, dynamic_quantize, int8_kernels, quantize};
use edgeopt_tensor::DType;

/// Which way a per-tensor (de)quantization goes and its 8-bit side's type.
#[derive(Clone, Copy)]
enum Dir {
    Quantize { signed: bool },
    Dequantize { signed: bool },
}

struct Linear {
    node: String,
    dir: Dir,
    scale: f32,
    zp: i32,
}

impl Kernel for Linear {
    fn name(&self) -> &'static str {
        match self.dir {
            Dir::Quantize { .. } => "int8.quantize",
            Dir::Dequantize { .. } => "int8.dequantize",
        }
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (k, s, z) = (int8_kernels(), self.scale, self.zp);
        let r = match self.dir {
            Dir::Quantize { signed } => {
                let x = io.input(0);
                let y = io.output_bytes(0);
                if signed {
                    quantize(k, x, s, z, as_i8_mut(y))
                } else {
                    quantize(k, x, s, z, y)
                }
            }
            Dir::Dequantize { signed } => {
                let x = io.input_bytes(0);
                let y = io.output(0);
                if signed {
                    dequantize(k, as_i8(x), s, z, y)
                } else {
                    dequantize(k, x, s, z, y)
                }
            }
        };
        let op = match self.dir {
            Dir::Quantize { .. } => "QuantizeLinear",
            Dir::Dequantize { .. } => "DequantizeLinear",
        };
        r.map_err(|e| node_err(&self.node, op, e))
    }
}

/// The per-tensor scale and zero point in slots 1 and 2, when constant.
fn params(ctx: &LowerCtx) -> Option<(f32, i32)> {
    let s = scales(ctx.konst(1)?)?;
    let z = match ctx.input(2) {
        None => vec![0],
        Some(_) => zero_points(Some(ctx.konst(2)?))?,
    };
    (s.len() == 1 && z.len() == 1).then_some((s[0], z[0]))
}

pub fn lower_quantize(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(q) = ctx.op().downcast_ref::<QuantizeLinear>() else {
        return Ok(None);
    };
    let ok = q.block_size.unwrap_or(0) == 0 && ctx.input(0).is_some_and(|x| x.dtype == DType::F32);
    let signed = ctx.output(0).and_then(|y| signed8(y.dtype));
    Ok(match (ok, signed, params(ctx)) {
        (true, Some(signed), Some((scale, zp))) => Some(Box::new(Linear {
            node: ctx.node.name.clone(),
            dir: Dir::Quantize { signed },
            scale,
            zp,
        })),
        _ => None,
    })
}

pub fn lower_dequantize(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(d) = ctx.op().downcast_ref::<DequantizeLinear>() else {
        return Ok(None);
    };
    let ok = d.block_size.unwrap_or(0) == 0 && ctx.output(0).is_some_and(|y| y.dtype == DType::F32);
    let signed = ctx.input(0).and_then(|x| signed8(x.dtype));
    Ok(match (ok, signed, params(ctx)) {
        (true, Some(signed), Some((scale, zp))) => Some(Box::new(Linear {
            node: ctx.node.name.clone(),
            dir: Dir::Dequantize { signed },
            scale,
            zp,
        })),
        _ => None,
    })
}

struct Dynamic {
    node: String,
}

impl Kernel for Dynamic {
    fn name(&self) -> &'static str {
        "int8.dynamic_quantize"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let x = io.input(0);
        let q = dynamic_quantize(int8_kernels(), x, io.output_bytes(0))
            .map_err(|e| node_err(&self.node, "DynamicQuantizeLinear", e))?;
        if let Some(s) = io.output(1).first_mut() {
            *s = q.scale;
        }
        if let Some(z) = io.output_bytes(2).first_mut() {
            *z = q.zero_point;
        }
        Ok(())
    }
}

pub fn lower_dynamic(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let f32_in = ctx.input(0).is_some_and(|x| x.dtype == DType::F32);
    let outs_ok = ctx.outputs.len() == 3 && ctx.outputs.iter().all(|o| o.is_some());
    Ok(
        (f32_in && outs_ok && ctx.op().domain().is_empty()).then(|| {
            Box::new(Dynamic {
                node: ctx.node.name.clone(),
            }) as Box<dyn Kernel>
        }),
    )
}
