//! Host calibration: measures this machine (fp32 FMA peak with a micro-benchmark, read
//! bandwidth of L1-, L2- and DRAM-sized buffers) and writes the results into a profile,
//! each number tagged "measured by edgeopt hw calibrate on DATE". Fitting the per-kernel-class
//! `[host_model]` needs the runtime's `Session` (per-step profiling) and is not wired yet.

use crate::profile::Profile;
use std::time::Instant;

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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_avx2(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let m = _mm256_set1_ps(0.999_999);
    let a = _mm256_set1_ps(1e-7);
    let mut acc = [_mm256_set1_ps(1.0); 12];
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm256_fmadd_ps(*r, m, a);
        }
    }
    let mut s = _mm256_setzero_ps();
    for r in acc {
        s = _mm256_add_ps(s, r);
    }
    let mut o = [0f32; 8];
    _mm256_storeu_ps(o.as_mut_ptr(), s);
    o.iter().sum()
}

fn fma_portable(iters: usize) -> f32 {
    let mut acc = [1.0f32; 32];
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = *r * 0.999_999 + 1e-7;
        }
    }
    acc.iter().sum()
}

/// Best-of-five single-thread fp32 MACs per second: independent FMA chains (12 x 8 lanes
/// with AVX2+FMA, enough to cover the FMA latency on two ports), a portable loop otherwise.
pub fn fma_peak_macs_per_s() -> f64 {
    const ITERS: usize = 1 << 20;
    let mut best = 0f64;
    for _ in 0..5 {
        let t0 = Instant::now();
        #[cfg(target_arch = "x86_64")]
        let (sink, macs) = if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            (unsafe { fma_avx2(ITERS) }, ITERS * 96)
        } else {
            (fma_portable(ITERS), ITERS * 32)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let (sink, macs) = (fma_portable(ITERS), ITERS * 32);
        let dt = t0.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        if dt > 0.0 {
            best = best.max(macs as f64 / dt);
        }
    }
    best
}

/// Best-of-five read bandwidth (B/s) over a buffer of `bytes`, summed over `threads` threads
/// each reading its own buffer.
pub fn read_bandwidth(bytes: usize, threads: usize) -> f64 {
    let n = (bytes / 4).max(16);
    let reps = ((64 << 20) / bytes.max(1)).clamp(1, 4096);
    let one = |seed: f32| -> f64 {
        let buf = vec![seed; n];
        let mut best = 0f64;
        for _ in 0..5 {
            let t0 = Instant::now();
            let mut acc = [0f32; 16];
            for _ in 0..reps {
                for ch in buf.chunks_exact(16) {
                    for (a, x) in acc.iter_mut().zip(ch) {
                        *a += x;
                    }
                }
            }
            std::hint::black_box(acc);
            let dt = t0.elapsed().as_secs_f64();
            if dt > 0.0 {
                best = best.max((n * 4 * reps) as f64 / dt);
            }
        }
        best
    };
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads.max(1))
            .map(|i| sc.spawn(move || one(i as f32 + 1.0)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    })
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// `base` with this machine's measured fp32 peak (x `threads`) and L1/L2/DRAM bandwidths.
pub fn calibrate_machine(base: &Profile, threads: usize) -> Profile {
    let mut p = base.clone();
    let threads = threads.max(1);
    let tag = format!(
        "measured by edgeopt hw calibrate on {}, {threads} thread(s)",
        today()
    );
    let measured = fma_peak_macs_per_s() * threads as f64;
    // fp16 and int8 run on the same vector units: keep their ratio to the fp32 peak.
    let ratio = measured / base.compute.fp32.peak_macs_per_s;
    for t in [&mut p.compute.fp16, &mut p.compute.int8] {
        t.peak_macs_per_s *= ratio;
        t.source = format!("{} (scaled with the measured fp32 peak)", t.source);
    }
    p.compute.fp32.peak_macs_per_s = measured;
    p.compute.fp32.source = format!("FMA micro-benchmark x {threads} thread(s), {tag}");
    p.device.cores = threads as u32;
    p.device.description = format!("this host: {} ({threads} thread(s))", cpu_name());
    for (level, size) in [
        ("L1", 16usize << 10),
        ("L2", 512 << 10),
        ("dram", 256 << 20),
    ] {
        if let Some(i) = p.level(level) {
            let bw = read_bandwidth(size, threads);
            if bw > 0.0 {
                p.memory[i].bandwidth_bytes_per_s = bw;
                p.memory[i].source = format!("read bandwidth of a {} KB buffer, {tag}", size >> 10);
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_date() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"), "{d}");
    }
}
