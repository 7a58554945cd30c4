//! `com.edgeopt::Int8Add`: the QDQ residual `DequantizeLinear(a), DequantizeLinear(b) -> Add
//! [-> Relu | Clip] -> QuantizeLinear` on equal shapes as one pass over 8-bit data (ONNX
//! Runtime's `QLinearAdd`). Inputs `(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)`, all
//! parameters per tensor; the output clamp `[lo, hi]` applies a fused activation. Runtime-
//! internal, like [`super::Clamped`].

use super::{node_err, LowerCtx};
use crate::{Io, Kernel, Result};
use edgeopt_ir::{bail, Attribute, Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op, Value, ValueType};
use edgeopt_kernels::int8::{add, int8_kernels, reference, QParams};
use edgeopt_tensor::{DType, Tensor};

/// The fused add and its output clamp (quantized, inclusive).
#[derive(Clone, Debug)]
pub struct QAdd {
    pub lo: i32,
    pub hi: i32,
}

/// Scale and zero point of `a`, `b`, `y` (`i` = 0, 1, 2: inputs 1-2, 4-5, 6-7).
fn params_of(t: &[Option<&Tensor>], i: usize) -> Option<QParams> {
    let (si, zi) = [(1, 2), (4, 5), (6, 7)][i];
    let s = t.get(si).copied().flatten()?.to_f64_vec().ok()?;
    let z = t.get(zi).copied().flatten()?.to_f64_vec().ok()?;
    (s.len() == 1 && z.len() == 1).then(|| QParams {
        scale: s[0] as f32,
        zero_point: z[0] as i32,
    })
}

impl Op for QAdd {
    fn op_type(&self) -> &str {
        "Int8Add"
    }

    fn domain(&self) -> &str {
        edgeopt_passes::ops::DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> edgeopt_ir::Result<Vec<ValueType>> {
        Ok(vec![ctx.input(0).clone()])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> edgeopt_ir::Result<Vec<Value>> {
        let ts: Vec<Option<&Tensor>> = (0..8)
            .map(|i| inputs.opt_tensor(i))
            .collect::<edgeopt_ir::Result<_>>()?;
        let (Some(a), Some(b)) = (ts[0], ts[3]) else {
            bail!("Int8Add: missing operand");
        };
        let p: Option<Vec<QParams>> = (0..3).map(|i| params_of(&ts, i)).collect();
        let Some(p) = p.filter(|_| a.shape() == b.shape() && a.dtype() == b.dtype()) else {
            bail!(
                "Int8Add: operands {:?} / {:?} or parameters unusable",
                a.shape(),
                b.shape()
            );
        };
        let (av, bv) = (a.to_f64_vec()?, b.to_f64_vec()?);
        let range = if a.dtype() == DType::I8 {
            (-128, 127)
        } else {
            (0, 255)
        };
        let pair = |q: QParams| (q.scale, q.zero_point);
        let y = av.iter().zip(&bv).map(|(&x, &z)| {
            let q = reference::add_one(
                x as i32,
                pair(p[0]),
                z as i32,
                pair(p[1]),
                pair(p[2]),
                range.0,
                range.1,
            );
            q.max(self.lo.clamp(range.0, range.1))
                .min(self.hi.clamp(range.0, range.1))
        });
        let shape = a.shape().to_vec();
        let t = if a.dtype() == DType::I8 {
            Tensor::from_vec(shape, y.map(|v| v as i8).collect::<Vec<_>>())?
        } else {
            Tensor::from_vec(shape, y.map(|v| v as u8).collect::<Vec<_>>())?
        };
        Ok(vec![Value::Tensor(t)])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.elementwise(4)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        vec![
            ("lo".into(), Attribute::Int(self.lo as i64)),
            ("hi".into(), Attribute::Int(self.hi as i64)),
        ]
    }
}

struct QAddKernel {
    node: String,
    signed: bool,
    p: [QParams; 3],
    clamp: (i32, i32),
}

impl Kernel for QAddKernel {
    fn name(&self) -> &'static str {
        "int8.add"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let (a, b) = (io.input_bytes(0), io.input_bytes(3));
        let y = io.output_bytes(0);
        let (k, [pa, pb, py], c) = (int8_kernels(), self.p, Some(self.clamp));
        let r = if self.signed {
            use super::{as_i8, as_i8_mut};
            add(k, (as_i8(a), pa), (as_i8(b), pb), (as_i8_mut(y), py), c)
        } else {
            add(k, (a, pa), (b, pb), (y, py), c)
        };
        r.map_err(|e| node_err(&self.node, "Int8Add", e))
    }
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let Some(op) = ctx.op().downcast_ref::<QAdd>() else {
        return Ok(None);
    };
    let (Some(a), Some(b), Some(y)) = (ctx.input(0), ctx.input(3), ctx.output(0)) else {
        return Ok(None);
    };
    let signed = match a.dtype {
        DType::I8 => true,
        DType::U8 => false,
        _ => return Ok(None),
    };
    if a != b || a.shape != y.shape || y.dtype != a.dtype {
        return Ok(None);
    }
    let consts: Vec<Option<&Tensor>> = (0..8).map(|i| ctx.konst(i)).collect();
    let p: Option<Vec<QParams>> = (0..3).map(|i| params_of(&consts, i)).collect();
    let Some(p) = p else {
        return Ok(None);
    };
    Ok(Some(Box::new(QAddKernel {
        node: ctx.node.name.clone(),
        signed,
        p: [p[0], p[1], p[2]],
        clamp: (op.lo, op.hi),
    })))
}
