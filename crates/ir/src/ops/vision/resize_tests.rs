//! Resize unit tests. Expected values come from the ONNX reference implementation
//! (onnx 1.23 `ReferenceEvaluator`) or the ONNX backend-test examples, compared at 1e-5.

#![allow(clippy::excessive_precision)]

use super::resize::build;
use crate::ops::testing::{assert_close, eval1};
use crate::registry::BuildCtx;
use crate::{Attribute, Attrs, Op};
use edgeopt_tensor::Tensor;

fn op(attrs: &[(&str, Attribute)], opset: i64) -> Box<dyn Op> {
    let mut a = Attrs::default();
    for (k, v) in attrs {
        a.insert(k, v.clone());
    }
    let mut ctx = BuildCtx {
        opset,
        attrs: &mut a,
        num_inputs: 4,
        num_outputs: 1,
    };
    let op = build(&mut ctx).unwrap();
    assert!(a.leftover().is_empty());
    op
}

fn s(v: &str) -> Attribute {
    Attribute::String(v.as_bytes().to_vec())
}

fn x4() -> Tensor {
    Tensor::from_vec(vec![1, 1, 4, 4], (1..=16).map(|v| v as f32).collect()).unwrap()
}

fn run(
    op: &dyn Op,
    x: Tensor,
    roi: Option<Vec<f32>>,
    scales: Option<Vec<f32>>,
    sizes: Option<Vec<i64>>,
) -> Tensor {
    eval1(
        op,
        &[
            Some(x),
            roi.map(Tensor::vec1),
            scales.map(Tensor::vec1),
            sizes.map(Tensor::vec1),
        ],
    )
    .unwrap()
}

#[test]
fn upsample_scales_linear_spec_example() {
    let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![1f32, 2., 3., 4.]).unwrap();
    let y = run(
        op(&[("mode", s("linear"))], 19).as_ref(),
        x,
        None,
        Some(vec![1., 1., 2., 2.]),
        None,
    );
    assert_eq!(y.shape(), &[1, 1, 4, 4]);
    let want = [
        1., 1.25, 1.75, 2., 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3., 3.25, 3.75, 4.,
    ];
    assert_close(y.as_slice::<f32>().unwrap(), &want, 1e-6, 0.0);
}

#[test]
fn downsample_scales_nearest_spec_example() {
    let x = Tensor::from_vec(vec![1, 1, 2, 4], (1..=8).map(|v| v as f32).collect()).unwrap();
    let y = run(
        op(&[], 19).as_ref(),
        x,
        None,
        Some(vec![1., 1., 0.6, 0.6]),
        None,
    );
    assert_eq!(y.shape(), &[1, 1, 1, 2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 3.]);
}

#[test]
fn cubic_downsample_matches_reference() {
    let y = run(
        op(&[("mode", s("cubic"))], 19).as_ref(),
        x4(),
        None,
        Some(vec![1., 1., 0.8, 0.8]),
        None,
    );
    let want = [
        1.4711914, 2.78125, 4.0825195, 6.7114258, 8.021484, 9.322754, 11.916504, 13.226562,
        14.527831,
    ];
    assert_close(y.as_slice::<f32>().unwrap(), &want, 1e-5, 0.0);
}

#[test]
fn cubic_exclude_outside_matches_reference() {
    let attrs = [
        ("mode", s("cubic")),
        ("cubic_coeff_a", Attribute::Float(-0.5)),
        ("exclude_outside", Attribute::Int(1)),
    ];
    let y = run(
        op(&attrs, 19).as_ref(),
        x4(),
        None,
        Some(vec![1., 1., 1.5, 1.5]),
        None,
    );
    assert_eq!(y.shape(), &[1, 1, 6, 6]);
    let want = [
        0.67105395, 1.1486079, 1.9035093, 2.570177, 3.3250785, 3.8026323, 2.5812695, 3.0588236,
    ];
    assert_close(&y.as_slice::<f32>().unwrap()[..8], &want, 1e-5, 0.0);
}

#[test]
fn linear_antialias_sizes_matches_reference() {
    let y = run(
        op(
            &[("mode", s("linear")), ("antialias", Attribute::Int(1))],
            19,
        )
        .as_ref(),
        x4(),
        None,
        None,
        Some(vec![1, 1, 3, 3]),
    );
    let want = [
        2.3636363, 3.590909, 4.818182, 7.2727275, 8.5, 9.727273, 12.181818, 13.409091, 14.636364,
    ];
    assert_close(y.as_slice::<f32>().unwrap(), &want, 1e-5, 0.0);
}

