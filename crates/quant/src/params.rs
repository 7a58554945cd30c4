//! Quantization parameters (scale, zero point) from a float range, and the quantize /
//! dequantize arithmetic of ONNX QuantizeLinear / DequantizeLinear:
//! `q = clamp(round_half_to_even(x / scale) + zero_point, qmin, qmax)`, `x = (q - zp) * scale`.
//! Ranges follow ONNX Runtime's quantizer: the range always contains 0 (so 0 is exact), and a
//! symmetric int8 range is [-127, 127] (restricted, so -x quantizes like x).

use edgeopt_tensor::DType;

/// An integer type a tensor can be quantized to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QType {
    U8,
    I8,
    I4,
    U4,
}

impl QType {
    /// The ONNX tensor type.
    pub fn dtype(self) -> DType {
        match self {
            QType::U8 => DType::U8,
            QType::I8 => DType::I8,
            QType::I4 => DType::I4,
            QType::U4 => DType::U4,
        }
    }

    /// `(qmin, qmax)` used for the scale. `symmetric` restricts signed types to a range
    /// symmetric around 0; `reduce_range` uses one bit less (7-bit 8-bit types, for AVX2 without
    /// VNNI where u8 x s8 products may saturate the 16-bit intermediate).
    pub fn qrange(self, symmetric: bool, reduce_range: bool) -> (i32, i32) {
        match (self, reduce_range, symmetric) {
            (QType::U8, false, _) => (0, 255),
            (QType::U8, true, _) => (0, 127),
            (QType::I8, false, false) => (-128, 127),
            (QType::I8, false, true) => (-127, 127),
            (QType::I8, true, false) => (-64, 63),
            (QType::I8, true, true) => (-64, 64),
            (QType::I4, _, false) => (-8, 7),
            (QType::I4, _, true) => (-7, 7),
            (QType::U4, _, _) => (0, 15),
        }
    }

    /// The full storage range (what clamping uses).
    pub fn storage_range(self) -> (i32, i32) {
        match self {
            QType::U8 => (0, 255),
            QType::I8 => (-128, 127),
            QType::I4 => (-8, 7),
            QType::U4 => (0, 15),
        }
    }
}

/// Scale and zero point of one tensor (or one channel / block of it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    pub scale: f32,
    pub zero_point: i32,
}

impl QParams {
    /// Parameters covering `[lo, hi]` (extended to contain 0). A degenerate or non-finite
    /// range gets scale 1, as ONNX Runtime does, so the quantized model stays valid.
    pub fn from_range(lo: f32, hi: f32, qt: QType, symmetric: bool, reduce_range: bool) -> Self {
        let (qmin, qmax) = qt.qrange(symmetric, reduce_range);
        let (mut lo, mut hi) = (lo.min(0.0) as f64, hi.max(0.0) as f64);
        if !lo.is_finite() || !hi.is_finite() {
            return QParams {
                scale: 1.0,
                zero_point: if symmetric {
                    mid(qmin, qmax)
                } else {
                    qmin.max(0)
                },
            };
        }
        if symmetric {
            let a = lo.abs().max(hi.abs());
            lo = -a;
            hi = a;
        }
        let span = hi - lo;
        let scale = span / (qmax - qmin) as f64;
        if scale <= 0.0 || (scale as f32) < f32::MIN_POSITIVE {
            let zp = if symmetric {
                mid(qmin, qmax)
            } else {
                qmin.max(0).min(qmax)
            };
            return QParams {
                scale: 1.0,
                zero_point: zp,
            };
        }
        let scale = scale as f32;
        let zero_point = if symmetric {
            mid(qmin, qmax)
        } else {
            let zp = (qmin as f64 - lo / scale as f64).round_ties_even();
            zp.clamp(qmin as f64, qmax as f64) as i32
        };
        QParams { scale, zero_point }
    }

    /// Quantizes one value exactly as ONNX QuantizeLinear (f32 division, ties to even).
    pub fn quantize(&self, x: f32, qt: QType) -> i32 {
        let (lo, hi) = qt.storage_range();
        let v = (x / self.scale).round_ties_even() as f64 + self.zero_point as f64;
        if v.is_nan() {
            return self.zero_point.clamp(lo, hi);
        }
        v.clamp(lo as f64, hi as f64) as i32
    }

    pub fn dequantize(&self, q: i32) -> f32 {
        (q - self.zero_point) as f32 * self.scale
    }
}

/// Midpoint of a range, rounded half to even (128 for u8, 0 for symmetric i8).
fn mid(qmin: i32, qmax: i32) -> i32 {
    ((qmin + qmax) as f64 / 2.0).round_ties_even() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asymmetric_u8_covers_range_and_zero_is_exact() {
        let p = QParams::from_range(-1.0, 3.0, QType::U8, false, false);
        assert!((p.scale - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(p.zero_point, 64);
        assert_eq!(p.dequantize(p.quantize(0.0, QType::U8)), 0.0);
        assert_eq!(p.quantize(-1.0, QType::U8), 0);
        assert_eq!(p.quantize(3.0, QType::U8), 255);
        assert_eq!(p.quantize(100.0, QType::U8), 255);
    }

    #[test]
    fn symmetric_ranges() {
        let p = QParams::from_range(-0.5, 2.0, QType::I8, true, false);
        assert_eq!(p.zero_point, 0);
        assert!((p.scale - 2.0 / 127.0).abs() < 1e-7);
        let p = QParams::from_range(-0.5, 2.0, QType::U8, true, false);
        assert_eq!(p.zero_point, 128);
        let p = QParams::from_range(0.0, 1.0, QType::I8, true, true);
        assert!((p.scale - 1.0 / 64.0).abs() < 1e-7);
    }

    #[test]
    fn positive_range_includes_zero() {
        let p = QParams::from_range(2.0, 4.0, QType::U8, false, false);
        assert_eq!(p.zero_point, 0);
        assert!((p.scale - 4.0 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn degenerate_ranges_get_unit_scale() {
        let p = QParams::from_range(0.0, 0.0, QType::U8, false, false);
        assert_eq!((p.scale, p.zero_point), (1.0, 0));
        let p = QParams::from_range(f32::NEG_INFINITY, 1.0, QType::I8, true, false);
        assert_eq!((p.scale, p.zero_point), (1.0, 0));
    }

    #[test]
    fn ties_round_to_even() {
        let p = QParams {
            scale: 1.0,
            zero_point: 0,
        };
        let got: Vec<i32> = [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5]
            .iter()
            .map(|&x| p.quantize(x, QType::I8))
            .collect();
        assert_eq!(got, [0, 2, 2, 0, -2, -2]);
    }
}
