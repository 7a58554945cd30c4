//! QLinearConv (requantized u8/i8 output) and ConvInteger (i32 output), 2-D, NCHW.

use super::{
    as_i8, node_err, output, scales, signed8, unwrap_clamped, zero_points, LowerCtx, OutKind,
};
use crate::{Io, Kernel, Result};
use edgeopt_ir::ops::quant::conv_common::ConvAttrs;
use edgeopt_ir::ops::quant::conv_integer::ConvInteger;
use edgeopt_ir::ops::quant::qlinear_conv::QLinearConv;
use edgeopt_kernels::int8::{
    int8_kernels, qconv, ConvGeometry, PackedConv, Requant, Scale, WeightsRef,
};

struct QConvKernel {
    node: String,
    op_type: &'static str,
    conv: PackedConv,
    x_signed: bool,
    x_zp: i32,
    bias: Option<Vec<i32>>,
    /// Multipliers `x_scale * w_scale / y_scale`, one or per channel (1 for ConvInteger).
    scales: Vec<f32>,
    y_zp: i32,
    out: OutKind,
    /// Quantized output bounds of a fused activation.
    clamp: Option<(i32, i32)>,
}

impl Kernel for QConvKernel {
    fn name(&self) -> &'static str {
        "int8.conv"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (x, threads) = (io.input_bytes(0), io.threads);
        let rq = Requant {
            bias: self.bias.as_deref(),
            scale: match self.scales.as_slice() {
                [s] => Scale::PerTensor(*s),
                v => Scale::PerRow(v),
            },
            zero_point: self.y_zp,
            relu: false,
            clamp: self.clamp,
        };
        let out = output(io, self.out)?;
        let k = int8_kernels();
        let r = if self.x_signed {
            qconv(k, &self.conv, as_i8(x), self.x_zp, &rq, out, threads)
        } else {
            qconv(k, &self.conv, x, self.x_zp, &rq, out, threads)
        };
        r.map_err(|e| node_err(&self.node, self.op_type, e))
    }
}

/// Input slots of (x, w, x_zp, w_zp) and, for QLinearConv, (x_scale, w_scale, y_scale, y_zp, B).
struct Slots {
    x_zp: usize,
    w: usize,
    w_zp: usize,
    qlinear: bool,
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (op, clamp) = unwrap_clamped(ctx.op());
    let (attrs, slots, op_type): (&ConvAttrs, _, &'static str) =
        if let Some(q) = op.downcast_ref::<QLinearConv>() {
            let s = Slots {
                x_zp: 2,
                w: 3,
                w_zp: 5,
                qlinear: true,
            };
            (&q.conv, s, "QLinearConv")
        } else if let Some(c) = op.downcast_ref::<ConvInteger>() {
            let s = Slots {
                x_zp: 2,
                w: 1,
                w_zp: 3,
                qlinear: false,
            };
            (&c.conv, s, "ConvInteger")
        } else {
            return Ok(None);
        };
    if clamp.is_some() && !slots.qlinear {
        return Ok(None);
    }
    Ok(build(ctx, attrs, &slots, op_type, clamp))
}

fn build(
    ctx: &LowerCtx,
    attrs: &ConvAttrs,
    s: &Slots,
    op_type: &'static str,
    clamp: Option<(i32, i32)>,
) -> Option<Box<dyn Kernel>> {
    let (x, w, y) = (ctx.input(0)?, ctx.konst(s.w)?, ctx.output(0)?);
    let x_signed = signed8(x.dtype)?;
    let w_signed = signed8(w.dtype())?;
    let out = OutKind::of(y.dtype)?;
    let (xs, ws) = (&x.shape, w.shape());
    if xs.len() != 4 || ws.len() != 4 {
        return None;
    }
    let geo = attrs.geometry(op_type, &xs[2..], &ws[2..]).ok()?;
    let (m, groups) = (ws[0], attrs.group());
    let pad_end = |i: usize| {
        let span = (ws[2 + i] - 1) * geo.dilations[i] + 1;
        ((geo.out[i] - 1) * geo.strides[i] + span).saturating_sub(xs[2 + i] + geo.pads_begin[i])
    };
    let g = ConvGeometry {
        batch: xs[0],
        c_in: xs[1],
        h: xs[2],
        w: xs[3],
        c_out: m,
        kernel: (ws[2], ws[3]),
        stride: (geo.strides[0], geo.strides[1]),
        dilation: (geo.dilations[0], geo.dilations[1]),
        pads: [geo.pads_begin[0], geo.pads_begin[1], pad_end(0), pad_end(1)],
        groups,
    };
    if g.output_hw().ok()? != (geo.out[0], geo.out[1]) || ws[1] * groups != xs[1] {
        return None;
    }
    let x_zp = match ctx.input(s.x_zp) {
        None => 0,
        Some(_) => *zero_points(Some(ctx.konst(s.x_zp)?))?.as_slice().first()?,
    };
    let w_zp = match ctx.input(s.w_zp) {
        None => vec![0],
        Some(_) => zero_points(Some(ctx.konst(s.w_zp)?))?,
    };
    if w_zp.len() != 1 && w_zp.len() != m {
        return None;
    }
    let (scales, y_zp, bias) = if s.qlinear {
        let (xs, ws, ys) = (
            scales(ctx.konst(1)?)?,
            scales(ctx.konst(4)?)?,
            scales(ctx.konst(6)?)?,
        );
        let y_zp = *zero_points(ctx.input(7).and(ctx.konst(7)))?.first()?;
        if xs.len() != 1 || ys.len() != 1 || (ws.len() != 1 && ws.len() != m) {
            return None;
        }
        let mult: Vec<f32> = ws.iter().map(|w| xs[0] * w / ys[0]).collect();
        let bias = match ctx.input(8) {
            None => None,
            Some(_) => Some(ctx.konst(8)?.as_slice::<i32>().ok()?.to_vec()),
        };
        (mult, y_zp, bias)
    } else {
        (vec![1.0], 0, None)
    };
    let bytes = w.as_bytes();
    let wref = if w_signed {
        WeightsRef::I8(super::as_i8(bytes))
    } else {
        WeightsRef::U8(bytes)
    };
    let conv = PackedConv::new(int8_kernels(), g, wref, &w_zp).ok()?;
    Some(Box::new(QConvKernel {
        node: ctx.node.name.clone(),
        op_type,
        conv,
        x_signed,
        x_zp,
        bias,
        scales,
        y_zp,
        out,
        clamp,
    }))
}
