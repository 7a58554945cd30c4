//! QLinearMatMul (requantized) and MatMulInteger (i32) with a constant 2-D right-hand side
//! `B [K, N]` (the weights) and any batch dims on A, which fold into rows.
//!
//! The int8 GEMM keeps weights on the left (its rows are output channels), so this computes
//! `Y^T = B^T A^T`: B^T is packed once, A is read through a transposed view, and Y is written
//! with transposed strides; a per-column B scale or zero point becomes a per-row one.

use super::{
    as_i8, node_err, output, scales, signed8, unwrap_clamped, zero_points, LowerCtx, OutKind,
};
use crate::{Io, Kernel, Result};
use edgeopt_kernels::int8::{
    int8_kernels, qgemm, PackedWeights, QInput, Requant, Scale, WeightsRef,
};

struct QMatMulKernel {
    node: String,
    op_type: &'static str,
    w: PackedWeights,
    /// Rows of A (batch dims folded) and depth.
    rows: usize,
    k: usize,
    x_signed: bool,
    x_zp: i32,
    scales: Vec<f32>,
    y_zp: i32,
    out: OutKind,
    /// Quantized output bounds of a fused activation.
    clamp: Option<(i32, i32)>,
}

impl Kernel for QMatMulKernel {
    fn name(&self) -> &'static str {
        "int8.matmul"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (a, threads) = (io.input_bytes(0), io.threads);
        let n = self.w.shape().0;
        let rq = Requant {
            scale: match self.scales.as_slice() {
                [s] => Scale::PerTensor(*s),
                v => Scale::PerRow(v),
            },
            zero_point: self.y_zp,
            clamp: self.clamp,
            ..Requant::default()
        };
        let out = output(io, self.out)?;
        let (k, rows, zp, kt) = (self.k, self.rows, self.x_zp, int8_kernels());
        let r = if self.x_signed {
            qgemm(
                kt,
                &self.w,
                &transposed(as_i8(a), k, rows, zp),
                &rq,
                out,
                (1, n),
                threads,
            )
        } else {
            qgemm(
                kt,
                &self.w,
                &transposed(a, k, rows, zp),
                &rq,
                out,
                (1, n),
                threads,
            )
        };
        r.map_err(|e| node_err(&self.node, self.op_type, e))
    }
}

/// A^T: the `k x rows` transposed view of row-major `rows x k` A.
fn transposed<T>(data: &[T], k: usize, rows: usize, zero_point: i32) -> QInput<'_, T> {
    QInput {
        data,
        rows: k,
        cols: rows,
        row_stride: 1,
        col_stride: k,
        zero_point,
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (op, clamp) = unwrap_clamped(ctx.op());
    let op_type: &'static str = match op.op_type() {
        "QLinearMatMul" => "QLinearMatMul",
        "MatMulInteger" if clamp.is_none() => "MatMulInteger",
        _ => return Ok(None),
    };
    if !op.domain().is_empty() {
        return Ok(None);
    }
    Ok(build(ctx, op_type == "QLinearMatMul", op_type, clamp))
}

fn build(
    ctx: &LowerCtx,
    qlinear: bool,
    op_type: &'static str,
    clamp: Option<(i32, i32)>,
) -> Option<Box<dyn Kernel>> {
    // Slots: QLinearMatMul (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp);
    // MatMulInteger (a, b, a_zp, b_zp).
    let (b_slot, a_zp_slot, b_zp_slot) = if qlinear { (3, 2, 5) } else { (1, 2, 3) };
    let (a, b, y) = (ctx.input(0)?, ctx.konst(b_slot)?, ctx.output(0)?);
    let x_signed = signed8(a.dtype)?;
    let w_signed = signed8(b.dtype())?;
    let out = OutKind::of(y.dtype)?;
    let (&[k, n], Some(&ka)) = (b.shape(), a.shape.last()) else {
        return None;
    };
    if a.shape.len() < 2 || ka != k || y.numel() != a.numel() / k.max(1) * n {
        return None;
    }
    let rows = a.numel() / k.max(1);
    let x_zp = match ctx.input(a_zp_slot) {
        None => 0,
        Some(_) => {
            let v = zero_points(Some(ctx.konst(a_zp_slot)?))?;
            (v.len() == 1).then_some(v[0])?
        }
    };
    let w_zp = match ctx.input(b_zp_slot) {
        None => vec![0],
        Some(_) => zero_points(Some(ctx.konst(b_zp_slot)?))?,
    };
    if w_zp.len() != 1 && w_zp.len() != n {
        return None;
    }
    let (scales, y_zp) = if qlinear {
        let (xs, ws, ys) = (
            scales(ctx.konst(1)?)?,
            scales(ctx.konst(4)?)?,
            scales(ctx.konst(6)?)?,
        );
        if xs.len() != 1 || ys.len() != 1 || (ws.len() != 1 && ws.len() != n) {
            return None;
        }
        let y_zp = *zero_points(ctx.input(7).and(ctx.konst(7)))?.first()?;
        (ws.iter().map(|w| xs[0] * w / ys[0]).collect(), y_zp)
    } else {
        (vec![1.0], 0)
    };
    // B^T, row-major [N, K].
    let bytes = b.as_bytes();
    let bt: Vec<u8> = (0..n * k).map(|i| bytes[(i % k) * n + i / k]).collect();
    let wref = if w_signed {
        WeightsRef::I8(as_i8(&bt))
    } else {
        WeightsRef::U8(&bt)
    };
    let w = PackedWeights::new(int8_kernels(), wref, n, k, &w_zp).ok()?;
    Some(Box::new(QMatMulKernel {
        node: ctx.node.name.clone(),
        op_type,
        w,
        rows,
        k,
        x_signed,
        x_zp,
        scales,
        y_zp,
        out,
        clamp,
    }))
}
