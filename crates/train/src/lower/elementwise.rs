//! Memory-bound gradient ops: ActivationGrad, BiasGrad, MaxPool/AveragePool gradients,
//! ReshapeLike, and BatchNorm in training mode with its gradient. Each kernel runs the same
//! slice function as the op's reference `eval`, over the arena (no copies, no allocations).

use crate::ops::activation_grad::{Act, ActivationGrad};
use crate::ops::batch_norm::{BatchNormGrad, BatchNormTrain};
use crate::ops::pool_grad::{PoolGrad, PoolKind, Windows};
use crate::ops::reduce_to::bias_grad;
use edgeopt_ir::Op;
use edgeopt_runtime::{Io, Kernel, LowerCtx, Result};

/// `[n, c, inner]` of an `[N, C, ...]` shape.
fn nci(shape: &[usize]) -> Option<(usize, usize, usize)> {
    (shape.len() >= 2).then(|| (shape[0], shape[1], shape[2..].iter().product()))
}

struct ActGrad(Act);

impl Kernel for ActGrad {
    fn name(&self) -> &'static str {
        "train.activation_grad"
    }
    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (dy, x) = (io.input(0), io.input(1));
        self.0.backward(dy, x, io.output(0));
        Ok(())
    }
}

/// ActivationGrad(dY, X) with equal shapes.
pub fn lower_activation(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<ActivationGrad>() else {
        return Ok(None);
    };
    let (Some(dy), Some(x)) = (ctx.input(0), ctx.input(1)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || dy.shape != x.shape || ctx.inplace.is_some() {
        return Ok(None);
    }
    Ok(Some(Box::new(ActGrad(op.act.clone()))))
}

struct Bias((usize, usize, usize));

impl Kernel for Bias {
    fn name(&self) -> &'static str {
        "train.bias_grad"
    }
    fn run(&mut self, io: &mut Io) -> Result<()> {
        let dy = io.input(0);
        bias_grad(self.0, dy, io.output(0));
        Ok(())
    }
}

/// BiasGrad(dY) for `[N, C, ...]`.
pub fn lower_bias(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(dims) = ctx.input(0).and_then(|t| nci(&t.shape)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.output(0).is_none_or(|o| o.numel() != dims.1) {
        return Ok(None);
    }
    Ok(Some(Box::new(Bias(dims))))
}

struct Pool {
    kind: PoolKind,
    windows: Windows,
    plane: usize,
}

impl Kernel for Pool {
    fn name(&self) -> &'static str {
        "train.pool_grad"
    }
    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (dy, x) = (io.input(0), io.input(1));
        self.kind
            .backward(&self.windows, self.plane, dy, x, io.output(0));
        Ok(())
    }
}

/// MaxPoolGrad / AveragePoolGrad(dY, X).
pub fn lower_pool(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<PoolGrad>() else {
        return Ok(None);
    };
    let (Some(dy), Some(x)) = (ctx.input(0), ctx.input(1)) else {
        return Ok(None);
    };
    let Ok(axes) = op.pool.axes(op.op_type(), &x.shape) else {
        return Ok(None);
    };
    let mut expect = x.shape[..2].to_vec();
    expect.extend(axes.iter().map(|a| a.output));
    if !ctx.all_f32() || dy.shape != expect {
        return Ok(None);
    }
    Ok(Some(Box::new(Pool {
        kind: op.kind.clone(),
        windows: Windows::new(&axes),
        plane: x.shape[2..].iter().product(),
    })))
}

struct Copy;

impl Kernel for Copy {
    fn name(&self) -> &'static str {
        "train.copy"
    }
    fn run(&mut self, io: &mut Io) -> Result<()> {
        let src = io.input(0);
        io.output(0).copy_from_slice(src);
        Ok(())
    }
}

/// ReshapeLike(dY, X): a copy into the output's buffer.
pub fn lower_reshape_like(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(dy), Some(y)) = (ctx.input(0), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || dy.numel() != y.numel() {
        return Ok(None);
    }
    Ok(Some(Box::new(Copy)))
}

struct BnTrain {
    op: BatchNormTrain,
    dims: (usize, usize, usize),
}

impl Kernel for BnTrain {
    fn name(&self) -> &'static str {
        "train.batch_norm"
    }
    fn run(&mut self, io: &mut Io) -> Result<()> {
        let ins = [0, 1, 2, 3, 4].map(|i| io.input(i));
        let outs = [0, 1, 2, 3, 4].map(|i| {
            let o = io.output(i);
            // SAFETY: the executor hands out disjoint output buffers (Io's contract).
            unsafe { std::slice::from_raw_parts_mut(o.as_mut_ptr(), o.len()) }
        });
        self.op.forward(self.dims, ins, outs);
        Ok(())
    }
}

struct BnGrad {
    op: BatchNormGrad,
    dims: (usize, usize, usize),
}

impl Kernel for BnGrad {
    fn name(&self) -> &'static str {
        "train.batch_norm_grad"
    }
    fn run(&mut self, io: &mut Io) -> Result<()> {
        let ins = [0, 1, 2, 3, 4].map(|i| io.input(i));
        let outs = [0, 1, 2].map(|i| {
            let o = io.output(i);
            // SAFETY: the executor hands out disjoint output buffers (Io's contract).
            unsafe { std::slice::from_raw_parts_mut(o.as_mut_ptr(), o.len()) }
        });
        self.op.backward(self.dims, ins, outs);
        Ok(())
    }
}

/// Whether every input and output is present with the sizes BatchNorm needs.
fn bn_fits(ctx: &LowerCtx, n_in: usize, n_out: usize) -> Option<(usize, usize, usize)> {
    let x = ctx.input(if n_out == 5 { 0 } else { 1 })?;
    let dims = nci(&x.shape)?;
    let sizes_ok = (0..n_in).all(|i| ctx.input(i).is_some())
        && (0..n_out).all(|i| ctx.output(i).is_some())
        && ctx.all_f32()
        && ctx.inplace.is_none();
    let per_channel =
        |t: Option<&edgeopt_runtime::TensorInfo>| t.is_some_and(|t| t.numel() == dims.1);
    let ok = if n_out == 5 {
        (1..5).all(|i| per_channel(ctx.input(i)))
            && (1..5).all(|i| per_channel(ctx.output(i)))
            && ctx.output(0).is_some_and(|y| y.shape == x.shape)
    } else {
        (2..5).all(|i| per_channel(ctx.input(i)))
            && (1..3).all(|i| per_channel(ctx.output(i)))
            && ctx.input(0).is_some_and(|d| d.shape == x.shape)
            && ctx.output(0).is_some_and(|d| d.shape == x.shape)
    };
    (sizes_ok && ok).then_some(dims)
}

/// BatchNormTrain(X, scale, B, mean, var) with all five outputs.
pub fn lower_bn_train(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<BatchNormTrain>() else {
        return Ok(None);
    };
    Ok(bn_fits(ctx, 5, 5).map(|dims| {
        Box::new(BnTrain {
            op: op.clone(),
            dims,
        }) as Box<dyn Kernel>
    }))
}

/// BatchNormGrad(dY, X, scale, mean, inv_std) with all three outputs.
pub fn lower_bn_grad(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<BatchNormGrad>() else {
        return Ok(None);
    };
    Ok(bn_fits(ctx, 5, 3).map(|dims| {
        Box::new(BnGrad {
            op: op.clone(),
            dims,
        }) as Box<dyn Kernel>
    }))
}
