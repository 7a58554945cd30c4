//! This host's arithmetic peaks for the profile `edgeopt hw calibrate` writes: the fp32 FMA
//! peak measured on the widest vector unit the CPU has (AVX-512 when present; the runtime's
//! AVX2 micro-benchmark otherwise), and the fp16 / int8 peaks derived from it by the ISA's
//! lanes per instruction (stated in each source string).

use crate::measure::thread_cpu_seconds;

/// A measured or derived peak: MAC/s (one thread) and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Peak {
    pub macs_per_s: f64,
    pub source: String,
}

/// Flops of one iteration of the AVX-512 loop: 12 chains x 16 lanes x 2.
#[cfg(target_arch = "x86_64")]
const AVX512_FLOPS: usize = 12 * 16 * 2;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop_avx512(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let m = _mm512_set1_ps(0.999_999);
    let a = _mm512_set1_ps(1e-7);
    // 12 independent chains cover the 4-cycle FMA latency on two ports.
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm512_fmadd_ps(*r, m, a);
        }
    }
    let mut s = _mm512_setzero_ps();
    for r in acc {
        s = _mm512_add_ps(s, r);
    }
    _mm512_reduce_add_ps(s)
}

/// Best of five ~10 ms batches of the AVX-512 FMA loop, GFLOP/s, on the thread's CPU clock
/// (wall time on a loaded machine measured a fifth of the peak); `None` without AVX-512F.
fn avx512_gflops() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        const ITERS: usize = 1 << 21;
        let mut best = 0f64;
        for _ in 0..5 {
            let t0 = thread_cpu_seconds();
            // SAFETY: the CPU has AVX-512F (checked above).
            let sink = unsafe { fma_loop_avx512(ITERS) };
            let dt = thread_cpu_seconds() - t0;
            std::hint::black_box(sink);
            if dt > 0.0 {
                best = best.max((ITERS * AVX512_FLOPS) as f64 / dt / 1e9);
            }
        }
        return Some(best);
    }
    None
}

fn has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match feature {
            "avx512vnni" => is_x86_feature_detected!("avx512vnni"),
            "avx512fp16" => is_x86_feature_detected!("avx512fp16"),
            "avx2" => is_x86_feature_detected!("avx2"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

/// fp32, fp16 and int8 peaks of one thread of this host; `tag` ends every source.
pub fn host_peaks(tag: &str) -> [Peak; 3] {
    let (gflops, how) = match avx512_gflops() {
        Some(g) => (
            g,
            "AVX-512 FMA micro-benchmark (12 chains x 16 lanes, thread CPU time)",
        ),
        None => (
            edgeopt_runtime::peak::fma_peak_gflops(),
            "AVX2/portable FMA micro-benchmark (edgeopt_runtime::peak)",
        ),
    };
    let fp32 = gflops * 1e9 / 2.0;
    let fp16 = if has("avx512fp16") {
        Peak {
            macs_per_s: 2.0 * fp32,
            source: format!("AVX512-FP16: 32 fp16 lanes per 512-bit FMA, 2x fp32 ({tag})"),
        }
    } else {
        Peak {
            macs_per_s: fp32,
            source: format!(
                "no fp16 arithmetic on this CPU (F16C converts; compute is fp32): the fp32 peak ({tag})"
            ),
        }
    };
    let int8 = if has("avx512vnni") {
        Peak {
            macs_per_s: 4.0 * fp32,
            source: format!(
                "AVX512-VNNI vpdpbusd: 64 int8 MACs per 512-bit instruction vs 16 fp32 FMAs, 4x fp32 ({tag})"
            ),
        }
    } else {
        Peak {
            macs_per_s: 2.0 * fp32,
            source: format!("vpmaddubsw + vpmaddwd (no VNNI): about 2x the fp32 MAC rate ({tag})"),
        }
    };
    [
        Peak {
            macs_per_s: fp32,
            source: format!("{how}, {tag}"),
        },
        fp16,
        int8,
    ]
}
