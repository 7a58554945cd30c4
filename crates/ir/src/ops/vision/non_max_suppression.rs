//! NonMaxSuppression: greedy per-class box selection by score, dropping boxes that overlap a
//! selected one by more than an IoU threshold.
//! Spec: <https://onnx.ai/onnx/operators/onnx__NonMaxSuppression.html>
//!
//! Attribute: `center_point_box` (0: boxes are [y1, x1, y2, x2] with any corner order;
//! 1: [x_center, y_center, width, height]). Inputs: `boxes` `[B, N, 4]`, `scores` `[B, C, N]`,
//! optional `max_output_boxes_per_class` (int64, default 0 = select nothing), `iou_threshold`
//! (default 0), `score_threshold` (boxes must score strictly above it; no filter when absent).
//! Output: `selected_indices` `[K, 3]` int64 rows (batch, class, box), batch-major, then class,
//! then descending score (ties: lower box index first).
//! Opset differences: 11 only clarifies 10. Arithmetic follows the reference in f64.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct NonMaxSuppression {
    pub center_point_box: bool,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let c = ctx.attrs.int_or("center_point_box", 0)?;
    if !(0..=1).contains(&c) {
        bail!("NonMaxSuppression: center_point_box must be 0 or 1, got {c}");
    }
    Ok(Box::new(NonMaxSuppression {
        center_point_box: c == 1,
    }))
}

impl NonMaxSuppression {
    /// (x_min, y_min, x_max, y_max) of a box.
    fn corners(&self, b: &[f64]) -> (f64, f64, f64, f64) {
        if self.center_point_box {
            let (hw, hh) = (b[2] / 2.0, b[3] / 2.0);
            (b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh)
        } else {
            (
                b[1].min(b[3]),
                b[0].min(b[2]),
                b[1].max(b[3]),
                b[0].max(b[2]),
            )
        }
    }

    fn suppresses(&self, a: &[f64], b: &[f64], iou_threshold: f64) -> bool {
        let (ax0, ay0, ax1, ay1) = self.corners(a);
        let (bx0, by0, bx1, by1) = self.corners(b);
        let (ix0, ix1) = (ax0.max(bx0), ax1.min(bx1));
        let (iy0, iy1) = (ay0.max(by0), ay1.min(by1));
        if ix1 <= ix0 || iy1 <= iy0 {
            return false;
        }
        let inter = (ix1 - ix0) * (iy1 - iy0);
        let (area_a, area_b) = ((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0));
        let union = area_a + area_b - inter;
        if inter <= 0.0 || area_a <= 0.0 || area_b <= 0.0 || union <= 0.0 {
            return false;
        }
        inter / union > iou_threshold
    }
}

/// The first value of an optional scalar input.
fn scalar(t: Option<&Tensor>, what: &str) -> Result<Option<f64>> {
    match t {
        None => Ok(None),
        Some(t) if t.is_empty() => Ok(None),
        Some(t) if t.len() == 1 => Ok(Some(t.to_f64_vec()?[0])),
        Some(t) => bail!(
            "NonMaxSuppression: {what} must be a scalar, got shape {:?}",
            t.shape()
        ),
    }
}

impl Op for NonMaxSuppression {
    fn op_type(&self) -> &str {
        "NonMaxSuppression"
    }

