//! A tile-level model of systolic arrays, in the spirit of SCALE-Sim (Samajdar et al., 2018):
//! a GEMM `[m x k] * [k x n]` (a convolution in its im2col view) is folded into array-sized
//! tiles; each fold costs fill + streaming + drain cycles.
//!
//! Weight stationary (`ws`): `k` maps to rows and `n` to columns; a fold with `r x c` PEs
//! used first loads its weights (`r` cycles), then streams the `m` ifmap rows through the
//! skewed array (`m + r + c - 2` cycles): `2r + c + m - 2` per fold,
//! `ceil(k/R) * ceil(n/C)` folds. Partial sums of the `k` folds are accumulated in the ofmap
//! buffer (read back and written once per extra `k` fold).
//! Output stationary (`os`): `m` maps to rows and `n` to columns; each fold streams `k`
//! operands through the skewed array and shifts its `r` rows of outputs out:
//! `2r + c + k - 2` per fold, `ceil(m/R) * ceil(n/C)` folds.

use crate::layers::{GemmDims, Layer};
use crate::profile::{Precision, Profile, Systolic};
use crate::roofline::{energy, Homes, LayerCost};
use serde::Serialize;

/// Cycles, utilization and buffer traffic (in elements) of one GEMM on an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TileStats {
    pub folds: u64,
    pub cycles: u64,
    /// Useful MACs (`m * k * n * groups`).
    pub macs: u64,
    pub ifmap_reads: u64,
    pub filter_reads: u64,
    /// Output (and partial sum) writes to the ofmap buffer.
    pub ofmap_writes: u64,
    /// Partial sums read back from the ofmap buffer.
    pub ofmap_reads: u64,
}

impl TileStats {
    /// Fraction of PE-cycles doing useful MACs.
    pub fn utilization(&self, rows: u64, cols: u64) -> f64 {
        if self.cycles == 0 {
            return 0.0;
        }
        self.macs as f64 / (self.cycles as f64 * (rows * cols) as f64)
    }
}

/// Folds along one dimension of `len` on `width` PEs: the sizes of the full and last tiles.
fn folds(len: u64, width: u64) -> (u64, u64, u64) {
    let n = len.div_ceil(width);
    let last = len - (n.saturating_sub(1)) * width;
    (n, width.min(len), last)
}

/// The tile model of one GEMM (repeated `groups` times) on a `rows x cols` array.
pub fn gemm(d: GemmDims, rows: u64, cols: u64, weight_stationary: bool) -> TileStats {
    let (m, k, n, g) = (d.m, d.k, d.n, d.groups);
    if m == 0 || k == 0 || n == 0 || g == 0 || rows == 0 || cols == 0 {
        return TileStats {
            folds: 0,
            cycles: 0,
            macs: 0,
            ifmap_reads: 0,
            filter_reads: 0,
            ofmap_writes: 0,
            ofmap_reads: 0,
        };
    }
    // Row dimension: k (ws) or m (os); the time dimension is the other one.
    let (row_len, t) = if weight_stationary { (k, m) } else { (m, k) };
    let (nr, r_full, r_last) = folds(row_len, rows);
    let (nc, c_full, c_last) = folds(n, cols);
    let fold_cycles = |r: u64, c: u64| 2 * r + c + t - 2;
    // Sum over the grid of folds: (nr-1) full rows + 1 last row, same for columns.
    let row_sizes = [(nr - 1, r_full), (1, r_last)];
    let col_sizes = [(nc - 1, c_full), (1, c_last)];
    let mut cycles = 0;
    for &(cr, r) in &row_sizes {
        for &(cc, c) in &col_sizes {
            cycles += cr * cc * fold_cycles(r, c);
        }
    }
    let (ifmap_reads, filter_reads, ofmap_writes, ofmap_reads) = if weight_stationary {
        (m * k * nc, k * n, m * n * nr, m * n * (nr - 1))
    } else {
        (m * k * nc, k * n * nr, m * n, 0)
    };
    TileStats {
        folds: nr * nc * g,
        cycles: cycles * g,
        macs: m * k * n * g,
        ifmap_reads: ifmap_reads * g,
        filter_reads: filter_reads * g,
        ofmap_writes: ofmap_writes * g,
        ofmap_reads: ofmap_reads * g,
    }
}

