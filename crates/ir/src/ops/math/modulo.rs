//! Mod: element-wise remainder, broadcast.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Mod.html>. Since opset 10 (13 adds bf16).
//!
//! Attribute `fmod` (int, default 0): 0 gives the divisor's sign (Python/numpy `%`), 1 gives the
//! dividend's sign (C `fmod`). The spec asks for fmod=1 with floats, but numpy's float `%` is
//! well defined (and tested), so both modes work for every numeric type.
//! Inputs A, B (same type T); output C: T. Integer remainder by zero gives 0.

use super::common::{common_dtype, map2, same_dtype, Scalar};
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::infer_broadcast;
use crate::registry::BuildCtx;
use crate::{bail, dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

#[derive(Clone, Debug, Default)]
pub struct Mod {
    pub fmod: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let fmod = match ctx.attrs.int_or("fmod", 0)? {
        0 => false,
        1 => true,
        v => bail!("Mod: attribute fmod must be 0 or 1, got {v}"),
    };
    Ok(Box::new(Mod { fmod }))
}

fn rem<T: Scalar>(fmod: bool, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if fmod {
        map2(a, b, |x: T, y: T| x.fmod(y))
    } else {
        map2(a, b, |x: T, y: T| x.pymod(y))
    }
}

impl Op for Mod {
    fn op_type(&self) -> &str {
        "Mod"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        common_dtype("Mod", &[ctx.input(0), ctx.input(1)])?;
        Ok(vec![infer_broadcast(
            &ctx.inputs[..ctx.inputs.len().min(2)],
            None,
        )?])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        same_dtype("Mod", a, b)?;
        let c = dispatch_num!(a.dtype(), T => rem::<T>(self.fmod, a, b)?);
        Ok(vec![c.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().int("fmod", self.fmod as i64).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn integer_signs() {
        // test_mod_mixed_sign_int8 (fmod=0) and test_mod_int64_fmod (fmod=1).
        let a = || Tensor::vec1(vec![-4i8, 7, 5, 4, -7, 8]);
        let b = || Tensor::vec1(vec![2i8, -3, 8, -2, 3, 5]);
        let y = eval1(&Mod { fmod: false }, &[Some(a()), Some(b())]).unwrap();
        assert_eq!(y.to_vec::<i8>().unwrap(), [0, -2, 5, 0, 2, 3]);
        let y = eval1(&Mod { fmod: true }, &[Some(a()), Some(b())]).unwrap();
        assert_eq!(y.to_vec::<i8>().unwrap(), [0, 1, 5, 0, -1, 3]);
    }

    #[test]
    fn float_modes() {
        // test_mod_mixed_sign_float32 (fmod=1) and np.mod for fmod=0.
        let a = || Tensor::vec1(vec![-4.3f32, 7.2, 5.0, 4.3, -7.2, 8.0]);
        let b = || Tensor::vec1(vec![2.1f32, -3.4, 8.0, -2.1, 3.4, 5.0]);
        let y = eval1(&Mod { fmod: true }, &[Some(a()), Some(b())]).unwrap();
        crate::ops::testing::assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[-0.1, 0.4, 5., 0.1, -0.4, 3.],
            1e-5,
            0.,
        );
        let y = eval1(&Mod { fmod: false }, &[Some(a()), Some(b())]).unwrap();
        crate::ops::testing::assert_close(
            &y.to_vec::<f32>().unwrap(),
            &[2.0, -3.0, 5., -2.0, 3.0, 3.],
            1e-5,
            0.,
        );
    }
}