    fn infer(&self, _ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(DType::I64),
            shape: Some(vec![Dim::Unknown, Dim::Known(3)]),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let (boxes, scores) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let (&[nb, n, 4], &[sb, nc, sn]) = (boxes.shape(), scores.shape()) else {
            bail!(
                "NonMaxSuppression: boxes {:?} must be [B, N, 4] and scores {:?} [B, C, N]",
                boxes.shape(),
                scores.shape()
            )
        };
        if nb != sb || n != sn {
            bail!(
                "NonMaxSuppression: boxes {:?} and scores {:?} disagree",
                boxes.shape(),
                scores.shape()
            );
        }
        let max_out = match inputs.opt_tensor(2)? {
            Some(t) if !t.is_empty() => t.to_i64_vec()?[0].max(0) as usize,
            _ => 0,
        };
        let iou = scalar(inputs.opt_tensor(3)?, "iou_threshold")?.unwrap_or(0.0);
        let score_threshold = scalar(inputs.opt_tensor(4)?, "score_threshold")?;
        let (bv, sv) = (boxes.to_f64_vec()?, scores.to_f64_vec()?);
        let mut out: Vec<i64> = Vec::new();
        for b in 0..nb {
            let bx = |i: usize| &bv[(b * n + i) * 4..(b * n + i) * 4 + 4];
            for c in 0..nc {
                let s = &sv[(b * nc + c) * n..(b * nc + c + 1) * n];
                let mut cand: Vec<usize> = (0..n)
                    .filter(|&i| score_threshold.is_none_or(|t| s[i] > t))
                    .collect();
                // Highest score first; equal scores keep the lower index first.
                cand.sort_by(|&p, &q| s[q].total_cmp(&s[p]).then(p.cmp(&q)));
                let mut kept: Vec<usize> = Vec::new();
                for i in cand {
                    if kept.len() >= max_out {
                        break;
                    }
                    if kept.iter().all(|&k| !self.suppresses(bx(i), bx(k), iou)) {
                        kept.push(i);
                        out.extend([b as i64, c as i64, i as i64]);
                    }
                }
            }
        }
        let k = out.len() / 3;
        Ok(vec![Tensor::from_vec(vec![k, 3], out)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let a = AttrList::default();
        if self.center_point_box {
            a.int("center_point_box", 1).build()
        } else {
            a.build()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn boxes() -> Tensor {
        // The ONNX suppress_by_IOU example boxes.
        let b = [
            0., 0., 1., 1., 0., 0.1, 1., 1.1, 0., -0.1, 1., 0.9, 0., 10., 1., 11., 0., 10.1, 1.,
            11.1, 0., 100., 1., 101.,
        ];
        Tensor::from_vec(vec![1, 6, 4], b.map(|v: f64| v as f32).to_vec()).unwrap()
    }

    fn scores() -> Tensor {
        Tensor::from_vec(vec![1, 1, 6], vec![0.9f32, 0.75, 0.6, 0.95, 0.5, 0.3]).unwrap()
    }

    fn run(max: i64, iou: f32, thr: Option<f32>) -> Vec<i64> {
        let ins = [
            Some(boxes()),
            Some(scores()),
            Some(Tensor::vec1(vec![max])),
            Some(Tensor::vec1(vec![iou])),
            thr.map(|t| Tensor::vec1(vec![t])),
        ];
        eval1(
            &NonMaxSuppression {
                center_point_box: false,
            },
            &ins,
        )
        .unwrap()
        .as_slice::<i64>()
        .unwrap()
        .to_vec()
    }

    #[test]
    fn spec_examples() {
        // test_nonmaxsuppression_suppress_by_IOU: [[0,0,3],[0,0,0],[0,0,5]].
        assert_eq!(run(3, 0.5, Some(0.0)), vec![0, 0, 3, 0, 0, 0, 0, 0, 5]);
        // ..._limit_output_size (max 2): [[0,0,3],[0,0,0]].
        assert_eq!(run(2, 0.5, Some(0.0)), vec![0, 0, 3, 0, 0, 0]);
        // ..._suppress_by_IOU_and_scores (score threshold 0.4): [[0,0,3],[0,0,0]].
        assert_eq!(run(3, 0.5, Some(0.4)), vec![0, 0, 3, 0, 0, 0]);
        // No max given selects nothing.
        assert!(eval1(
            &NonMaxSuppression {
                center_point_box: false
            },
            &[Some(boxes()), Some(scores())]
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn center_point_format() {
        let b =
            Tensor::from_vec(vec![1, 2, 4], vec![0.5f32, 0.5, 1., 1., 0.5, 0.6, 1., 1.]).unwrap();
        let s = Tensor::from_vec(vec![1, 1, 2], vec![0.9f32, 0.8]).unwrap();
        let op = NonMaxSuppression {
            center_point_box: true,
        };
        let y = eval1(
            &op,
            &[
                Some(b),
                Some(s),
                Some(Tensor::vec1(vec![5i64])),
                Some(Tensor::vec1(vec![0.5f32])),
            ],
        )
        .unwrap();
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 0, 0]);
    }
}
