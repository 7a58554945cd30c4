//! The kernels' thread pool: persistent helpers that *claim* work items, so the calling thread
//! never waits for a helper that has not started.
//!
//! A call publishes its items on the caller's stack and takes them itself one by one from a
//! shared counter; helpers that are awake (spinning for a short while after their last job, or
//! woken by the call) take items from the same counter. When the counter runs out the caller
//! waits only for items already taken by a running helper, then closes the job; a helper that
//! was still asleep finds the job closed and does nothing. On a machine where the other cores
//! are busy the worst case is the one-thread time plus a few atomic operations, instead of a
//! scheduler wake-up (milliseconds under load) per kernel call. Each item is run by exactly one
//! thread with the same code, so results do not depend on who runs it.
//!
//! One call owns the pool at a time; a call that finds it owned (another thread's, or a nested
//! call from inside an item) runs all its items on the calling thread.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long an idle helper keeps polling for the next job before it parks: the next kernel of a
/// model usually comes within microseconds, and a park + unpark costs tens of microseconds
/// (`EDGEOPT_POOL_SPIN_US` overrides it, for measurements).
fn spin_time() -> Duration {
    static SPIN: OnceLock<Duration> = OnceLock::new();
    *SPIN.get_or_init(|| {
        let us = std::env::var("EDGEOPT_POOL_SPIN_US").ok();
        Duration::from_micros(us.and_then(|v| v.parse().ok()).unwrap_or(1000))
    })
}

/// How long an idle helper polls without yielding its core.
const PURE_SPIN: Duration = Duration::from_micros(50);

/// Helpers at most (the calling thread is one more).
const MAX_HELPERS: usize = 63;

/// `state`: bit 32 = a job is open; bits 0..32 = helpers inside the job; bits 33.. = job count.
const OPEN: u64 = 1 << 32;
const EPOCH: u64 = 1 << 33;
const ACTIVE: u64 = OPEN - 1;

/// A published job: `help` takes and runs items until none is left.
type Help<'a> = &'a (dyn Fn() + Sync);

struct Shared {
    state: AtomicU64,
    /// Written by the owner only while the job is closed and no helper is inside.
    job: UnsafeCell<Option<Help<'static>>>,
    owned: AtomicBool,
    helpers: Mutex<Vec<Arc<Helper>>>,
}

// SAFETY: `job` is written only by the pool's owner while no helper can read it (closed state,
// zero active helpers), and read by helpers only between their successful entry (a CAS on
// `state` with the open bit) and their exit; the owner waits for every entered helper to exit.
unsafe impl Sync for Shared {}

struct Helper {
    thread: Thread,
    sleeping: AtomicBool,
}

fn shared() -> &'static Shared {
    static POOL: OnceLock<Shared> = OnceLock::new();
    POOL.get_or_init(|| Shared {
        state: AtomicU64::new(0),
        job: UnsafeCell::new(None),
        owned: AtomicBool::new(false),
        helpers: Mutex::new(Vec::new()),
    })
}

/// Runs `f` on every item (at most one item per thread at a time, any thread may run any item);
/// returns when all are done. Panics in `f` are propagated after every item has finished.
pub(crate) fn run_items<T: Send>(items: &mut [Option<T>], f: &(impl Fn(T) + Sync)) {
    let n = items.len();
    let run_inline = |items: &mut [Option<T>]| {
        let mut failed = None;
        for item in items.iter_mut().filter_map(Option::take) {
            if let Err(e) = catch_unwind(AssertUnwindSafe(|| f(item))) {
                failed = Some(e);
            }
        }
        if let Some(e) = failed {
            resume_unwind(e);
        }
    };
    let pool = shared();
    if n < 2 || pool.owned.swap(true, Acquire) {
        return run_inline(items);
    }
    struct Owner<'p>(&'p Shared);
    impl Drop for Owner<'_> {
        fn drop(&mut self) {
            self.0.owned.store(false, Release);
        }
    }
    let _owner = Owner(pool);

    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let panicked = AtomicBool::new(false);
    let slots = SendPtr(items.as_mut_ptr());
    let claim = || loop {
        let i = next.fetch_add(1, Relaxed);
        if i >= n {
            return;
        }
        // SAFETY: index `i` is handed out once by `next`; `items` outlives the job (the owner
        // waits for `done == n` and for every helper to leave before returning).
        let item = unsafe { (*slots.get().add(i)).take() };
        if let Some(item) = item {
            if catch_unwind(AssertUnwindSafe(|| f(item))).is_err() {
                panicked.store(true, Relaxed);
            }
        }
        done.fetch_add(1, Release);
    };
    let help: Help<'_> = &claim;
    // SAFETY: the job is closed with no helper inside (we own the pool and every previous owner
    // closed its job before releasing it); the 'static lifetime is erased only until `close`.
    unsafe { *pool.job.get() = Some(std::mem::transmute::<Help<'_>, Help<'static>>(help)) };
    let epoch = pool.state.load(Relaxed) & !(ACTIVE | OPEN);
    let open = epoch.wrapping_add(EPOCH) | OPEN;
    {
        let helpers = ensure_helpers(pool, n - 1);
        pool.state.store(open, SeqCst);
        for h in helpers.iter().take(n - 1) {
            if h.sleeping.load(SeqCst) {
                h.thread.unpark();
            }
        }
    }

    claim();
    let mut spins = 0u32;
    while done.load(Acquire) < n {
        backoff(&mut spins);
    }
    // Close: wait until no helper is inside, so none can still hold `help`.
    let mut spins = 0u32;
    while pool
        .state
        .compare_exchange_weak(open, open & !OPEN, AcqRel, Relaxed)
        .is_err()
    {
        backoff(&mut spins);
    }
    // SAFETY: closed with no helper inside.
    unsafe { *pool.job.get() = None };
    if panicked.load(Relaxed) {
        resume_unwind(Box::new("a kernel work item panicked"));
    }
}

