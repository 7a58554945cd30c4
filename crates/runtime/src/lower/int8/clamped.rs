//! `com.edgeopt::Int8Clamped`: an int8 producer (QLinearConv, QLinearMatMul) whose 8-bit output
//! is clamped to `[lo, hi]`: a Relu or Clip that the QDQ rewrite fused. Because quantization is
//! monotone, `Q(clip(v, a, b)) = clamp(Q(v), Q(a), Q(b))` and `Q(relu(v)) = max(Q(v), zp)`
//! exactly, so the clamp can be applied by the int8 kernel's store. Runtime-internal: the
//! session inserts it, it is not read from or written to files.

use edgeopt_ir::{
    Attribute, Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op, Result, Value, ValueType,
};
use edgeopt_tensor::{DType, Tensor};

/// The wrapped op and the inclusive quantized bounds of its output.
#[derive(Clone, Debug)]
pub struct Clamped {
    pub inner: Box<dyn Op>,
    pub lo: i32,
    pub hi: i32,
}

impl Clamped {
    fn clamp(&self, t: &Tensor) -> Result<Tensor> {
        let shape = t.shape().to_vec();
        let c = |v: i32| v.max(self.lo).min(self.hi);
        Ok(match t.dtype() {
            DType::U8 => {
                let v: Vec<u8> = t
                    .as_slice::<u8>()?
                    .iter()
                    .map(|&x| c(x as i32) as u8)
                    .collect();
                Tensor::from_vec(shape, v)?
            }
            DType::I8 => {
                let v: Vec<i8> = t
                    .as_slice::<i8>()?
                    .iter()
                    .map(|&x| c(x as i32) as i8)
                    .collect();
                Tensor::from_vec(shape, v)?
            }
            _ => t.clone(),
        })
    }
}

impl Op for Clamped {
    fn op_type(&self) -> &str {
        "Int8Clamped"
    }

    fn domain(&self) -> &str {
        edgeopt_passes::ops::DOMAIN
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        self.inner.infer(ctx)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let mut out = self.inner.eval(ctx, inputs)?;
        if let Some(Value::Tensor(t)) = out.first_mut() {
            *t = self.clamp(t)?;
        }
        Ok(out)
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        self.inner.cost(ctx)
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let mut a = self.inner.attributes();
        a.push((
            "op".into(),
            Attribute::String(self.inner.op_type().as_bytes().to_vec()),
        ));
        a.push(("lo".into(), Attribute::Int(self.lo as i64)));
        a.push(("hi".into(), Attribute::Int(self.hi as i64)));
        a
    }
}
