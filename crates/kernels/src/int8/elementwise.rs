//! Element-wise int8 kernels: the QDQ `DequantizeLinear(a), DequantizeLinear(b) -> Add [-> Relu]
//! -> QuantizeLinear` chain (a residual connection) in one pass over 8-bit data.

use super::error::{param_err, shape_err, QResult};
use super::{Int8Kernels, QElem};

/// Scale and zero point of one 8-bit operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParams {
    /// The scale (positive, finite).
    pub scale: f32,
    /// The zero point, in the element type's range.
    pub zero_point: i32,
}

/// What [`add`] computes per element: `y = clamp(round_half_even(((a - za) * sa + (b - zb) * sb)
/// / sy) + zy, lo, hi)` in f32, in the order the QDQ graph's DequantizeLinear, Add and
/// QuantizeLinear do it; `clamp` bounds (each clamped into the type's range) apply a fused
/// Relu / Clip.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AddParams {
    pub a: QParams,
    pub b: QParams,
    pub y: QParams,
    /// Bounds of `round(...)` before the zero point is added: `lo - zy`, `hi - zy`.
    pub lo: f32,
    pub hi: f32,
}

/// Quantized element-wise addition of equal-length `a` and `b` into `y` (see `AddParams`).
pub fn add<T: QElem>(
    table: &Int8Kernels,
    a: (&[T], QParams),
    b: (&[T], QParams),
    y: (&mut [T], QParams),
    clamp: Option<(i32, i32)>,
) -> QResult<()> {
    const OP: &str = "add";
    if a.0.len() != y.0.len() || b.0.len() != y.0.len() {
        return Err(shape_err(
            OP,
            format!(
                "operands have {} and {} values, output {}",
                a.0.len(),
                b.0.len(),
                y.0.len()
            ),
        ));
    }
    for (what, p) in [("a", a.1), ("b", b.1), ("y", y.1)] {
        let ok = p.scale.is_finite() && p.scale > 0.0 && (T::MIN..=T::MAX).contains(&p.zero_point);
        if !ok {
            return Err(param_err(
                OP,
                format!(
                    "{what}: scale {} / zero point {} out of domain",
                    p.scale, p.zero_point
                ),
            ));
        }
    }
    let (lo, hi) = clamp.map_or((T::MIN, T::MAX), |(l, h)| {
        (l.clamp(T::MIN, T::MAX), h.clamp(T::MIN, T::MAX))
    });
    let zy = y.1.zero_point;
    let p = AddParams {
        a: a.1,
        b: b.1,
        y: y.1,
        lo: (lo.min(hi) - zy) as f32,
        hi: (hi - zy) as f32,
    };
    let n = y.0.len();
    // SAFETY: the table's kernels run on this CPU; T is u8 or i8 (sealed), the casts keep the
    // lengths checked above.
    unsafe {
        if T::MIN == 0 {
            let c = |s: &[T]| std::slice::from_raw_parts(s.as_ptr() as *const u8, n);
            let out = std::slice::from_raw_parts_mut(y.0.as_mut_ptr() as *mut u8, n);
            (table.quant.add_u8)(c(a.0), c(b.0), &p, out);
        } else {
            let c = |s: &[T]| std::slice::from_raw_parts(s.as_ptr() as *const i8, n);
            let out = std::slice::from_raw_parts_mut(y.0.as_mut_ptr() as *mut i8, n);
            (table.quant.add_i8)(c(a.0), c(b.0), &p, out);
        }
    }
    Ok(())
}

/// Splits `src` into its even-index values (`even`, `src.len().div_ceil(2)` of them) and its
/// odd-index ones (`odd`, `src.len() / 2`): the stride-2 convolution and pooling column split.
/// Panics if `even` or `odd` is shorter than that.
pub fn split_even_odd<T: QElem>(src: &[T], even: &mut [T], odd: &mut [T]) {
    let pairs = src.len() / 2;
    // Exact chunks and slices let the compiler vectorize the interleaved load.
    for ((pair, e), o) in src
        .chunks_exact(2)
        .zip(&mut even[..pairs])
        .zip(&mut odd[..pairs])
    {
        *e = pair[0];
        *o = pair[1];
    }
    if !src.len().is_multiple_of(2) {
        even[pairs] = src[src.len() - 1];
    }
}
