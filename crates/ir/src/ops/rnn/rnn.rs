//! RNN: the simple (Elman) recurrent network, `H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb)`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__RNN.html>
//!
//! Attributes: `activations` (default Tanh per direction), `activation_alpha`,
//! `activation_beta`, `clip`, `direction` (forward | reverse | bidirectional), `hidden_size`,
//! `layout` (14+). Inputs: `X`, `W`, `R`, optional `B`, `sequence_lens`, `initial_h`.
//! Outputs (all optional): `Y`, `Y_h`. Shapes in `common.rs`. Opset 1 had `output_sequence`;
//! 14 added `layout`; 22 added bfloat16.

use super::activation::Act;
use super::common::{export, rnn_cost, RnnAttrs};
use super::driver::{dir_weights, matvec};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{Result, Value, ValueType};

#[derive(Clone, Debug)]
pub struct Rnn {
    pub attrs: RnnAttrs,
    acts: Vec<Vec<Act>>,
}

impl Rnn {
    pub fn new(attrs: RnnAttrs) -> Result<Rnn> {
        let acts = attrs.acts("RNN", &["Tanh"])?;
        Ok(Rnn { attrs, acts })
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Rnn::new(RnnAttrs::parse(ctx, "RNN")?)?))
}

impl Op for Rnn {
    fn op_type(&self) -> &str {
        "RNN"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        self.attrs.infer("RNN", ctx, 1, 2)
    }

    fn eval(&self, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let a = &self.attrs;
        let io = a.inputs("RNN", inputs, 1)?;
        let c0 = vec![0.0; io.h0.len()];
        a.run(&io, &c0, ctx.num_outputs.min(2), |d, x, h, c| {
            let (w, r, wb, rb) = dir_weights(&io, 1, d);
            let gx = matvec(w, x, wb);
            let gh = matvec(r, h, rb);
            let f = self.acts[d][0];
            let h = gx
                .iter()
                .zip(&gh)
                .map(|(p, q)| f.apply(a.clip(p + q)))
                .collect();
            (h, c.to_vec())
        })
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        rnn_cost(ctx, 1, self.attrs.num_dirs())
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        export(&self.attrs, AttrList::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{assert_close, eval, infer};
    use edgeopt_tensor::{DType, Tensor};

    fn attrs(hidden: i64) -> RnnAttrs {
        RnnAttrs {
            hidden_size: Some(hidden),
            ..Default::default()
        }
    }

    #[test]
    fn simple_rnn_defaults() {
        // test_simple_rnn_defaults: X 1x3x2 = 1..6, W and R all 0.1, hidden 4.
        // Y_h[b] = tanh(0.1 * (x0 + x1)) = tanh(0.3), tanh(0.7), tanh(1.1).
        let x = Tensor::from_vec(vec![1, 3, 2], (1..=6).map(|v| v as f32).collect()).unwrap();
        let w = Tensor::from_vec(vec![1, 4, 2], vec![0.1f32; 8]).unwrap();
        let r = Tensor::from_vec(vec![1, 4, 4], vec![0.1f32; 16]).unwrap();
        let op = Rnn::new(attrs(4)).unwrap();
        let ins = [Some(x), Some(w), Some(r)];
        let out = eval(&op, &ins, 2).unwrap();
        let yh = out[1].as_tensor().unwrap();
        let want: Vec<f32> = [0.3f32, 0.7, 1.1]
            .iter()
            .flat_map(|v| [v.tanh(); 4])
            .collect();
        assert_close(yh.as_slice::<f32>().unwrap(), &want, 1e-6, 1e-6);
        let t = infer(&op, &ins, 2).unwrap();
        assert_eq!(t[0], ValueType::known(DType::F32, &[1, 1, 3, 4]));
        assert_eq!(t[1], ValueType::known(DType::F32, &[1, 3, 4]));
    }

    #[test]
    fn reverse_with_sequence_lens() {
        // hidden 1, W = 1, R = 1, Relu: reverse over the valid prefix sums it; padding stays 0.
        let a = RnnAttrs {
            activations: Some(vec!["Relu".into()]),
            direction: Some("reverse".into()),
            ..attrs(1)
        };
        let op = Rnn::new(a).unwrap();
        let x = Tensor::from_vec(vec![3, 2, 1], vec![1f32, 10.0, 2.0, 20.0, 3.0, 30.0]).unwrap();
        let one = |s: Vec<usize>| Tensor::from_vec(s, vec![1f32]).unwrap();
        let lens = Tensor::vec1(vec![2i32, 3]);
        let ins = [
            Some(x),
            Some(one(vec![1, 1, 1])),
            Some(one(vec![1, 1, 1])),
            None,
            Some(lens),
        ];
        let out = eval(&op, &ins, 2).unwrap();
        let y = out[0]
            .as_tensor()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec();
        // Batch 0: t1 = 2, t0 = 1 + 2 = 3, t2 padded. Batch 1: 30, 50, 60.
        assert_eq!(y, vec![3.0, 60.0, 2.0, 50.0, 0.0, 30.0]);
        assert_eq!(
            out[1].as_tensor().unwrap().as_slice::<f32>().unwrap(),
            &[3.0, 60.0]
        );
    }

    #[test]
    fn bidirectional_batch_first_layout() {
        // Affine (identity by default), W = 1, R = 0: every Y entry is the input at that step.
        let a = RnnAttrs {
            activations: Some(vec!["Affine".into(), "Affine".into()]),
            direction: Some("bidirectional".into()),
            layout: Some(1),
            ..attrs(1)
        };
        let op = Rnn::new(a).unwrap();
        let x = Tensor::from_vec(vec![2, 3, 1], vec![1f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let w = Tensor::from_vec(vec![2, 1, 1], vec![1f32, 1.0]).unwrap();
        let r = Tensor::from_vec(vec![2, 1, 1], vec![0f32, 0.0]).unwrap();
        let out = eval(&op, &[Some(x), Some(w), Some(r)], 2).unwrap();
        let y = out[0].as_tensor().unwrap();
        assert_eq!(y.shape(), &[2, 3, 2, 1]);
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[1., 1., 2., 2., 3., 3., 4., 4., 5., 5., 6., 6.]
        );
        // Y_h [batch, dirs, hidden]: forward ends at the last step, reverse at the first.
        assert_eq!(
            out[1].as_tensor().unwrap().as_slice::<f32>().unwrap(),
            &[3., 1., 6., 4.]
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        let op = Rnn::new(attrs(4)).unwrap();
        let x = Tensor::from_vec(vec![1, 3, 2], vec![0f32; 6]).unwrap();
        let w = Tensor::from_vec(vec![1, 4, 3], vec![0f32; 12]).unwrap();
        let r = Tensor::from_vec(vec![1, 4, 4], vec![0f32; 16]).unwrap();
        assert!(eval(&op, &[Some(x), Some(w), Some(r)], 1).is_err());
    }
}
