//! Splitting a product across threads. Each thread gets whole tiles of C (a range of rows or
//! of columns) and runs the full loop nest on them, so every output is computed by exactly one
//! thread with the same arithmetic as with one thread: results are bit-identical for any
//! thread count (and whichever pool thread runs a block), and nothing is shared but read-only
//! inputs.

use smallvec::SmallVec;
use std::ops::Range;

/// Work items of one call, inline up to 8 threads: splitting allocates nothing, so a runtime
/// calling kernels in a loop makes no heap allocations after warm-up.
pub(crate) type Parts<T> = SmallVec<[T; 8]>;

/// Threads worth using for `flops` of work, at most `requested` (0 counts as 1), when each
/// thread should get at least `min_flops` (spawning one costs tens of microseconds).
pub(crate) fn threads_for(flops: usize, requested: usize, min_flops: usize) -> usize {
    requested.max(1).min((flops / min_flops.max(1)).max(1))
}

/// `len` split into at most `parts` nearly equal ranges whose starts are multiples of `unit`.
pub(crate) fn split_1d(len: usize, unit: usize, parts: usize) -> Parts<Range<usize>> {
    let units = len.div_ceil(unit);
    let parts = parts.clamp(1, units.max(1));
    let (base, extra) = (units / parts, units % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let end = start + base + usize::from(i < extra);
            let r = (start * unit).min(len)..(end * unit).min(len);
            start = end;
            r
        })
        .collect()
}

/// Blocks of C (`rows`, `cols`) for an `m x n x k` product: one per thread, split along
/// whichever of M and N divides into the threads with less imbalance (N on a tie).
pub(crate) fn split_2d(
    m: usize,
    n: usize,
    k: usize,
    mr: usize,
    nr: usize,
    threads: usize,
    min_flops: usize,
) -> Parts<(Range<usize>, Range<usize>)> {
    let flops = m.saturating_mul(n).saturating_mul(k).saturating_mul(2);
    let t = threads_for(flops, threads, min_flops);
    if t == 1 {
        return smallvec::smallvec![(0..m, 0..n)];
    }
    // Largest share relative to a perfect split, in tiles; fewer tiles than threads is worst.
    let imbalance = |tiles: usize| {
        if tiles < t {
            f64::INFINITY
        } else {
            (tiles.div_ceil(t) * t) as f64 / tiles as f64
        }
    };
    let (mt, nt) = (m.div_ceil(mr), n.div_ceil(nr));
    if imbalance(nt) <= imbalance(mt) || mt < 2 {
        split_1d(n, nr, t).into_iter().map(|c| (0..m, c)).collect()
    } else {
        split_1d(m, mr, t).into_iter().map(|r| (r, 0..n)).collect()
    }
}

/// Runs `f` on every item: the calling thread and the pool's helpers take items from a shared
/// counter (see [`super::pool`]), so a helper that is slow to wake never delays the call.
pub(crate) fn run<T: Send>(items: Parts<T>, f: impl Fn(T) + Sync) {
    if items.len() < 2 {
        return items.into_iter().for_each(f);
    }
    let mut slots: SmallVec<[Option<T>; 8]> = items.into_iter().map(Some).collect();
    super::pool::run_items(&mut slots, &f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_in_aligned_parts() {
        assert_eq!(split_1d(100, 16, 2).to_vec(), vec![0..64, 64..100]);
        assert_eq!(split_1d(10, 16, 4).to_vec(), vec![0..10]);
        assert_eq!(split_1d(0, 16, 4).to_vec(), vec![0..0]);
        assert_eq!(split_1d(96, 16, 3).to_vec(), vec![0..32, 32..64, 64..96]);
    }

    #[test]
    fn small_products_stay_on_one_thread() {
        const MIN: usize = 4_000_000;
        assert_eq!(split_2d(8, 8, 8, 6, 16, 4, MIN).len(), 1);
        assert_eq!(split_2d(8, 8, 8, 6, 16, 4, 0).len(), 1, "a single tile");
        let big = split_2d(512, 512, 512, 6, 16, 2, MIN);
        assert_eq!(big.to_vec(), vec![(0..512, 0..256), (0..512, 256..512)]);
        // 196 columns are 13 tiles of 16 (7 + 6): M's 43 tiles of 6 split better.
        let tall = split_2d(256, 196, 2304, 6, 16, 2, MIN);
        assert_eq!(tall.to_vec(), vec![(0..132, 0..196), (132..256, 0..196)]);
    }
}
