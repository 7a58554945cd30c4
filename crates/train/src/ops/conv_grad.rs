//! Convolution gradients by im2col + GEMM (per image and group), the adjoints of the forward
//! lowering: `dW_g += dY_g * cols^T` and `dcols = W_g^T * dY_g` scattered back by col2im.

use super::util::{f32_in, gemm, infer_like, out, threads};
use super::DOMAIN;
use edgeopt_ir::ops::nn::conv::{Conv, ConvShape};
use edgeopt_ir::ops::nn::im2col::{col2im, im2col};
use edgeopt_ir::{bail, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType};

/// Sizes of one conv, per group: `mg` output channels, `kg = C/g * prod(kernel)` rows of the
/// column matrix, `p = prod(output)` columns, `plane = prod(input)`.
struct Dims {
    s: ConvShape,
    cg: usize,
    mg: usize,
    kg: usize,
    p: usize,
    plane: usize,
}

fn dims(conv: &Conv, x: &[usize], w: &[usize], dy: &[usize]) -> Result<Dims> {
    let s = conv.shape(x, w)?;
    if dy != s.out_shape.as_slice() {
        bail!(
            "conv gradient: dY {dy:?} does not match the conv output {:?} of X {x:?} and W {w:?}",
            s.out_shape
        );
    }
    let cg = s.c / s.group;
    let mg = s.m / s.group;
    let taps: usize = s.axes.iter().map(|a| a.kernel).product();
    let p: usize = s.axes.iter().map(|a| a.output).product();
    let plane: usize = s.axes.iter().map(|a| a.input).product();
    Ok(Dims {
        cg,
        mg,
        kg: cg * taps,
        p,
        plane,
        s,
    })
}

/// ConvGradInput(dY, W, X) -> dX; X is read for its shape only.
#[derive(Clone, Debug)]
pub struct ConvGradInput {
    pub conv: Conv,
}

/// ConvGradWeight(dY, X, W) -> dW; W is read for its shape only.
#[derive(Clone, Debug)]
pub struct ConvGradWeight {
    pub conv: Conv,
}

impl Op for ConvGradInput {
    fn op_type(&self) -> &str {
        "ConvGradInput"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[2])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("ConvGradInput", inputs, 0)?;
        let (w, sw) = f32_in("ConvGradInput", inputs, 1)?;
        let sx = inputs.tensor(2)?.shape().to_vec();
        let d = dims(&self.conv, &sx, sw, sdy)?;
        let (n, g, c, m) = (d.s.n, d.s.group, d.s.c, d.s.m);
        let mut dx = vec![0f32; n * c * d.plane];
        let mut cols = vec![0f32; d.kg * d.p];
        for i in 0..n {
            for gi in 0..g {
                let wg = &w[gi * d.mg * d.kg..(gi + 1) * d.mg * d.kg];
                let o = (i * m + gi * d.mg) * d.p;
                let dyg = &dy[o..o + d.mg * d.p];
                gemm(
                    wg,
                    (d.mg, d.kg),
                    true,
                    dyg,
                    (d.mg, d.p),
                    false,
                    &mut cols,
                    1.0,
                    0.0,
                )?;
                let xo = (i * c + gi * d.cg) * d.plane;
                col2im(
                    &cols,
                    d.cg,
                    &d.s.axes,
                    &mut dx[xo..xo + d.cg * d.plane],
                    |a, b| a + b,
                );
            }
        }
        Ok(vec![out(&sx, dx)?])
    }
}

impl Op for ConvGradWeight {
    fn op_type(&self) -> &str {
        "ConvGradWeight"
    }
    fn domain(&self) -> &str {
        DOMAIN
    }
    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        infer_like(ctx, &[2])
    }
    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (dy, sdy) = f32_in("ConvGradWeight", inputs, 0)?;
        let (x, sx) = f32_in("ConvGradWeight", inputs, 1)?;
        let sw = inputs.tensor(2)?.shape().to_vec();
        let d = dims(&self.conv, sx, &sw, sdy)?;
        let (n, g, c, m) = (d.s.n, d.s.group, d.s.c, d.s.m);
        let mut dw = vec![0f32; m * d.kg];
        let mut cols = vec![0f32; d.kg * d.p];
        let _ = threads();
        for i in 0..n {
            for gi in 0..g {
                let xo = (i * c + gi * d.cg) * d.plane;
                im2col(&x[xo..xo + d.cg * d.plane], d.cg, &d.s.axes, &mut cols);
                let o = (i * m + gi * d.mg) * d.p;
                let dyg = &dy[o..o + d.mg * d.p];
                let dwg = &mut dw[gi * d.mg * d.kg..(gi + 1) * d.mg * d.kg];
                gemm(
                    dyg,
                    (d.mg, d.p),
                    false,
                    &cols,
                    (d.kg, d.p),
                    true,
                    dwg,
                    1.0,
                    1.0,
                )?;
            }
        }
        Ok(vec![out(&sw, dw)?])
    }
}
