//! Weights packed once (at model load) into the micro-kernel's panel layout.

use super::error::{param_err, shape_err, QResult};
use super::Int8Kernels;

/// Row-major `M x K` weights of either 8-bit type.
#[derive(Debug, Clone, Copy)]
pub enum WeightsRef<'a> {
    /// Signed weights (the usual case).
    I8(&'a [i8]),
    /// Unsigned weights.
    U8(&'a [u8]),
}

impl WeightsRef<'_> {
    fn len(&self) -> usize {
        match self {
            WeightsRef::I8(w) => w.len(),
            WeightsRef::U8(w) => w.len(),
        }
    }

    fn at(&self, i: usize) -> i32 {
        match self {
            WeightsRef::I8(w) => w[i] as i32,
            WeightsRef::U8(w) => w[i] as i32,
        }
    }

    fn range(&self) -> (i32, i32) {
        match self {
            WeightsRef::I8(_) => (-128, 127),
            WeightsRef::U8(_) => (0, 255),
        }
    }
}

/// `M x K` weights minus their zero points, widened to i16 and laid out in panels of the
/// table's `mr` rows (see `arch/mod.rs`). Rows are the product's output rows.
#[derive(Debug, Clone)]
pub struct PackedWeights {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) mr: usize,
    pub(crate) kernel: &'static str,
    pub(crate) data: Vec<i16>,
}

impl PackedWeights {
    /// Packs row-major `m x k` weights with one zero point for all rows (`zero_points.len() ==
    /// 1`) or one per row, for the table `table`.
    pub fn new(
        table: &Int8Kernels,
        w: WeightsRef,
        m: usize,
        k: usize,
        zero_points: &[i32],
    ) -> QResult<PackedWeights> {
        const OP: &str = "pack weights";
        if m.checked_mul(k) != Some(w.len()) {
            return Err(shape_err(
                OP,
                format!("{m}x{k} weights but {} values", w.len()),
            ));
        }
        if zero_points.len() != 1 && zero_points.len() != m {
            return Err(param_err(
                OP,
                format!(
                    "{} zero points for {m} rows (want 1 or {m})",
                    zero_points.len()
                ),
            ));
        }
        let (lo, hi) = w.range();
        if let Some(z) = zero_points.iter().find(|z| !(lo..=hi).contains(*z)) {
            return Err(param_err(
                OP,
                format!("weight zero point {z} outside [{lo}, {hi}]"),
            ));
        }
        let mr = table.mr;
        let kp = k.div_ceil(2);
        let tiles = m.div_ceil(mr);
        let len = tiles
            .checked_mul(kp)
            .and_then(|v| v.checked_mul(mr * 2))
            .ok_or_else(|| shape_err(OP, format!("{m}x{k} weights are too large")))?;
        let mut data = vec![0i16; len];
        for i in 0..m {
            let zp = zero_points[if zero_points.len() == 1 { 0 } else { i }];
            let panel = &mut data[(i / mr) * kp * mr * 2..];
            for p in 0..k {
                panel[(p / 2) * mr * 2 + (i % mr) * 2 + p % 2] = (w.at(i * k + p) - zp) as i16;
            }
        }
        Ok(PackedWeights {
            m,
            k,
            mr,
            kernel: table.name,
            data,
        })
    }

    /// Rows (outputs) and depth of the packed weights.
    pub fn shape(&self) -> (usize, usize) {
        (self.m, self.k)
    }

    /// The panel of rows `tile * mr ..`.
    pub(crate) fn panel(&self, tile: usize) -> &[i16] {
        let size = self.k.div_ceil(2) * self.mr * 2;
        &self.data[tile * size..(tile + 1) * size]
    }
}