#[test]
fn tf_crop_and_resize_extrapolates() {
    let attrs = [
        ("coordinate_transformation_mode", s("tf_crop_and_resize")),
        ("extrapolation_value", Attribute::Float(10.)),
    ];
    let roi = vec![0., 0., 0.4, 0.6, 1., 1., 1.2, 1.7];
    let y = run(
        op(&attrs, 19).as_ref(),
        x4(),
        Some(roi),
        None,
        Some(vec![1, 1, 3, 3]),
    );
    assert_eq!(
        y.as_slice::<f32>().unwrap(),
        &[7., 10., 10., 11., 10., 10., 10., 10., 10.]
    );
}

#[test]
fn half_pixel_symmetric_with_reversed_axes() {
    let attrs = [
        ("mode", s("linear")),
        ("coordinate_transformation_mode", s("half_pixel_symmetric")),
        ("axes", Attribute::Ints(vec![3, 2])),
    ];
    let y = run(
        op(&attrs, 19).as_ref(),
        x4(),
        None,
        Some(vec![0.6, 1.3]),
        None,
    );
    assert_eq!(y.shape(), &[1, 1, 5, 2]);
    let want = [
        1.6666667, 3.3333333, 4.5897436, 6.2564101, 7.6666665, 9.333333, 10.74359, 12.410256,
        13.666667, 15.333333,
    ];
    assert_close(y.as_slice::<f32>().unwrap(), &want, 1e-5, 0.0);
}

#[test]
fn keep_aspect_ratio_not_smaller() {
    let attrs = [
        ("keep_aspect_ratio_policy", s("not_smaller")),
        ("axes", Attribute::Ints(vec![2, 3])),
    ];
    let y = run(op(&attrs, 19).as_ref(), x4(), None, None, Some(vec![6, 5]));
    assert_eq!(y.shape(), &[1, 1, 6, 6]);
    let row2: Vec<f32> = y.as_slice::<f32>().unwrap()[12..18].to_vec();
    assert_eq!(row2, vec![5., 5., 6., 7., 7., 8.]);
}

#[test]
fn integer_cubic_rounds_and_saturates() {
    let x = Tensor::from_vec(vec![1, 4], vec![0u8, 100, 200, 255]).unwrap();
    let y = run(
        op(&[("mode", s("cubic"))], 19).as_ref(),
        x,
        None,
        Some(vec![1., 1.7]),
        None,
    );
    assert_eq!(y.as_slice::<u8>().unwrap(), &[0, 30, 96, 159, 215, 246]);
}

#[test]
fn opset10_nearest_rounds_up_when_downsampling() {
    // Old backend test test_resize_downsample_nearest (opset 10): [[1,2,3,4],[5,6,7,8]] x0.6 -> [[1, 3]].
    let x = Tensor::from_vec(vec![1, 1, 2, 4], (1..=8).map(|v| v as f32).collect()).unwrap();
    let y = eval1(
        op(&[("mode", s("nearest"))], 10).as_ref(),
        &[Some(x), Some(Tensor::vec1(vec![1f32, 1., 0.6, 0.6]))],
    )
    .unwrap();
    assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 3.]);
}

#[test]
fn nearest_copies_strings_and_bad_inputs_error() {
    let x = Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap();
    let r = op(&[("coordinate_transformation_mode", s("asymmetric"))], 19);
    let y = run(r.as_ref(), x.clone(), None, Some(vec![2.]), None);
    assert_eq!(
        y.as_strings().unwrap(),
        &["a", "a", "b", "b"].map(String::from)
    );
    let e = eval1(
        r.as_ref(),
        &[
            Some(x.clone()),
            None,
            Some(Tensor::vec1(vec![2f32])),
            Some(Tensor::vec1(vec![4i64])),
        ],
    );
    assert!(e.is_err());
    let e = eval1(
        r.as_ref(),
        &[Some(x), None, Some(Tensor::vec1(vec![-1f32])), None],
    );
    assert!(e.is_err());
}

#[test]
fn pytorch_half_pixel_single_output_maps_to_zero() {
    // Spec: x_original = length_resized > 1 ? ... : 0, so cubic picks exactly x[0].
    let attrs = [
        ("mode", s("cubic")),
        ("coordinate_transformation_mode", s("pytorch_half_pixel")),
    ];
    let y = run(
        op(&attrs, 19).as_ref(),
        x4(),
        None,
        None,
        Some(vec![1, 1, 1, 1]),
    );
    assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0]);
}
