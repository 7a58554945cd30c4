//! How `hw calibrate` and `hw validate` time models on a shared machine, in one place so both
//! sides of the comparison use the same clock, warm-up and statistic.
//!
//! - Clock: the runtime thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`; sessions run on 1
//!   thread, on the calling thread). It leaves out the time the thread waits for a core, which
//!   dominates wall time when other processes compete; what it still carries (caches and
//!   memory bandwidth shared with them, cold caches after a preemption) only makes runs slower,
//!   so a low statistic over many runs filters it. Wall time is recorded beside it.
//! - Warm-up: one untimed round over every model first (at least [`Budget::warmup_runs`] runs
//!   and [`Budget::warmup_s`] seconds each): right after a session is built its first few
//!   hundred milliseconds of runs are up to 1.6x slower (measured on this host: page faults,
//!   packed weights and arena first touched, huge pages not yet formed).
//! - Interleaving: [`Budget::rounds`] timed rounds over all models, each model at least
//!   [`Budget::min_runs`] runs and [`Budget::min_round_s`] CPU seconds per round, so a slow
//!   spell of the machine hits every model a little instead of one model entirely.
//! - Statistic: [`fast_half`], the median of the fastest half of the runs (the lower quartile):
//!   robust to the slow tail other tenants add, and unlike the minimum it does not drift
//!   lower with more runs. Calibration fits per-node medians over the same fastest half.
//! - Self-agreement: the statistic over the even rounds against the odd rounds, per model;
//!   the share within +-10% bounds what any prediction can reach at that moment.

use crate::Result;
use serde::Serialize;
use std::time::Instant;

/// CPU seconds the calling thread has used (0 where the clock is missing).
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU seconds one reading of [`thread_cpu_seconds`] adds to the span it closes: the median
/// difference of back-to-back readings (about 0.2 us on this VM, where the thread clock is a
/// system call). A profiled step reads the clock on both sides, so its measured time carries
/// this much on top of the step's own; on a 5 us MLP with four steps that was +20%.
pub fn thread_clock_overhead() -> f64 {
    let mut d: Vec<f64> = (0..2001)
        .map(|_| {
            let a = thread_cpu_seconds();
            thread_cpu_seconds() - a
        })
        .collect();
    median(&mut d).max(0.0)
}

/// How whole-model runs are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Clock {
    /// Wall time (`Instant`).
    Wall,
    /// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): on a loaded machine it
    /// leaves out the time the thread waits for a core. Valid for 1-thread sessions only.
    ThreadCpu,
}

impl Clock {
    /// This clock's reading of `r`.
    pub fn of(self, r: &RunTime) -> f64 {
        match self {
            Clock::Wall => r.wall_s,
            Clock::ThreadCpu => r.cpu_s,
        }
    }
}

/// How many runs to take.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Budget {
    /// Timed rounds over all models.
    pub rounds: usize,
    /// Runs per model and round, at least.
    pub min_runs: usize,
    /// CPU seconds per model and round, at least.
    pub min_round_s: f64,
    /// Untimed runs per model before the first round, at least.
    pub warmup_runs: usize,
    /// Untimed CPU seconds per model before the first round, at least.
    pub warmup_s: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            rounds: 8,
            min_runs: 3,
            min_round_s: 0.02,
            warmup_runs: 3,
            warmup_s: 0.05,
        }
    }
}

/// One run's times.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RunTime {
    pub cpu_s: f64,
    pub wall_s: f64,
}

/// Calls `run` until it has run `min_runs` times and used `min_s` CPU seconds (at most 100000
/// runs); returns each run's times.
pub fn repeat(
    min_runs: usize,
    min_s: f64,
    mut run: impl FnMut() -> Result<()>,
) -> Result<Vec<RunTime>> {
    let mut out = Vec::new();
    let mut used = 0.0;
    while (out.len() < min_runs || used < min_s) && out.len() < 100_000 {
        let (w0, c0) = (Instant::now(), thread_cpu_seconds());
        run()?;
        let cpu_s = thread_cpu_seconds() - c0;
        out.push(RunTime {
            cpu_s,
            wall_s: w0.elapsed().as_secs_f64(),
        });
        used += cpu_s;
    }
    Ok(out)
}

/// Median of `v` (sorted in place); 0 for an empty slice.
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Indices of the fastest half of `v` (at least one), fastest first.
pub fn fastest_half(v: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    idx.truncate(v.len().div_ceil(2));
    idx
}

/// The median of the fastest half of `v` (about its lower quartile); 0 for an empty slice.
pub fn fast_half(v: &[f64]) -> f64 {
    let mut f: Vec<f64> = fastest_half(v).into_iter().map(|i| v[i]).collect();
    median(&mut f)
}

/// `(a - b) / min(a, b)`, 0 when either is 0.
pub fn rel_diff(a: f64, b: f64) -> f64 {
    let m = a.min(b);
    if m > 0.0 {
        (a - b) / m
    } else {
        0.0
    }
}

/// `stat` over the runs of the even rounds and over the odd rounds; `None` with one round.
pub fn even_odd<T>(
    rounds: &[Vec<T>],
    value: impl Fn(&T) -> f64,
    stat: impl Fn(&[f64]) -> f64,
) -> Option<(f64, f64)> {
    if rounds.len() < 2 {
        return None;
    }
    let half = |parity: usize| -> Vec<f64> {
        rounds
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .flat_map(|(_, r)| r.iter().map(&value))
            .collect()
    };
    Some((stat(&half(0)), stat(&half(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_half_ignores_the_slow_tail_and_not_the_typical_run() {
        // Half the runs at 1.0-1.1, the rest inflated by contention.
        let v = [1.0, 3.0, 1.05, 2.5, 1.1, 1.02, 9.0, 1.5];
        // Fastest half: 1.0, 1.02, 1.05, 1.1 -> median 1.035.
        assert!((fast_half(&v) - 1.035).abs() < 1e-12);
        assert_eq!(fastest_half(&v), vec![0, 5, 2, 4]);
        assert_eq!(fast_half(&[]), 0.0);
        assert_eq!(fast_half(&[2.0]), 2.0);
    }

    #[test]
    fn even_and_odd_rounds_are_summarized_apart() {
        let rounds = vec![vec![1.0, 2.0], vec![4.0], vec![3.0], vec![8.0, 6.0]];
        let (e, o) = even_odd(&rounds, |x| *x, |v| median(&mut v.to_vec())).unwrap();
        assert_eq!((e, o), (2.0, 6.0));
        assert!(even_odd(&rounds[..1], |x| *x, |v| v[0]).is_none());
        assert!((rel_diff(1.1, 1.0) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn the_thread_clock_overhead_is_small_and_not_negative() {
        let c = thread_clock_overhead();
        // A clock read costs from tens of nanoseconds (vDSO) to a few microseconds (a trapped
        // system call); 0 where the clock is missing.
        assert!((0.0..20e-6).contains(&c), "{c}");
    }

    #[test]
    fn repeat_runs_until_both_the_count_and_the_time_are_reached() {
        let mut n = 0;
        let t = repeat(5, 0.0, || {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((t.len(), n), (5, 5));
        let t = repeat(1, 0.002, || {
            std::hint::black_box((0..2000).map(|i| i as f64).sum::<f64>());
            Ok(())
        })
        .unwrap();
        assert!(t.iter().map(|r| r.cpu_s).sum::<f64>() >= 0.002 || t.len() == 100_000);
        assert!(t.iter().all(|r| r.wall_s >= 0.0 && r.cpu_s >= 0.0));
    }
}
