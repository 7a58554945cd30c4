//! Packing buffers: 64-byte aligned (panels never split a cache line), and pooled, because a
//! fresh multi-MiB buffer per call costs a page fault per 4 KiB, several percent of a GEMM.

use std::sync::Mutex;

/// Cache-line alignment, in floats.
const ALIGN: usize = 16;

/// A growable f32 buffer whose slices start on a 64-byte boundary.
#[derive(Default)]
pub(crate) struct AlignedBuf {
    vec: Vec<f32>,
}

impl AlignedBuf {
    /// A 64-byte aligned slice of `len` floats; its contents are unspecified.
    pub fn get(&mut self, len: usize) -> &mut [f32] {
        if self.vec.len() < len + ALIGN {
            self.vec = vec![0.0; len + ALIGN];
        }
        let off = self.offset();
        &mut self.vec[off..off + len]
    }

    /// Elements to skip to reach the boundary (at most `ALIGN - 1` for an f32 pointer).
    fn offset(&self) -> usize {
        self.vec.as_ptr().align_offset(ALIGN * 4).min(ALIGN - 1)
    }

    /// A buffer holding exactly `len` aligned floats, for data kept for a long time.
    pub fn with_len(len: usize) -> Self {
        let mut buf = AlignedBuf::default();
        buf.get(len);
        buf
    }

    /// The first `len` aligned floats (`len` at most what was last requested).
    pub fn slice(&self, len: usize) -> &[f32] {
        let off = self.offset();
        &self.vec[off..off + len]
    }
}

/// One thread's buffers: packed A and B, and a C tile for edges. Kept in a pool, the tile
/// buffer is not zeroed per tile (stale floats in its unused part are never copied out).
#[derive(Default)]
pub(crate) struct Workspace {
    pub a: AlignedBuf,
    pub b: AlignedBuf,
    pub c: AlignedBuf,
}

/// Workspaces kept between calls; bounded so a burst of threads does not pin memory forever.
static POOL: Mutex<Vec<Workspace>> = Mutex::new(Vec::new());
const POOL_MAX: usize = 8;

/// Runs `f` with a pooled workspace and returns the workspace to the pool.
pub(crate) fn with_workspace<R>(f: impl FnOnce(&mut Workspace) -> R) -> R {
    // A poisoned pool only means another thread panicked while pushing or popping a buffer;
    // the Vec itself is intact, so keep using it.
    let taken = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut ws = taken.unwrap_or_default();
    let out = f(&mut ws);
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < POOL_MAX {
        pool.push(ws);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_aligned() {
        let mut buf = AlignedBuf::default();
        for len in [1, 7, 100, 5000] {
            let s = buf.get(len);
            assert_eq!(s.len(), len);
            assert_eq!(s.as_ptr() as usize % 64, 0);
        }
        assert_eq!(AlignedBuf::with_len(33).slice(33).as_ptr() as usize % 64, 0);
    }
}
