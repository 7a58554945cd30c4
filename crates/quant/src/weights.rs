//! Quantizing constant tensors: per tensor, per channel (one scale per index of an axis) or in
//! blocks along an axis, and int32 biases.

use crate::params::{QParams, QType};
use crate::Result;
use edgeopt_tensor::{Tensor, TensorError};

/// A quantized constant: integer tensor plus one parameter per channel / block (or one).
#[derive(Clone, Debug)]
pub struct QuantizedTensor {
    pub data: Tensor,
    pub params: Vec<QParams>,
    /// Shape of the scale / zero point tensors (`[]` for per tensor).
    pub param_shape: Vec<usize>,
}

/// Builds an integer tensor of `qt` from quantized values.
pub fn int_tensor(qt: QType, shape: Vec<usize>, q: &[i32]) -> Result<Tensor> {
    Ok(match qt {
        QType::U8 => Tensor::from_vec(shape, q.iter().map(|&v| v as u8).collect())?,
        QType::I8 => Tensor::from_vec(shape, q.iter().map(|&v| v as i8).collect())?,
        // One element per byte holding the 4-bit code, as edgeopt-tensor stores 4-bit types.
        QType::I4 | QType::U4 => Tensor::from_bytes(
            qt.dtype(),
            shape,
            q.iter()
                .map(|&v| (v as u8) & 0x0f)
                .collect::<Vec<u8>>()
                .into(),
        )?,
    })
}

/// Scalar or 1-D scale / zero point tensors for `params`.
pub fn param_tensors(qt: QType, params: &[QParams], shape: &[usize]) -> Result<(Tensor, Tensor)> {
    let s: Vec<f32> = params.iter().map(|p| p.scale).collect();
    let z: Vec<i32> = params.iter().map(|p| p.zero_point).collect();
    Ok((
        Tensor::from_vec(shape.to_vec(), s)?,
        int_tensor(qt, shape.to_vec(), &z)?,
    ))
}

fn f32_values(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.to_f64_vec()?.into_iter().map(|x| x as f32).collect())
}

/// Quantizes `t` with min/max ranges, per tensor (`axis = None`) or per index of `axis`.
pub fn quantize_weight(
    t: &Tensor,
    axis: Option<usize>,
    qt: QType,
    symmetric: bool,
    reduce_range: bool,
) -> Result<QuantizedTensor> {
    let x = f32_values(t)?;
    let shape = t.shape();
    let (n, inner) = match axis {
        Some(a) if a < shape.len() => (shape[a], shape[a + 1..].iter().product::<usize>()),
        Some(a) => {
            return Err(TensorError::Other(format!(
                "axis {a} out of range for weight of shape {shape:?}"
            ))
            .into())
        }
        None => (1, x.len().max(1)),
    };
    let channel = |i: usize| if axis.is_some() { (i / inner) % n } else { 0 };
    let mut lo = vec![f32::INFINITY; n];
    let mut hi = vec![f32::NEG_INFINITY; n];
    for (i, &v) in x.iter().enumerate() {
        let c = channel(i);
        lo[c] = lo[c].min(v);
        hi[c] = hi[c].max(v);
    }
    let params: Vec<QParams> = (0..n)
        .map(|c| QParams::from_range(lo[c], hi[c], qt, symmetric, reduce_range))
        .collect();
    let q: Vec<i32> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| params[channel(i)].quantize(v, qt))
        .collect();
    Ok(QuantizedTensor {
        data: int_tensor(qt, shape.to_vec(), &q)?,
        param_shape: if axis.is_some() { vec![n] } else { vec![] },
        params,
    })
}

/// Quantizes a 2-D `[K, N]` weight in blocks of `block` rows along axis 0 (per column), as
/// DequantizeLinear with `block_size` reads it: scale shape `[ceil(K / block), N]`.
pub fn quantize_blocked(
    t: &Tensor,
    block: usize,
    qt: QType,
    symmetric: bool,
) -> Result<QuantizedTensor> {
    let x = f32_values(t)?;
    let [k, n] = t.shape() else {
        return Err(TensorError::Other(format!(
            "blockwise quantization needs a 2-D weight, got shape {:?}",
            t.shape()
        ))
        .into());
    };
    let (k, n) = (*k, *n);
    let nb = k.div_ceil(block.max(1));
    let mut params = Vec::with_capacity(nb * n);
    for b in 0..nb {
        for c in 0..n {
            let rows = b * block..((b + 1) * block).min(k);
            let (lo, hi) = rows.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
                let v = x[r * n + c];
                (lo.min(v), hi.max(v))
            });
            params.push(QParams::from_range(lo, hi, qt, symmetric, false));
        }
    }
    let q: Vec<i32> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| params[(i / n / block) * n + i % n].quantize(v, qt))
        .collect();
    Ok(QuantizedTensor {
        data: int_tensor(qt, vec![k, n], &q)?,
        params,
        param_shape: vec![nb, n],
    })
}

/// An int32 bias with per-channel (or one) scale `scales[c]` and zero point 0.
pub fn quantize_bias(t: &Tensor, scales: &[f32]) -> Result<Tensor> {
    let x = f32_values(t)?;
    let q: Vec<i32> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let s = scales[if scales.len() == 1 {
                0
            } else {
                i % scales.len()
            }];
            let r = if s > 0.0 {
                (v as f64 / s as f64).round_ties_even()
            } else {
                0.0
            };
            r.clamp(i32::MIN as f64, i32::MAX as f64) as i32
        })
        .collect();
    Ok(Tensor::from_vec(t.shape().to_vec(), q)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_scales_follow_each_channel() {
        let w = Tensor::from_vec(vec![2, 3], vec![1.0f32, -0.5, 0.25, 10.0, 5.0, -2.5]).unwrap();
        let q = quantize_weight(&w, Some(0), QType::I8, true, false).unwrap();
        assert_eq!(q.param_shape, [2]);
        assert!((q.params[0].scale - 1.0 / 127.0).abs() < 1e-8);
        assert!((q.params[1].scale - 10.0 / 127.0).abs() < 1e-7);
        assert_eq!(
            q.data.as_slice::<i8>().unwrap(),
            &[127, -64, 32, 127, 64, -32]
        );
    }

    #[test]
    fn blocked_int4_round_trips_within_half_a_step() {
        let v: Vec<f32> = (0..64 * 3)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        let w = Tensor::from_vec(vec![64, 3], v.clone()).unwrap();
        let q = quantize_blocked(&w, 32, QType::I4, true).unwrap();
        assert_eq!(q.param_shape, [2, 3]);
        let codes = q.data.as_bytes();
        for (i, &x) in v.iter().enumerate() {
            let p = q.params[(i / 3 / 32) * 3 + i % 3];
            let code = ((codes[i] << 4) as i8 >> 4) as i32;
            assert!((p.dequantize(code) - x).abs() <= p.scale / 2.0 + 1e-6);
        }
    }

    #[test]
    fn bias_uses_the_product_scale() {
        let b = Tensor::vec1(vec![1.0f32, -2.0]);
        let q = quantize_bias(&b, &[0.5, 0.25]).unwrap();
        assert_eq!(q.as_slice::<i32>().unwrap(), &[2, -8]);
    }
}
