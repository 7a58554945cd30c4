//! Int8 GEMM / conv throughput at 1 thread on ResNet-18 and MobileNetV2 layer shapes, against
//! the fp32 GEMM on the same shapes. Prints a markdown table for BENCHMARKS.md.
//!
//! `cargo bench -p edgeopt-kernels --bench int8 [-- ROUNDS]`
//!
//! GEMM rows: `W[Cout x K] * X[K x HW]`, X a u8 matrix (an im2col result), requantized to u8
//! with per-channel scales (int8: packing X included, W prepacked) vs fp32 `gemm` (both packed
//! on the fly, no im2col). Conv rows: the whole int8 conv (im2col included) from NCHW u8.
//! Timings are per-thread CPU time, median over round-robin rounds (see benches/gemm.rs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use edgeopt_kernels::int8::{
    qconv, qgemm, ConvGeometry, Int8Kernels, PackedConv, PackedWeights, QInput, QOutput, Requant,
    Scale, WeightsRef,
};
use edgeopt_kernels::{GemmParams, Kernels, MatMut, MatRef};

/// (name, M = Cout, N = H*W, K).
const GEMMS: [(&str, usize, usize, usize); 9] = [
    ("r18 3x3 64->64 @56", 64, 3136, 576),
    ("r18 3x3 128->128 @28", 128, 784, 1152),
    ("r18 3x3 256->256 @14", 256, 196, 2304),
    ("r18 3x3 512->512 @7", 512, 49, 4608),
    ("r18 fc 512->1000", 1000, 1, 512),
    ("mv2 1x1 24->144 @56", 144, 3136, 24),
    ("mv2 1x1 144->24 @56", 24, 3136, 144),
    ("mv2 1x1 96->576 @14", 576, 196, 96),
    ("mv2 1x1 320->1280 @7", 1280, 49, 320),
];

/// (name, channels in, out, size, kernel, stride, groups).
const CONVS: [(&str, usize, usize, usize, usize, usize, usize); 4] = [
    ("r18 conv 3x3 64->64 @56", 64, 64, 56, 3, 1, 1),
    ("r18 conv 3x3 128->128 s2 @56", 128, 128, 56, 3, 2, 1),
    ("mv2 dw 3x3 144 @56", 144, 144, 56, 3, 1, 144),
    ("mv2 dw 3x3 144 s2 @56", 144, 144, 56, 3, 2, 144),
];

fn random(len: usize, mut s: u64) -> Vec<u32> {
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u32
        })
        .collect()
}

fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU seconds per call of `f`, repeated for ~20 ms.
fn time(f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let once = t.elapsed().max(Duration::from_micros(1)).as_secs_f64();
    let reps = ((0.02 / once).ceil() as usize).clamp(1, 10_000);
    let t0 = thread_cpu();
    for _ in 0..reps {
        f();
    }
    (thread_cpu() - t0) / reps as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median seconds of each closure, timed round-robin.
fn race(rounds: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut times = vec![Vec::new(); fs.len()];
    for _ in 0..rounds {
        for (f, t) in fs.iter_mut().zip(&mut times) {
            t.push(time(*f));
        }
    }
    times.into_iter().map(median).collect()
}

/// The instruction-set tables to time (not the portable twins, which only check results).
fn fast_tables() -> Vec<&'static Int8Kernels> {
    let all = Int8Kernels::available();
    let fast: Vec<_> = all
        .iter()
        .copied()
        .filter(|t| !t.name().starts_with("generic"))
        .collect();
    if fast.is_empty() {
        vec![Int8Kernels::generic()]
    } else {
        fast
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let (tables, g, f) = (fast_tables(), Int8Kernels::generic(), Kernels::native());
    let names: Vec<String> = tables
        .iter()
        .map(|t| format!("{} {:?}", t.name(), t.tile()))
        .collect();
    println!(
        "int8 tables {}, fp32 table {}, 1 thread, rounds {rounds}",
        names.join(", "),
        f.name()
    );
    println!();
    let head: Vec<String> = tables
        .iter()
        .map(|t| format!("{} GOP/s", t.name()))
        .collect();
    println!(
        "| shape | {} | fp32 GFLOP/s | best int8 / fp32 time |",
        head.join(" | ")
    );
    println!("|---|{}---:|---:|", "---:|".repeat(tables.len()));
    for (name, m, n, k) in GEMMS {
        let w: Vec<i8> = random(m * k, 1).into_iter().map(|v| v as i8).collect();
        let x: Vec<u8> = random(k * n, 2).into_iter().map(|v| v as u8).collect();
        let scales: Vec<f32> = (0..m).map(|i| 1e-4 * (1.0 + (i % 7) as f32)).collect();
        let bias: Vec<i32> = (0..m as i32).collect();
        let rq = Requant {
            bias: Some(&bias),
            scale: Scale::PerRow(&scales),
            zero_point: 128,
            relu: true,
            ..Requant::default()
        };
        let input = QInput::row_major(&x, k, n, 3);
        let pg = PackedWeights::new(g, WeightsRef::I8(&w), m, k, &[0]).unwrap();
        let mut want = vec![0u8; m * n];
        qgemm(g, &pg, &input, &rq, QOutput::U8(&mut want), (n, 1), 1).unwrap();
        let packed: Vec<_> = tables
            .iter()
            .map(|t| PackedWeights::new(t, WeightsRef::I8(&w), m, k, &[0]).unwrap())
            .collect();
        let mut outs = vec![vec![0u8; m * n]; tables.len()];
        let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut yf = vec![0f32; m * n];
        let p = GemmParams::default();
        let mut fs: Vec<Box<dyn FnMut()>> = Vec::new();
        for ((t, pw), y) in tables.iter().zip(&packed).zip(outs.iter_mut()) {
            let (input, rq) = (&input, &rq);
            fs.push(Box::new(move || {
                qgemm(t, pw, input, rq, QOutput::U8(black_box(y)), (n, 1), 1).unwrap()
            }));
        }
        fs.push(Box::new(|| {
            let a = MatRef::row_major(&wf, m, k).unwrap();
            let b = MatRef::row_major(&xf, k, n).unwrap();
            f.gemm(
                &p,
                a,
                b,
                MatMut::row_major(black_box(&mut yf), m, n).unwrap(),
            )
            .unwrap()
        }));
        let mut refs: Vec<&mut dyn FnMut()> = fs.iter_mut().map(|b| &mut **b as _).collect();
        let times = race(rounds, &mut refs);
        drop(fs);
        for (t, y) in tables.iter().zip(&outs) {
            assert_eq!(
                y,
                &want,
                "{name}: table {} disagrees with generic",
                t.name()
            );
        }
        let ops = 2.0 * (m * n * k) as f64 / 1e9;
        let cols: Vec<String> = times.iter().map(|t| format!("{:.1}", ops / t)).collect();
        let (fp32, best) = (
            times[tables.len()],
            times[..tables.len()]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min),
        );
        println!(
            "| {name} (M{m} N{n} K{k}) | {} | {:.2} |",
            cols.join(" | "),
            best / fp32
        );
    }
    println!();
    println!("| conv (im2col included) | {} |", head.join(" | "));
    println!("|---|{}", "---:|".repeat(tables.len()));
    for (name, c_in, c_out, size, kk, s, groups) in CONVS {
        let geom = ConvGeometry {
            batch: 1,
            c_in,
            h: size,
            w: size,
            c_out,
            kernel: (kk, kk),
            stride: (s, s),
            dilation: (1, 1),
            pads: [kk / 2; 4],
            groups,
        };
        let k = c_in / groups * kk * kk;
        let w: Vec<i8> = random(c_out * k, 3).into_iter().map(|v| v as i8).collect();
        let x: Vec<u8> = random(c_in * size * size, 4)
            .into_iter()
            .map(|v| v as u8)
            .collect();
        let pg = PackedConv::new(g, geom, WeightsRef::I8(&w), &[0]).unwrap();
        let (oh, ow) = pg.output_hw();
        let rq = Requant {
            scale: Scale::PerTensor(1e-4),
            zero_point: 128,
            ..Requant::default()
        };
        let mut want = vec![0u8; c_out * oh * ow];
        qconv(g, &pg, &x, 7, &rq, QOutput::U8(&mut want), 1).unwrap();
        let packed: Vec<_> = tables
            .iter()
            .map(|t| PackedConv::new(t, geom, WeightsRef::I8(&w), &[0]).unwrap())
            .collect();
        let mut outs = vec![vec![0u8; c_out * oh * ow]; tables.len()];
        let mut fs: Vec<Box<dyn FnMut()>> = Vec::new();
        for ((t, pc), y) in tables.iter().zip(&packed).zip(outs.iter_mut()) {
            let (x, rq) = (&x, &rq);
            fs.push(Box::new(move || {
                qconv(t, pc, x, 7, rq, QOutput::U8(black_box(y)), 1).unwrap()
            }));
        }
        let mut refs: Vec<&mut dyn FnMut()> = fs.iter_mut().map(|b| &mut **b as _).collect();
        let times = race(rounds, &mut refs);
        drop(fs);
        for (t, y) in tables.iter().zip(&outs) {
            assert_eq!(
                y,
                &want,
                "{name}: table {} disagrees with generic",
                t.name()
            );
        }
        let ops = 2.0 * (c_out * oh * ow * k) as f64 / 1e9;
        let cols: Vec<String> = times.iter().map(|t| format!("{:.1}", ops / t)).collect();
        println!("| {name} | {} |", cols.join(" | "));
    }
}
