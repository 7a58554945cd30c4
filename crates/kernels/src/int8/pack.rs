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

/// `M x K` weights laid out in panels of the table's `mr` rows (see `arch/mod.rs`): minus their
/// zero points and widened to i16 (pairs layout), or as raw s8 with the sums the dot-product
/// driver needs (quads layout). Rows are the product's output rows.
#[derive(Debug, Clone)]
pub struct PackedWeights {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) mr: usize,
    pub(crate) kernel: &'static str,
    pub(crate) data: Packed,
}

/// The panels of one layout.
#[derive(Debug, Clone)]
pub(crate) enum Packed {
    /// `w - zp` as i16, pairs of depths.
    Pairs(Vec<i16>),
    /// `w'` = w as s8 (u8 weights minus 128), quads of depths, with per row `sum_p w'(i, p)` and
    /// the zero point `zp'` of `w'` (`zp` or `zp - 128`); `zp` is empty when every `zp'` is 0.
    Quads {
        data: Vec<i8>,
        sums: Vec<i32>,
        zp: Vec<i32>,
    },
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
        let depth = if table.dot.is_some() { 4 } else { 2 };
        let kd = k.div_ceil(depth);
        let tiles = m.div_ceil(mr);
        let len = tiles
            .checked_mul(kd)
            .and_then(|v| v.checked_mul(mr * depth))
            .ok_or_else(|| shape_err(OP, format!("{m}x{k} weights are too large")))?;
        let zp_of = |i: usize| zero_points[if zero_points.len() == 1 { 0 } else { i }];
        let at = |i: usize, p: usize| (i / mr) * kd * mr * depth + (p / depth) * mr * depth;
        let data = if table.dot.is_some() {
            // s8 weights as they are; u8 ones shifted into s8 (the zero point shifts alike).
            let shift = if lo == 0 { 128 } else { 0 };
            let mut data = vec![0i8; len];
            let mut sums = vec![0i32; m];
            for (i, sum) in sums.iter_mut().enumerate() {
                for p in 0..k {
                    let v = w.at(i * k + p) - shift;
                    data[at(i, p) + (i % mr) * 4 + p % 4] = v as i8;
                    *sum = sum.wrapping_add(v);
                }
            }
            let zp: Vec<i32> = (0..m).map(|i| zp_of(i) - shift).collect();
            let zp = if zp.iter().all(|&z| z == 0) {
                Vec::new()
            } else {
                zp
            };
            Packed::Quads { data, sums, zp }
        } else {
            let mut data = vec![0i16; len];
            for i in 0..m {
                for p in 0..k {
                    data[at(i, p) + (i % mr) * 2 + p % 2] = (w.at(i * k + p) - zp_of(i)) as i16;
                }
            }
            Packed::Pairs(data)
        };
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

    /// Bytes of packed data (what a model keeps in memory for these weights).
    pub fn packed_bytes(&self) -> usize {
        match &self.data {
            Packed::Pairs(d) => d.len() * 2,
            Packed::Quads { data, sums, zp } => data.len() + 4 * (sums.len() + zp.len()),
        }
    }
}
