//! CumProd: running product along one axis.
//! Spec: <https://onnx.ai/onnx/operators/onnx__CumProd.html>. Since opset 26.
//!
//! Attributes `exclusive` (int, default 0: an element's own value is left out of its product)
//! and `reverse` (int, default 0: accumulate from the end).
//! Inputs x (numeric type T), axis (0-D i32/i64 tensor, in `-r..r`); output y: T, same shape.

use super::cum_sum::{eval_cumulative, export, flags};
use crate::attr::Attribute;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::BuildCtx;
use crate::{Result, Value, ValueType};

#[derive(Clone, Debug, Default)]
pub struct CumProd {
    pub exclusive: bool,
    pub reverse: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let (exclusive, reverse) = flags(ctx)?;
    Ok(Box::new(CumProd { exclusive, reverse }))
}

impl Op for CumProd {
    fn op_type(&self) -> &str {
        "CumProd"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![eval_cumulative(
            "CumProd",
            true,
            (self.exclusive, self.reverse),
            inputs,
        )?])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        export(self.exclusive, self.reverse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    fn run(exclusive: bool, reverse: bool, x: Tensor, axis: i32) -> Tensor {
        eval1(
            &CumProd { exclusive, reverse },
            &[Some(x), Some(Tensor::scalar(axis))],
        )
        .unwrap()
    }

    #[test]
    fn one_d_modes() {
        // test_cumprod_1d, _exclusive, _reverse, _reverse_exclusive on [1, 2, 3, 4, 5].
        let x = || Tensor::vec1(vec![1f32, 2., 3., 4., 5.]);
        assert_eq!(
            run(false, false, x(), 0).to_vec::<f32>().unwrap(),
            [1., 2., 6., 24., 120.]
        );
        assert_eq!(
            run(true, false, x(), 0).to_vec::<f32>().unwrap(),
            [1., 1., 2., 6., 24.]
        );
        assert_eq!(
            run(false, true, x(), 0).to_vec::<f32>().unwrap(),
            [120., 120., 60., 20., 5.]
        );
        assert_eq!(
            run(true, true, x(), 0).to_vec::<f32>().unwrap(),
            [120., 60., 20., 5., 1.]
        );
    }

    #[test]
    fn two_d_int() {
        // test_cumprod_2d_int32: axis 0 on [[1,2,3],[4,5,6]].
        let x = Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(
            run(false, false, x, 0).to_vec::<i32>().unwrap(),
            [1, 2, 3, 4, 10, 18]
        );
    }
}