/// A matmul-class layer on the profile's array: the tile model's cycles against the DRAM
/// traffic of operands homed off-chip (an operand that fits its buffer is fetched once,
/// otherwise once per fold that needs it), plus the per-layer overhead.
pub fn layer_cost(
    p: &Profile,
    s: &Systolic,
    layer: &Layer,
    dims: GemmDims,
    homes: &Homes,
    prec: Precision,
) -> LayerCost {
    let ws = s.dataflow == "ws";
    let st = gemm(dims, s.rows, s.cols, ws);
    let eb = prec.bytes();
    let (nr, nc) = if ws {
        (dims.k.div_ceil(s.rows), dims.n.div_ceil(s.cols))
    } else {
        (dims.m.div_ceil(s.rows), dims.n.div_ceil(s.cols))
    };
    let off_chip = |home: usize| p.memory[home].kind == "dram" || p.memory[home].kind == "flash";
    let refetch = |bytes: u64, buffer: u64, factor: u64| {
        if bytes <= buffer {
            bytes
        } else {
            bytes * factor
        }
    };
    let mut dram = 0u64;
    if off_chip(homes.weights) {
        dram += refetch(
            layer.weight_bytes,
            s.filter_sram_bytes,
            if ws { 1 } else { nr },
        );
    }
    if off_chip(homes.activations) {
        dram += refetch(layer.act_in_bytes, s.ifmap_sram_bytes, nc);
        dram += refetch(
            layer.act_out_bytes,
            s.ofmap_sram_bytes,
            if ws { 2 * nr - 1 } else { 1 },
        );
    }
    let sram = (st.ifmap_reads + st.filter_reads + st.ofmap_writes + st.ofmap_reads) * eb;
    let mut bytes = vec![0u64; p.memory.len()];
    let dram_level = (0..p.memory.len())
        .rev()
        .find(|&i| p.memory[i].kind == "dram" || p.memory[i].kind == "flash");
    let sram_level = (0..p.memory.len()).find(|&i| p.memory[i].kind == "sram");
    if let Some(i) = sram_level {
        bytes[i] += sram;
    }
    if let Some(i) = p.memory.iter().position(|m| m.kind == "register") {
        bytes[i] += 2 * st.macs * eb;
    }
    let mut dram_s = 0.0;
    if let Some(i) = dram_level {
        bytes[i] += dram;
        dram_s = dram as f64 / p.memory[i].bandwidth_bytes_per_s;
    }
    let array_s = st.cycles as f64 / p.device.clock_hz;
    let flops_s = layer.flops as f64 / p.compute.of(prec).peak_macs_per_s;
    let (roof, bound) = if dram_s > array_s {
        (
            dram_s,
            dram_level
                .map(|i| p.memory[i].name.clone())
                .unwrap_or_default(),
        )
    } else {
        (array_s, "array".to_string())
    };
    let time_s = roof + flops_s + p.overhead.per_layer_s;
    LayerCost {
        energy_j: energy(p, layer, &bytes, time_s, prec),
        utilization: st.utilization(s.rows, s.cols) * array_s / time_s,
        time_s,
        bytes,
        bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u64, k: u64, n: u64) -> GemmDims {
        GemmDims { m, k, n, groups: 1 }
    }

    /// A 4x4 array, GEMM m=10, k=6, n=5, computed by hand.
    /// WS: k folds ceil(6/4)=2 (rows 4, 2), n folds 2 (cols 4, 1); per fold 2r + c + m - 2:
    /// (4,4): 20, (4,1): 17, (2,4): 16, (2,1): 13 -> 66 cycles.
    /// OS: m folds 3 (4, 4, 2), n folds 2 (4, 1); per fold 2r + c + k - 2:
    /// (4,4): 16 x2, (4,1): 13 x2, (2,4): 12, (2,1): 9 -> 79 cycles.
    #[test]
    fn small_gemm_matches_hand_computation() {
        let ws = gemm(d(10, 6, 5), 4, 4, true);
        assert_eq!(ws.folds, 4);
        assert_eq!(ws.cycles, 66);
        assert_eq!(ws.macs, 300);
        assert_eq!(ws.filter_reads, 30);
        assert_eq!(ws.ifmap_reads, 10 * 6 * 2);
        assert_eq!(ws.ofmap_writes, 10 * 5 * 2);
        assert_eq!(ws.ofmap_reads, 10 * 5);
        assert!((ws.utilization(4, 4) - 300.0 / (66.0 * 16.0)).abs() < 1e-12);
        let os = gemm(d(10, 6, 5), 4, 4, false);
        assert_eq!(os.folds, 6);
        assert_eq!(os.cycles, 79);
        assert_eq!(os.filter_reads, 6 * 5 * 3);
        assert_eq!(os.ofmap_writes, 50);
    }

    #[test]
    fn one_fold_that_fills_the_array_is_mostly_streaming() {
        // m = 1000 rows streamed through a full 8x8 array: 2*8 + 8 + 1000 - 2 cycles.
        let s = gemm(d(1000, 8, 8), 8, 8, true);
        assert_eq!(s.cycles, 1022);
        assert!(s.utilization(8, 8) > 0.97);
    }

    #[test]
    fn groups_repeat_the_gemm() {
        let one = gemm(d(49, 9, 1), 4, 4, true);
        let many = gemm(
            GemmDims {
                groups: 32,
                ..d(49, 9, 1)
            },
            4,
            4,
            true,
        );
        assert_eq!(many.cycles, 32 * one.cycles);
        assert_eq!(many.macs, 32 * 49 * 9);
    }
}