struct SendPtr<T>(*mut T);
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
// SAFETY: used only to hand each item slot to exactly one thread (see `claim`).
unsafe impl<T: Send> Send for SendPtr<T> {}
unsafe impl<T: Send> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 1 << 12 {
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}

/// The helper list (locked) with at least `want` helpers (fewer if spawning fails: the caller
/// then simply runs more items itself).
fn ensure_helpers(pool: &'static Shared, want: usize) -> MutexGuard<'static, Vec<Arc<Helper>>> {
    let mut list = pool.helpers.lock().unwrap_or_else(|e| e.into_inner());
    while list.len() < want.min(MAX_HELPERS) {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = thread::Builder::new()
            .name(format!("edgeopt-kernel-{}", list.len() + 1))
            .spawn(move || {
                let seen = pool.state.load(Acquire) >> 33;
                let me = Arc::new(Helper {
                    thread: thread::current(),
                    sleeping: AtomicBool::new(false),
                });
                if tx.send(me.clone()).is_ok() {
                    helper_loop(pool, &me, seen);
                }
            });
        match spawned.ok().and_then(|_| rx.recv().ok()) {
            Some(h) => list.push(h),
            None => break,
        }
    }
    list
}

fn helper_loop(pool: &'static Shared, me: &Helper, mut seen: u64) {
    let spin = spin_time();
    loop {
        // Wait for a job newer than the last one seen: spin, then park.
        let start = Instant::now();
        let mut polls = 0u32;
        let state = loop {
            let s = pool.state.load(Acquire);
            if s >> 33 != seen {
                break s;
            }
            polls += 1;
            if !polls.is_multiple_of(64) {
                std::hint::spin_loop();
                continue;
            }
            let waited = start.elapsed();
            if waited > spin {
                me.sleeping.store(true, SeqCst);
                if pool.state.load(SeqCst) >> 33 == seen {
                    thread::park();
                }
                me.sleeping.store(false, SeqCst);
            } else if waited > PURE_SPIN {
                // Past the first microseconds, let other runnable threads have the core (on an
                // idle core this returns at once): spinning on a busy machine only delays the
                // thread that will post the next job.
                thread::yield_now();
            }
        };
        seen = state >> 33;
        enter_and_help(pool, state);
    }
}

/// Joins the job of `state` if it is still open, runs items, leaves.
fn enter_and_help(pool: &Shared, mut state: u64) {
    let epoch = state >> 33;
    loop {
        if state & OPEN == 0 || state >> 33 != epoch {
            return;
        }
        match pool
            .state
            .compare_exchange_weak(state, state + 1, AcqRel, Acquire)
        {
            Ok(_) => break,
            Err(now) => state = now,
        }
    }
    // SAFETY: entered an open job: the owner keeps `job` and everything it borrows alive until
    // this helper leaves (it closes only with zero helpers inside).
    if let Some(help) = unsafe { *pool.job.get() } {
        help();
    }
    pool.state.fetch_sub(1, Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_runs_once() {
        for n in [0usize, 1, 2, 3, 8, 17] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            let mut items: Vec<Option<usize>> = (0..n).map(Some).collect();
            run_items(&mut items, &|i: usize| {
                hits[i].fetch_add(1, Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Relaxed) == 1), "n = {n}");
        }
    }

    #[test]
    fn concurrent_and_nested_calls_complete() {
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let sum = AtomicUsize::new(0);
                        let mut items: Vec<Option<usize>> = (0..4).map(Some).collect();
                        run_items(&mut items, &|i: usize| {
                            let mut inner: Vec<Option<usize>> = (0..3).map(Some).collect();
                            run_items(&mut inner, &|j: usize| {
                                sum.fetch_add(i * 3 + j, Relaxed);
                            });
                        });
                        assert_eq!(sum.load(Relaxed), (0..12).sum::<usize>());
                    }
                });
            }
        });
    }

    #[test]
    fn a_panicking_item_is_reported_after_the_others_finish() {
        let ran = AtomicUsize::new(0);
        let mut items: Vec<Option<usize>> = (0..6).map(Some).collect();
        let result = catch_unwind(AssertUnwindSafe(|| {
            run_items(&mut items, &|i: usize| {
                ran.fetch_add(1, Relaxed);
                assert_ne!(i, 3, "item 3 fails");
            })
        }));
        assert!(result.is_err());
        assert_eq!(ran.load(Relaxed), 6);
        // The pool is usable afterwards.
        let mut items: Vec<Option<usize>> = (0..3).map(Some).collect();
        run_items(&mut items, &|_| {
            ran.fetch_add(1, Relaxed);
        });
        assert_eq!(ran.load(Relaxed), 9);
    }
}
