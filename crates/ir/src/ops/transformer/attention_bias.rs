//! The additive attention bias of [`super::attention::Attention`]: the attention mask, causal
//! frontier, sliding window and key padding folded into one dense
//! `(batch, q_heads, q_len, total_len)` array of `0`, `-inf` or float mask values.
//!
//! Follows `_compute_attention` in onnx/reference/ops/op_attention.py: a mask shorter than the
//! total key length is padded with `-inf` (`False`); causal and window bounds are offset-aligned,
//! the offset being the past length (internal cache), `nonpad_kv_seqlen[b] - q_len` (external
//! cache) or 0.

use crate::{bail, Result};
use edgeopt_tensor::shape::strides;
use edgeopt_tensor::{DType, Tensor};

/// What the bias is built from.
pub struct BiasSpec<'a> {
    pub mask: Option<&'a Tensor>,
    pub is_causal: bool,
    /// Window bounds; `-1` leaves a side unbounded.
    pub left: i64,
    pub right: i64,
    /// Past sequence length when `past_key` is given.
    pub past_len: Option<usize>,
    /// `nonpad_kv_seqlen`, one entry per batch.
    pub nonpad: Option<Vec<i64>>,
}

/// The mask as additive values (bool: true -> 0, false -> -inf) with its broadcast strides
/// over `(b, hq, lq, total)` and its own (unpadded) key length.
struct Mask {
    vals: Vec<f64>,
    strides: [usize; 4],
    keys: usize,
}

fn read_mask(m: &Tensor, target: [usize; 4]) -> Result<Mask> {
    let shape = m.shape();
    let r = shape.len();
    if r == 0 || r > 4 {
        bail!("Attention: attn_mask must have rank 1 to 4, got shape {shape:?}");
    }
    let keys = shape[r - 1];
    if keys > target[3] {
        bail!("Attention: attn_mask {shape:?} has {keys} keys, more than the total sequence length {}", target[3]);
    }
    let own = strides(shape);
    let mut st = [0usize; 4];
    for k in 0..r {
        let (d, t) = (shape[k], target[4 - r + k]);
        let last = k == r - 1;
        if !last && d != 1 && d != t {
            bail!("Attention: attn_mask {shape:?} does not broadcast to {target:?}");
        }
        st[4 - r + k] = if d == 1 && !last { 0 } else { own[k] };
    }
    let vals = if m.dtype() == DType::Bool {
        m.as_slice::<bool>()?
            .iter()
            .map(|&b| if b { 0.0 } else { f64::NEG_INFINITY })
            .collect()
    } else {
        m.to_f64_vec()?
    };
    Ok(Mask {
        vals,
        strides: st,
        keys,
    })
}

/// The bias, produced one query row at a time so that long sequences never materialize the
/// whole `(b, hq, lq, total)` array.
pub struct Bias<'a> {
    spec: &'a BiasSpec<'a>,
    mask: Option<Mask>,
    lq: usize,
}

impl<'a> Bias<'a> {
    /// Validates the mask and `nonpad_kv_seqlen` against `(b, hq, lq, total)`.
    pub fn new(
        spec: &'a BiasSpec<'a>,
        b: usize,
        hq: usize,
        lq: usize,
        total: usize,
    ) -> Result<Self> {
        let mask = spec
            .mask
            .map(|m| read_mask(m, [b, hq, lq, total]))
            .transpose()?;
        if let Some(np) = &spec.nonpad {
            if np.len() != b {
                bail!(
                    "Attention: nonpad_kv_seqlen has {} entries, expected one per batch ({b})",
                    np.len()
                );
            }
        }
        Ok(Bias { spec, mask, lq })
    }

    /// Fills `out` (one entry per key) with the bias of query `i` of head `h` in batch `bb`.
    pub fn row(&self, bb: usize, h: usize, i: usize, out: &mut [f64]) {
        let spec = self.spec;
        let off = match (spec.past_len, &spec.nonpad) {
            (Some(p), _) => p as i64,
            (None, Some(np)) => np[bb] - self.lq as i64,
            (None, None) => 0,
        };
        let windowed = spec.left >= 0 || spec.right >= 0;
        for (j, v) in out.iter_mut().enumerate() {
            *v = match &self.mask {
                Some(m) if j < m.keys => {
                    m.vals
                        [bb * m.strides[0] + h * m.strides[1] + i * m.strides[2] + j * m.strides[3]]
                }
                Some(_) => f64::NEG_INFINITY,
                None => 0.0,
            };
            let diff = i as i64 + off - j as i64;
            let causal_ok = !spec.is_causal || diff >= 0;
            let window_ok = !windowed
                || ((spec.left < 0 || diff <= spec.left)
                    && (spec.right < 0 || -diff <= spec.right));
            let pad_ok = spec.nonpad.as_ref().is_none_or(|np| (j as i64) < np[bb]);
            if !(causal_ok && window_ok && pad_ok) {
                *v += f64::NEG_INFINITY;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NI: f64 = f64::NEG_INFINITY;

    fn build_bias(
        spec: &BiasSpec,
        b: usize,
        hq: usize,
        lq: usize,
        total: usize,
    ) -> Result<Vec<f64>> {
        let bias = Bias::new(spec, b, hq, lq, total)?;
        let mut out = vec![0.0; b * hq * lq * total];
        for (r, row) in out.chunks_mut(total).enumerate() {
            bias.row(r / (hq * lq), (r / lq) % hq, r % lq, row);
        }
        Ok(out)
    }

    fn spec(mask: Option<&Tensor>) -> BiasSpec<'_> {
        BiasSpec {
            mask,
            is_causal: false,
            left: -1,
            right: -1,
            past_len: None,
            nonpad: None,
        }
    }

    #[test]
    fn causal_is_offset_by_past() {
        let s = BiasSpec {
            is_causal: true,
            past_len: Some(1),
            ..spec(None)
        };
        let b = build_bias(&s, 1, 1, 2, 3).unwrap();
        assert_eq!(b, vec![0.0, 0.0, NI, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn short_bool_mask_is_padded_and_broadcast() {
        let m = Tensor::from_vec(vec![2, 1], vec![true, false]).unwrap();
        let b = build_bias(&spec(Some(&m)), 1, 2, 2, 2).unwrap();
        assert_eq!(b, vec![0.0, NI, NI, NI, 0.0, NI, NI, NI]);
    }

    #[test]
    fn window_matches_spec_picture() {
        // S_q=4, S_k=6, left=2, right=1 (ONNX Attention-25 doc): q3 attends k1..k4.
        let s = BiasSpec {
            left: 2,
            right: 1,
            ..spec(None)
        };
        let b = build_bias(&s, 1, 1, 4, 6).unwrap();
        let row3: Vec<bool> = b[18..24].iter().map(|&v| v == 0.0).collect();
        assert_eq!(row3, vec![false, true, true, true, true, false]);
    }

    #[test]
    fn bad_masks_are_refused() {
        let m = Tensor::from_vec(vec![3, 2], vec![0f32; 6]).unwrap();
        assert!(build_bias(&spec(Some(&m)), 1, 1, 2, 2).is_err());
        let m = Tensor::from_vec(vec![1, 5], vec![0f32; 5]).unwrap();
        assert!(build_bias(&spec(Some(&m)), 1, 1, 2, 4).is_err());
    }
}
