//! Splitting memory-bound kernels (element-wise, pooling, softmax, norms, copies, GEMV)
//! across the GEMM's thread pool. Work is cut into ranges of whole units (rows, planes,
//! vector-aligned runs) and every output is computed by exactly one thread with the same
//! arithmetic as with one thread, so results do not depend on the thread count. Small work
//! stays on the calling thread: handing a range to a pool thread costs a few microseconds.

use std::ops::Range;

use crate::gemm::parallel;

/// Work (about one float read and written, or one multiply-add) a thread should get before a
/// kernel is split: ~64 K floats take ~10-20 us on one core, several times a hand-off.
pub const MIN_WORK_PER_THREAD: usize = 1 << 16;

/// Threads worth using for `work` units of work at [`MIN_WORK_PER_THREAD`] each, at most
/// `threads` (0 counts as 1).
pub fn threads_for(work: usize, threads: usize) -> usize {
    parallel::threads_for(work, threads, MIN_WORK_PER_THREAD)
}

/// Runs `f` on `0..len` split into at most `threads` nearly equal ranges whose starts are
/// multiples of `unit`, one per thread (the first on the calling thread). `work` is the
/// total work, which decides how many threads are worth it.
pub fn for_ranges(
    len: usize,
    unit: usize,
    work: usize,
    threads: usize,
    f: impl Fn(Range<usize>) + Sync,
) {
    let t = threads_for(work, threads);
    if t <= 1 {
        return f(0..len);
    }
    parallel::run(parallel::split_1d(len, unit.max(1), t), f);
}

/// Runs `f(first_item, chunk)` on `out` cut into at most `threads` pieces of whole items of
/// `item` floats (the piece boundaries are multiples of `unit` items).
pub fn for_chunks_mut(
    out: &mut [f32],
    item: usize,
    unit: usize,
    work: usize,
    threads: usize,
    f: impl Fn(usize, &mut [f32]) + Sync,
) {
    let item = item.max(1);
    let items = out.len() / item;
    let t = threads_for(work, threads);
    if t <= 1 || items < 2 {
        return f(0, out);
    }
    let mut parts = parallel::Parts::new();
    let mut rest = out;
    for r in parallel::split_1d(items, unit.max(1), t) {
        let (mine, tail) = rest.split_at_mut(r.len() * item);
        rest = tail;
        parts.push((r.start, mine));
    }
    parallel::run(parts, |(start, chunk)| f(start, chunk));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn small_work_stays_on_one_thread() {
        let seen = Mutex::new(Vec::new());
        for_ranges(100, 1, 100, 4, |r| seen.lock().unwrap().push(r));
        assert_eq!(seen.into_inner().unwrap(), vec![0..100]);
    }

    #[test]
    fn chunks_cover_the_output_in_whole_units() {
        let mut out = vec![0f32; 10 * 7];
        for_chunks_mut(&mut out, 7, 4, 1 << 30, 2, |first, chunk| {
            assert_eq!(first % 4, 0);
            assert_eq!(chunk.len() % 7, 0);
            for (i, v) in chunk.iter_mut().enumerate() {
                *v = (first * 7 + i) as f32;
            }
        });
        assert!(out.iter().enumerate().all(|(i, &v)| v == i as f32));
    }
}
