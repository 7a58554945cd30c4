//! What happens to the i32 accumulators on their way out: bias, scale, zero point, clamp.

use super::error::{param_err, QResult};

/// The float multiplier applied to `acc + bias`: one for the whole output, or one per output
/// row (per output channel of a convolution, per column of a MatMul's weights).
#[derive(Debug, Clone, Copy)]
pub enum Scale<'a> {
    /// One multiplier.
    PerTensor(f32),
    /// One multiplier per output row.
    PerRow(&'a [f32]),
}

impl Scale<'_> {
    pub(crate) fn at(&self, row: usize) -> f32 {
        match self {
            Scale::PerTensor(s) => *s,
            Scale::PerRow(v) => v[row],
        }
    }
}

/// How accumulators become outputs, per output row `i`:
/// - i32 output: `acc + bias[i]` (wrapping);
/// - f32 output: `(acc + bias[i]) as f32 * scale[i]`, then `max(0)` if `relu`;
/// - u8 / i8 output: `clamp(round_half_even((acc + bias[i]) as f32 * scale[i]) + zero_point,
///   lo, hi)` where `[lo, hi]` is the type's range, with `lo` raised to `zero_point` if `relu`
///   (a fused Relu is a clamp at the quantized zero), and further to `clamp` when set (a fused
///   Clip: `max(min(v, hi), lo)` after the zero point).
#[derive(Debug, Clone, Copy)]
pub struct Requant<'a> {
    /// i32 bias per output row, added to the accumulator.
    pub bias: Option<&'a [i32]>,
    /// The multiplier (input scale x weight scale / output scale for a requantized output).
    pub scale: Scale<'a>,
    /// Zero point of a u8 / i8 output.
    pub zero_point: i32,
    /// Clamp at the quantized zero.
    pub relu: bool,
    /// Quantized bounds `(lo, hi)` of u8 / i8 outputs, each first clamped into the type's range.
    pub clamp: Option<(i32, i32)>,
}

impl Default for Requant<'_> {
    fn default() -> Self {
        Requant {
            bias: None,
            scale: Scale::PerTensor(1.0),
            zero_point: 0,
            relu: false,
            clamp: None,
        }
    }
}

/// The output of an int8 product: its element type picks the requantization above.
#[derive(Debug)]
pub enum QOutput<'a> {
    /// Raw accumulators plus bias (ConvInteger, MatMulInteger).
    I32(&'a mut [i32]),
    /// Dequantized values.
    F32(&'a mut [f32]),
    /// Requantized to u8.
    U8(&'a mut [u8]),
    /// Requantized to i8.
    I8(&'a mut [i8]),
}

impl QOutput<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            QOutput::I32(v) => v.len(),
            QOutput::F32(v) => v.len(),
            QOutput::U8(v) => v.len(),
            QOutput::I8(v) => v.len(),
        }
    }

    /// Range of the output type, as i32.
    pub(crate) fn range(&self) -> (i32, i32) {
        match self {
            QOutput::U8(_) => (0, 255),
            QOutput::I8(_) => (-128, 127),
            _ => (i32::MIN, i32::MAX),
        }
    }
}

/// [`Requant`] resolved for one row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowParams {
    pub bias: i32,
    pub scale: f32,
    pub zp: i32,
    /// Clamp bounds of the rounded product, before the zero point is added: `lo - zp`, `hi - zp`.
    pub lo: f32,
    pub hi: f32,
    pub relu: bool,
}

impl Requant<'_> {
    /// Checks lengths and values against `rows` output rows and the output type range.
    pub(crate) fn validate(&self, op: &'static str, rows: usize, range: (i32, i32)) -> QResult<()> {
        if let Some(b) = self.bias {
            if b.len() != rows {
                return Err(param_err(
                    op,
                    format!("bias has {} values for {rows} output rows", b.len()),
                ));
            }
        }
        let scales: &[f32] = match &self.scale {
            Scale::PerTensor(s) => std::slice::from_ref(s),
            Scale::PerRow(v) if v.len() == rows => v,
            Scale::PerRow(v) => {
                return Err(param_err(
                    op,
                    format!("{} scales for {rows} output rows", v.len()),
                ))
            }
        };
        if let Some(s) = scales.iter().find(|s| !s.is_finite()) {
            return Err(param_err(
                op,
                format!("output scale multiplier {s} is not finite"),
            ));
        }
        let quantized = range != (i32::MIN, i32::MAX);
        if quantized && !(range.0..=range.1).contains(&self.zero_point) {
            return Err(param_err(
                op,
                format!(
                    "output zero point {} outside [{}, {}]",
                    self.zero_point, range.0, range.1
                ),
            ));
        }
        Ok(())
    }

    /// The parameters of row `row` for an output of type range `range`.
    pub(crate) fn row(&self, row: usize, range: (i32, i32)) -> RowParams {
        let zp = self.zero_point;
        let (lo, hi) = match self.clamp {
            Some((lo, hi)) => (lo.clamp(range.0, range.1), hi.clamp(range.0, range.1)),
            None => range,
        };
        let lo = if self.relu { lo.max(zp) } else { lo };
        // An empty range gives `hi` (min after max), as ONNX Clip with min > max.
        let lo = lo.min(hi);
        RowParams {
            bias: self.bias.map_or(0, |b| b[row]),
            scale: self.scale.at(row),
            zp,
            lo: (lo as i64 - zp as i64) as f32,
            hi: (hi as i64 - zp as i64) as f32,
            relu: self.relu,
        }
    }
}

/// One requantized value (the formula every store kernel implements).
#[inline(always)]
pub(crate) fn requant_one(acc: i32, p: &RowParams) -> i32 {
    let v = acc.wrapping_add(p.bias) as f32 * p.scale;
    v.round_ties_even().max(p.lo).min(p.hi) as i32 + p.zp
}

/// One dequantized value.
#[inline(always)]
pub(crate) fn dequant_one(acc: i32, p: &RowParams) -> f32 {
    let v = acc.wrapping_add(p.bias) as f32 * p.scale;
    if p.relu {
        v.max(0.0)
    } else {
        v
    }
}

impl<'a> Requant<'a> {
    /// The requantization of output rows `rows` (a group of output channels). Panics if the
    /// range is outside a per-row bias or scale: call after [`Requant::validate`].
    pub(crate) fn slice_rows(&self, rows: std::ops::Range<usize>) -> Requant<'a> {
        Requant {
            bias: self.bias.map(|b| &b[rows.clone()]),
            scale: match self.scale {
                Scale::PerRow(v) => Scale::PerRow(&v[rows]),
                s => s,
            },
            ..*self
        }
    }
}

impl QOutput<'_> {
    /// The elements `range` of the output.
    pub(crate) fn slice(&mut self, range: std::ops::Range<usize>) -> QOutput<'_> {
        match self {
            QOutput::I32(v) => QOutput::I32(&mut v[range]),
            QOutput::F32(v) => QOutput::F32(&mut v[range]),
            QOutput::U8(v) => QOutput::U8(&mut v[range]),
            QOutput::I8(v) => QOutput::I8(&mut v[range]),
        }
    }
}
