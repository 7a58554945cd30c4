//! ArrayFeatureExtractor (ai.onnx.ml): selects elements along the last axis by index.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxml_ArrayFeatureExtractor.html>
//!
//! Inputs: X [..., N] (float, double, int64, int32, string), Y (int64 indices into the last
//! axis, any shape, read flat). Output: X.shape[..-1] + [len(Y)]; a 1-D X gives [1, len(Y)]
//! (as onnxruntime does). No attributes. Opset 1 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::gather_flat;
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Dim;

#[derive(Clone, Debug)]
pub struct ArrayFeatureExtractor;

pub fn build(_ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(ArrayFeatureExtractor))
}

impl Op for ArrayFeatureExtractor {
    fn op_type(&self) -> &str {
        "ArrayFeatureExtractor"
    }

    fn domain(&self) -> &str {
        "ai.onnx.ml"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let k = ctx
            .tensor(1)
            .concrete_shape()
            .map_or(Dim::Unknown, |s| Dim::Known(s.iter().product()));
        let shape = x.shape.map(|s| match s.len() {
            0 | 1 => vec![Dim::Known(1), k.clone()],
            r => [s[..r - 1].to_vec(), vec![k.clone()]].concat(),
        });
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (x, y) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let Some(&n) = x.shape().last() else {
            bail!("ArrayFeatureExtractor: X must have rank >= 1")
        };
        let idx = y.to_i64_vec()?;
        if let Some(&bad) = idx.iter().find(|&&i| i < 0 || i as usize >= n) {
            bail!(
                "ArrayFeatureExtractor: index {bad} is out of range for last axis {n} of {:?}",
                x.shape()
            );
        }
        let rows = x.len() / n.max(1);
        let shape = if x.rank() == 1 {
            vec![1, idx.len()]
        } else {
            [&x.shape()[..x.rank() - 1], &[idx.len()]].concat()
        };
        let mut flat = Vec::with_capacity(checked_numel(&shape)?);
        for r in 0..rows {
            flat.extend(idx.iter().map(|&i| r * n + i as usize));
        }
        Ok(vec![gather_flat(x, &flat, shape)?.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::Tensor;

    #[test]
    fn selects_columns() {
        // test_ai_onnx_ml_array_feature_extractor: columns [0, 1] of a 3x4 matrix.
        let x = Tensor::from_vec(vec![3, 4], (0..12).map(|v| v as f32).collect()).unwrap();
        let y = eval1(
            &ArrayFeatureExtractor,
            &[Some(x), Some(Tensor::vec1(vec![0i64, 1]))],
        )
        .unwrap();
        assert_eq!(
            (y.shape(), y.to_vec::<f32>().unwrap()),
            (&[3usize, 2][..], vec![0., 1., 4., 5., 8., 9.])
        );
        let v = Tensor::vec1(vec![5i64, 6, 7]);
        let y = eval1(
            &ArrayFeatureExtractor,
            &[Some(v.clone()), Some(Tensor::vec1(vec![2i64]))],
        )
        .unwrap();
        assert_eq!(
            (y.shape(), y.to_vec::<i64>().unwrap()),
            (&[1usize, 1][..], vec![7])
        );
        assert!(eval1(
            &ArrayFeatureExtractor,
            &[Some(v), Some(Tensor::vec1(vec![3i64]))]
        )
        .is_err());
    }
}
