//! Col2Im: rearranges column blocks back into an image, summing overlaps (inverse of im2col).
//! Spec: <https://onnx.ai/onnx/operators/onnx__Col2Im.html>
//!
//! Attributes: `dilations`, `pads` (begin values then end values), `strides`; each defaults to
//! 1 / 0 / 1 per spatial axis. Inputs: `input` `[N, C * prod(block_shape), L]` (numeric),
//! `image_shape` and `block_shape` (1-D int64, one value per spatial axis).
//! Output: `[N, C, *image_shape]`. L must equal the number of sliding blocks.
//! Since opset 18. Sums run in f64 and are converted back to the input dtype.

use crate::attr::AttrList;
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::{checked_numel, strides};
use edgeopt_tensor::{Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Col2Im {
    pub dilations: Option<Vec<i64>>,
    pub pads: Option<Vec<i64>>,
    pub strides: Option<Vec<i64>>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    Ok(Box::new(Col2Im {
        dilations: ctx.attrs.ints("dilations")?,
        pads: ctx.attrs.ints("pads")?,
        strides: ctx.attrs.ints("strides")?,
    }))
}

fn dims(t: &Tensor, what: &str) -> Result<Vec<usize>> {
    let v = t.to_i64_vec()?;
    if v.iter().any(|&d| d <= 0) {
        bail!("Col2Im: {what} {v:?} must be positive");
    }
    Ok(v.into_iter().map(|d| d as usize).collect())
}

/// Per-axis geometry: (dilation, pad_begin, pad_end, stride), all validated.
fn geometry(op: &Col2Im, n: usize) -> Result<Vec<(i64, i64, i64, i64)>> {
    let get = |v: &Option<Vec<i64>>, len: usize, default: i64, what: &str| -> Result<Vec<i64>> {
        match v {
            None => Ok(vec![default; len]),
            Some(v) if v.len() == len => Ok(v.clone()),
            Some(v) => bail!("Col2Im: {what} {v:?} should have {len} values"),
        }
    };
    let (d, p, s) = (
        get(&op.dilations, n, 1, "dilations")?,
        get(&op.pads, 2 * n, 0, "pads")?,
        get(&op.strides, n, 1, "strides")?,
    );
    if d.iter().chain(&s).any(|&v| v <= 0) || p.iter().any(|&v| v < 0) {
        bail!(
            "Col2Im: dilations {d:?} and strides {s:?} must be positive, pads {p:?} non-negative"
        );
    }
    Ok((0..n).map(|i| (d[i], p[i], p[n + i], s[i])).collect())
}

impl Op for Col2Im {
    fn op_type(&self) -> &str {
        "Col2Im"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let x = ctx.tensor(0);
        let img = ctx.konst(1).map(|t| dims(t, "image_shape")).transpose()?;
        let blk = ctx.konst(2).map(|t| dims(t, "block_shape")).transpose()?;
        let shape = x.shape.as_ref().map(|s| {
            let n = s.first().cloned().unwrap_or(Dim::Unknown);
            let c = match (s.get(1).and_then(Dim::known), &blk) {
                (Some(c), Some(b)) => Dim::Known(c / b.iter().product::<usize>().max(1)),
                _ => Dim::Unknown,
            };
            let mut out = vec![n, c];
            match &img {
                Some(i) => out.extend(i.iter().map(|&d| Dim::Known(d))),
                None => return None,
            }
            Some(out)
        });
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: x.dtype,
            shape: shape.flatten(),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let img = dims(inputs.tensor(1)?, "image_shape")?;
        let blk = dims(inputs.tensor(2)?, "block_shape")?;
        let nd = img.len();
        if blk.len() != nd {
            bail!("Col2Im: image_shape {img:?} and block_shape {blk:?} differ in length");
        }
        let geo = geometry(self, nd)?;
        let &[n, ck, l] = x.shape() else {
            bail!("Col2Im: input must be 3-D, got shape {:?}", x.shape())
        };
        let k: usize = checked_numel(&blk)?;
        if ck % k != 0 {
            bail!("Col2Im: input dim 1 ({ck}) is not divisible by prod(block_shape) = {k}");
        }
        let c = ck / k;
        let mut nblocks = Vec::with_capacity(nd);
        for i in 0..nd {
            let (d, pb, pe, s) = geo[i];
            let span = img[i] as i64 + pb + pe - d * (blk[i] as i64 - 1) - 1;
            if span < 0 {
                bail!("Col2Im: block {blk:?} does not fit image {img:?} with the given pads and dilations");
            }
            nblocks.push((span / s + 1) as usize);
        }
        if checked_numel(&nblocks)? != l {
            bail!("Col2Im: input has {l} blocks, but image {img:?} with block {blk:?} gives {nblocks:?}");
        }
        let mut out_shape = vec![n, c];
        out_shape.extend(&img);
        let xs = x.to_f64_vec()?;
        let plane = checked_numel(&img)?;
        let mut y = vec![0f64; checked_numel(&out_shape)?];
        let (kst, bst, ist) = (strides(&blk), strides(&nblocks), strides(&img));
        for b in 0..n * c {
            for kk in 0..k {
                for col in 0..l {
                    let mut dst = 0usize;
                    let inside = (0..nd).all(|i| {
                        let (d, pb, _, s) = geo[i];
                        let ki = ((kk / kst[i]) % blk[i]) as i64;
                        let ci = ((col / bst[i]) % nblocks[i]) as i64;
                        let p = ci * s - pb + ki * d;
                        dst += p.max(0) as usize * ist[i];
                        p >= 0 && (p as usize) < img[i]
                    });
                    if inside {
                        y[b * plane + dst] += xs[(b * k + kk) * l + col];
                    }
                }
            }
        }
        Ok(vec![Tensor::from_f64s(x.dtype(), out_shape, &y)?.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let n = ctx
            .input_shape(0)
            .map(|s| s.iter().product::<usize>() as u64)
            .unwrap_or(0);
        Cost {
            flops: n,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_ints("dilations", self.dilations.as_deref())
            .opt_ints("pads", self.pads.as_deref())
            .opt_ints("strides", self.strides.as_deref())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn run(op: &Col2Im, x: Tensor, img: Vec<i64>, blk: Vec<i64>) -> Tensor {
        eval1(
            op,
            &[Some(x), Some(Tensor::vec1(img)), Some(Tensor::vec1(blk))],
        )
        .unwrap()
    }

    #[test]
    fn spec_example_5x5_block_1x5() {
        // ONNX test_col2im: input arange(1, 26) as [1, 5, 5], image [5, 5], block [1, 5]:
        // output[0, 0, i, j] = input[0, j, i] (each block is one row).
        let x = Tensor::from_vec(vec![1, 5, 5], (1..=25).map(|v| v as f32).collect()).unwrap();
        let op = Col2Im {
            dilations: None,
            pads: None,
            strides: None,
        };
        let y = run(&op, x, vec![5, 5], vec![1, 5]);
        assert_eq!(y.shape(), &[1, 1, 5, 5]);
        assert_eq!(&y.as_slice::<f32>().unwrap()[..5], &[1., 6., 11., 16., 21.]);
    }

    #[test]
    fn overlaps_sum_with_pads() {
        // 1-D: image 3, block 2, pads [1, 1] -> 4 blocks; each output gets two contributions.
        let x =
            Tensor::from_vec(vec![1, 2, 4], vec![1f32, 1., 1., 1., 10., 10., 10., 10.]).unwrap();
        let op = Col2Im {
            dilations: None,
            pads: Some(vec![1, 1]),
            strides: None,
        };
        let y = run(&op, x, vec![3], vec![2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[11., 11., 11.]);
    }

    #[test]
    fn block_count_mismatch_errors() {
        let x = Tensor::zeros(edgeopt_tensor::DType::F32, vec![1, 2, 3]).unwrap();
        let op = Col2Im {
            dilations: None,
            pads: None,
            strides: None,
        };
        assert!(eval1(
            &op,
            &[
                Some(x),
                Some(Tensor::vec1(vec![3i64])),
                Some(Tensor::vec1(vec![2i64]))
            ]
        )
        .is_err());
    }
}
