//! Strided matrix views: the checked boundary between user slices and the kernels' raw
//! pointers. Once a view exists, every `(i, j)` inside it is a valid index of its slice.

use crate::{KernelError, Result};

/// A read-only `rows x cols` fp32 matrix: element `(i, j)` is
/// `data[i * row_stride + j * col_stride]`. Transposing is swapping the strides ([`MatRef::t`]).
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

/// A mutable `rows x cols` fp32 matrix with the same layout rules as [`MatRef`], whose strides
/// must not map two elements to one location (the kernels write elements from several threads).
#[derive(Debug)]
pub struct MatMut<'a> {
    pub(crate) data: &'a mut [f32],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

/// Number of elements a view needs, computed without overflow.
fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> u128 {
    if rows == 0 || cols == 0 {
        return 0;
    }
    (rows as u128 - 1) * rs as u128 + (cols as u128 - 1) * cs as u128 + 1
}

fn check_extent(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> Result<()> {
    let needed = extent(rows, cols, rs, cs);
    if needed > len as u128 {
        return Err(KernelError::SliceTooShort {
            rows,
            cols,
            row_stride: rs,
            col_stride: cs,
            needed,
            len,
        });
    }
    Ok(())
}

impl<'a> MatRef<'a> {
    /// A view with explicit strides (in elements). Zero strides are allowed (broadcast).
    pub fn new(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        check_extent(data.len(), rows, cols, row_stride, col_stride)?;
        Ok(MatRef {
            data,
            rows,
            cols,
            rs: row_stride,
            cs: col_stride,
        })
    }

    /// A dense row-major view.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element `(i, j)`; `i < rows` and `j < cols` are the caller's to check.
    #[inline]
    pub(crate) fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.rs + j * self.cs]
    }
}

impl<'a> MatMut<'a> {
    /// A mutable view with explicit strides, rejected if two elements would overlap.
    pub fn new(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        check_extent(data.len(), rows, cols, row_stride, col_stride)?;
        // (i, j) -> i * rs + j * cs is injective if one stride spans the other dimension.
        let (rs, cs) = (row_stride as u128, col_stride as u128);
        let injective = match (rows > 1, cols > 1) {
            (false, false) => true,
            (true, false) => rs > 0,
            (false, true) => cs > 0,
            (true, true) => {
                (cs > 0 && rs >= cols as u128 * cs) || (rs > 0 && cs >= rows as u128 * rs)
            }
        };
        if !injective {
            return Err(KernelError::OverlappingOutput {
                rows,
                cols,
                row_stride,
                col_stride,
            });
        }
        Ok(MatMut {
            data,
            rows,
            cols,
            rs: row_stride,
            cs: col_stride,
        })
    }

    /// A dense row-major view.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        MatMut {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            data: self.data,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_check_their_extent() {
        let data = [0f32; 12];
        assert!(MatRef::row_major(&data, 3, 4).is_ok());
        let err = MatRef::row_major(&data, 4, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a 4x4 matrix with strides (4, 1) needs 16 elements, but its slice has 12"
        );
        assert!(MatRef::new(&data, 3, 4, 1, 3).is_ok(), "column-major");
        assert!(MatRef::new(&data, 5, 4, 0, 1).is_ok(), "broadcast rows");
        assert!(MatRef::new(&data, 0, 1_000_000, 7, 7).is_ok(), "empty");
        assert!(
            MatRef::new(&data, 2, 2, usize::MAX, 1).is_err(),
            "overflowing strides"
        );
    }

    #[test]
    fn outputs_must_not_overlap() {
        let mut data = [0f32; 16];
        assert!(MatMut::new(&mut data, 3, 4, 5, 1).is_ok(), "padded rows");
        assert!(MatMut::new(&mut data, 3, 4, 1, 3).is_ok(), "column-major");
        let err = MatMut::new(&mut data, 3, 4, 2, 1).unwrap_err();
        assert!(err.to_string().contains("overlapping"), "{err}");
        assert!(
            MatMut::new(&mut data, 3, 1, 0, 1).is_err(),
            "zero row stride"
        );
        assert!(MatMut::new(&mut data, 1, 4, 0, 1).is_ok(), "a single row");
    }

    #[test]
    fn transpose_swaps_strides() {
        let data: Vec<f32> = (0..6).map(|x| x as f32).collect();
        let a = MatRef::row_major(&data, 2, 3).unwrap();
        let t = a.t();
        assert_eq!((t.rows(), t.cols()), (3, 2));
        assert_eq!(t.at(2, 1), a.at(1, 2));
    }
}
