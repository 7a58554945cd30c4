//! Unit tests for the ReduceXxx ops. Expected values are hand-computed with numpy
//! (`np.sum`, `np.mean`, ... with the same axes/keepdims), exact or at 1e-6.

use super::reductions::ReduceKind::*;
use super::reductions::*;
use crate::op::{InferCtx, Op};
use crate::ops::testing::{assert_close, eval1, infer};
use crate::registry::BuildCtx;
use crate::{Attribute, ValueType};
use edgeopt_tensor::Dim;
use edgeopt_tensor::{DType, Tensor};

fn data() -> Tensor {
    // The data of the ONNX ReduceSum/ReduceMean examples, shape [3, 2, 2].
    Tensor::from_vec(
        vec![3, 2, 2],
        vec![5f32, 1., 20., 2., 30., 1., 40., 2., 55., 1., 60., 2.],
    )
    .unwrap()
}

fn run(kind: ReduceKind, keepdims: bool, axes: Option<Vec<i64>>, x: Tensor) -> Tensor {
    let op = Reduce::new(kind, keepdims, false);
    eval1(&op, &[Some(x), axes.map(Tensor::vec1)]).unwrap()
}

#[test]
fn sum_mean_keepdims_example() {
    // Values from the ONNX ReduceSum/ReduceMean "keepdims" examples (axes=[1]).
    let y = run(Sum, true, Some(vec![1]), data());
    assert_eq!(y.shape(), &[3, 1, 2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[25., 3., 70., 3., 115., 3.]);
    let y = run(Mean, false, Some(vec![1]), data());
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(
        y.as_slice::<f32>().unwrap(),
        &[12.5, 1.5, 35., 1.5, 57.5, 1.5]
    );
}

#[test]
fn log_sum_exp_and_l2() {
    // numpy: np.log(np.sum(np.exp(x), axis=1)) and np.sqrt(np.sum(x**2, axis=(0,2)))
    let x = Tensor::from_vec(vec![2, 2], vec![1f32, 2., 3., 4.]).unwrap();
    let y = run(LogSumExp, false, Some(vec![1]), x.clone());
    assert_close(
        y.as_slice::<f32>().unwrap(),
        &[2.3132617, 4.3132617],
        1e-6,
        0.0,
    );
    let y = run(L2, false, None, x);
    assert_close(y.as_slice::<f32>().unwrap(), &[5.477226], 1e-6, 0.0);
}

#[test]
fn empty_set_identities() {
    let x = Tensor::from_vec(vec![2, 0, 4], Vec::<f32>::new()).unwrap();
    assert_eq!(
        run(Sum, true, Some(vec![1]), x.clone())
            .as_slice::<f32>()
            .unwrap(),
        &[0.0; 8]
    );
    assert_eq!(
        run(Prod, true, Some(vec![1]), x.clone())
            .as_slice::<f32>()
            .unwrap(),
        &[1.0; 8]
    );
    assert_eq!(
        run(Max, true, Some(vec![1]), x.clone())
            .as_slice::<f32>()
            .unwrap(),
        &[f32::NEG_INFINITY; 8]
    );
    assert_eq!(
        run(LogSum, true, Some(vec![1]), x)
            .as_slice::<f32>()
            .unwrap(),
        &[f32::NEG_INFINITY; 8]
    );
    let xi = Tensor::from_vec(vec![0], Vec::<i32>::new()).unwrap();
    assert_eq!(
        run(Min, false, None, xi).as_slice::<i32>().unwrap(),
        &[i32::MAX]
    );
}

#[test]
fn noop_with_empty_axes_keeps_elementwise_step() {
    let x = Tensor::vec1(vec![-2f32, 3.]);
    let op = Reduce::new(SumSquare, true, true);
    let y = eval1(&op, &[Some(x.clone()), None]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[4., 9.]);
    let op = Reduce::new(Sum, false, true);
    let y = eval1(&op, &[Some(x), Some(Tensor::vec1(Vec::<i64>::new()))]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[-2., 3.]);
}

#[test]
fn ints_and_bools() {
    let x = Tensor::from_vec(vec![2, 2], vec![i64::MAX - 1, 1, -3, 4]).unwrap();
    assert_eq!(
        run(Sum, false, Some(vec![1]), x.clone())
            .as_slice::<i64>()
            .unwrap(),
        &[i64::MAX, 1]
    );
    assert_eq!(
        run(Mean, false, Some(vec![0]), Tensor::vec1(vec![3i32, 4]))
            .as_slice::<i32>()
            .unwrap(),
        &[3]
    );
    assert_eq!(
        run(Max, false, Some(vec![0]), x).as_slice::<i64>().unwrap(),
        &[i64::MAX - 1, 4]
    );
    let b = Tensor::from_vec(vec![2, 2], vec![true, false, false, false]).unwrap();
    assert_eq!(
        run(Max, false, Some(vec![1]), b.clone())
            .as_slice::<bool>()
            .unwrap(),
        &[true, false]
    );
    assert_eq!(
        run(Min, false, Some(vec![1]), b)
            .as_slice::<bool>()
            .unwrap(),
        &[false, false]
    );
}

#[test]
fn inference_with_constant_and_runtime_axes() {
    let op = Reduce::new(Sum, false, false);
    let t = infer(&op, &[Some(data()), Some(Tensor::vec1(vec![-1i64]))], 1).unwrap();
    assert_eq!(t[0], ValueType::known(DType::F32, &[3, 2]));
    let keep = Reduce::new(Max, true, false);
    let types = [
        ValueType::known(DType::F32, &[3, 2, 2]),
        ValueType::known(DType::I64, &[1]),
    ];
    let ctx = InferCtx {
        opset: 18,
        inputs: &types,
        consts: &[None, None],
        num_outputs: 1,
    };
    let t = keep.infer(&ctx).unwrap();
    assert_eq!(t[0].shape().unwrap(), &vec![Dim::Unknown; 3]);
}

#[test]
fn attribute_axes_before_opset_13() {
    let mut attrs = crate::Attrs::default();
    attrs.insert("axes", Attribute::Ints(vec![0, 2]));
    attrs.insert("keepdims", Attribute::Int(0));
    let mut ctx = BuildCtx {
        opset: 11,
        attrs: &mut attrs,
        num_inputs: 1,
        num_outputs: 1,
    };
    let op = build(&mut ctx, Sum).unwrap();
    let y = eval1(op.as_ref(), &[Some(data())]).unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[93., 126.]);
    assert_eq!(op.attributes().len(), 2);
}
