//! Compressed sparse row storage of a weight matrix.

use crate::{KernelError, Result};

/// Columns per block of [`CsrMatrix::block_range`]: the products walk the input in groups
/// of such blocks, so the rows of X a group reads stay in the L1 cache.
pub const KBLOCK: usize = 64;

/// An `rows x cols` fp32 matrix in compressed sparse row form: row `r`'s nonzeros are
/// `values[row_ptr[r]..row_ptr[r + 1]]` at columns `col_idx[..]` (increasing). Each row is
/// also split at every [`KBLOCK`]-th column (`block_ptr`), so a product can take the nonzeros
/// of one group of columns without searching.
#[derive(Debug, Clone, PartialEq)]
pub struct CsrMatrix {
    rows: usize,
    cols: usize,
    row_ptr: Vec<usize>,
    col_idx: Vec<u32>,
    values: Vec<f32>,
    /// `block_ptr[r * (blocks + 1) + b]`: index of row `r`'s first nonzero at a column
    /// `>= b * KBLOCK` (b = blocks: the row's end).
    block_ptr: Vec<usize>,
}

impl CsrMatrix {
    /// Compresses a row-major dense matrix, dropping exact zeros (`-0.0` included).
    pub fn from_dense(dense: &[f32], rows: usize, cols: usize) -> Result<CsrMatrix> {
        if rows.checked_mul(cols) != Some(dense.len()) || u32::try_from(cols).is_err() {
            return Err(KernelError::ShapeMismatch {
                a: (rows, cols),
                b: (dense.len(), 1),
                c: (rows, cols),
            });
        }
        let mut row_ptr = Vec::with_capacity(rows + 1);
        let mut col_idx = Vec::new();
        let mut values = Vec::new();
        row_ptr.push(0);
        for row in dense.chunks_exact(cols.max(1)).take(rows) {
            for (c, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    col_idx.push(c as u32);
                    values.push(v);
                }
            }
            row_ptr.push(values.len());
        }
        // `cols == 0` with rows > 0: chunks_exact(1) over an empty slice yields nothing.
        row_ptr.resize(rows + 1, 0);
        let blocks = cols.div_ceil(KBLOCK);
        let mut block_ptr = Vec::with_capacity(rows * (blocks + 1));
        for r in 0..rows {
            let (a, b) = (row_ptr[r], row_ptr[r + 1]);
            let mut i = a;
            for blk in 0..blocks {
                while i < b && (col_idx[i] as usize) < blk * KBLOCK {
                    i += 1;
                }
                block_ptr.push(i);
            }
            block_ptr.push(b);
        }
        Ok(CsrMatrix {
            rows,
            cols,
            row_ptr,
            col_idx,
            values,
            block_ptr,
        })
    }

    /// Number of [`KBLOCK`]-column blocks.
    pub fn blocks(&self) -> usize {
        self.cols.div_ceil(KBLOCK)
    }

    /// Index range (into [`CsrMatrix::col_idx`] / [`CsrMatrix::values`]) of row `r`'s
    /// nonzeros in column blocks `b0..b1` (`r < rows`, `b0 <= b1 <= blocks`).
    #[inline]
    pub fn block_range(&self, r: usize, b0: usize, b1: usize) -> (usize, usize) {
        let base = r * (self.blocks() + 1);
        (self.block_ptr[base + b0], self.block_ptr[base + b1])
    }

    /// Column index of every nonzero, row after row.
    #[inline]
    pub fn col_idx(&self) -> &[u32] {
        &self.col_idx
    }

    /// Every nonzero, row after row.
    #[inline]
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Rows (outputs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (inputs).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Stored nonzeros.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// Fraction of zeros, in `[0, 1]` (0 for an empty matrix).
    pub fn sparsity(&self) -> f64 {
        let total = self.rows * self.cols;
        if total == 0 {
            0.0
        } else {
            1.0 - self.nnz() as f64 / total as f64
        }
    }

    /// Bytes of storage (values, column indices, row pointers).
    pub fn bytes(&self) -> usize {
        self.values.len() * 4
            + (self.row_ptr.len() + self.block_ptr.len()) * 8
            + self.col_idx.len() * 4
    }

    /// Column indices and values of row `r` (`r < rows`).
    #[inline]
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.row_ptr[r], self.row_ptr[r + 1]);
        (&self.col_idx[a..b], &self.values[a..b])
    }

    /// The dense row-major matrix again.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        for r in 0..self.rows {
            let (cols, vals) = self.row(r);
            for (c, v) in cols.iter().zip(vals) {
                out[r * self.cols + *c as usize] = *v;
            }
        }
        out
    }
}
