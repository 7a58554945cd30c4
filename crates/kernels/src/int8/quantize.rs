//! Quantize / dequantize vector kernels and ONNX DynamicQuantizeLinear.

use super::error::{param_err, shape_err, QResult};
use super::{Int8Kernels, QElem};

fn check<T: QElem>(op: &'static str, a: usize, b: usize, scale: f32, zp: i32) -> QResult<()> {
    if a != b {
        return Err(shape_err(op, format!("input has {a} values, output {b}")));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(param_err(
            op,
            format!("scale {scale} is not a positive finite number"),
        ));
    }
    if !(T::MIN..=T::MAX).contains(&zp) {
        return Err(param_err(
            op,
            format!("zero point {zp} outside [{}, {}]", T::MIN, T::MAX),
        ));
    }
    Ok(())
}

/// ONNX QuantizeLinear with one scale: `out = saturate(round_half_even(x / scale) + zp)`; NaN
/// quantizes to the zero point.
pub fn quantize<T: QElem>(
    table: &Int8Kernels,
    x: &[f32],
    scale: f32,
    zp: i32,
    out: &mut [T],
) -> QResult<()> {
    check::<T>("quantize", x.len(), out.len(), scale, zp)?;
    // SAFETY: the table's kernels run on this CPU. The cast matches T (u8 or i8, sealed).
    unsafe {
        if T::MIN == 0 {
            let out = std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, out.len());
            (table.quant.quantize_u8)(x, scale, zp, out);
        } else {
            let out = std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut i8, out.len());
            (table.quant.quantize_i8)(x, scale, zp, out);
        }
    }
    Ok(())
}

/// ONNX DequantizeLinear with one scale: `out = (x - zp) * scale`.
pub fn dequantize<T: QElem>(
    table: &Int8Kernels,
    x: &[T],
    scale: f32,
    zp: i32,
    out: &mut [f32],
) -> QResult<()> {
    if x.len() != out.len() {
        return Err(shape_err(
            "dequantize",
            format!("input has {} values, output {}", x.len(), out.len()),
        ));
    }
    if !(T::MIN..=T::MAX).contains(&zp) {
        return Err(param_err(
            "dequantize",
            format!("zero point {zp} outside [{}, {}]", T::MIN, T::MAX),
        ));
    }
    // SAFETY: as in `quantize`.
    unsafe {
        if T::MIN == 0 {
            let x = std::slice::from_raw_parts(x.as_ptr() as *const u8, x.len());
            (table.quant.dequantize_u8)(x, scale, zp, out);
        } else {
            let x = std::slice::from_raw_parts(x.as_ptr() as *const i8, x.len());
            (table.quant.dequantize_i8)(x, scale, zp, out);
        }
    }
    Ok(())
}

/// The scale and zero point DynamicQuantizeLinear chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DynamicQuant {
    /// `(max(0, max x) - min(0, min x)) / 255` (1 / 255 when that range is empty).
    pub scale: f32,
    /// `round_half_even(clamp(-min / scale, 0, 255))`.
    pub zero_point: u8,
}

/// ONNX DynamicQuantizeLinear into `out` (NaNs are skipped by min/max and quantize to 0, as
/// the IR reference).
pub fn dynamic_quantize(table: &Int8Kernels, x: &[f32], out: &mut [u8]) -> QResult<DynamicQuant> {
    if x.len() != out.len() {
        return Err(shape_err(
            "dynamic quantize",
            format!("input has {} values, output {}", x.len(), out.len()),
        ));
    }
    let (mut lo, mut hi) = (0f32, 0f32);
    for &v in x {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let scale = if hi == lo { 1.0 } else { hi - lo } / 255.0;
    if !scale.is_finite() {
        return Err(param_err(
            "dynamic quantize",
            format!("input range [{lo}, {hi}] overflows f32"),
        ));
    }
    let zp = (0.0 - lo / scale).clamp(0.0, 255.0).round_ties_even();
    quantize(table, x, scale, zp as i32, out)?;
    for (o, v) in out.iter_mut().zip(x) {
        if v.is_nan() {
            *o = 0;
        }
    }
    Ok(DynamicQuant {
        scale,
        zero_point: zp as u8,
    })
}
