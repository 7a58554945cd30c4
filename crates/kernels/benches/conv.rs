//! Convolution throughput on the layers of ResNet-18 and MobileNetV2 (224x224, batch 1) and
//! the MNIST CNN: every algorithm that accepts a layer at 1 thread (thread CPU time) and the
//! Auto pick at 2 threads (wall time), as GFLOP/s (2 flops per multiply-add; Winograd counted
//! at the direct convolution's flops, i.e. "effective") and as a share of the FMA peak; then
//! each network's conv time with Auto. Prints markdown for BENCHMARKS.md.
//!
//! `cargo bench -p edgeopt-kernels --bench conv [-- ROUNDS] [-- FILTER]`

mod support;

use std::hint::black_box;

use edgeopt_kernels::conv::{Conv2dShape, ConvAlgo, PackedConv};
use edgeopt_kernels::Activation;
use support::{avx512_peak, fma_peak, median, time};

const ALGOS: [ConvAlgo; 6] = [
    ConvAlgo::Im2colGemm,
    ConvAlgo::Pointwise,
    ConvAlgo::Depthwise,
    ConvAlgo::Winograd,
    ConvAlgo::Direct,
    ConvAlgo::Thin,
];

/// `(net, count, in_c, hw, out_c, kernel, stride, groups)`; padding is `kernel / 2`.
type Layer = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);

const LAYERS: &[Layer] = &[
    ("resnet18", 1, 3, 224, 64, 7, 2, 1),
    ("resnet18", 4, 64, 56, 64, 3, 1, 1),
    ("resnet18", 1, 64, 56, 128, 3, 2, 1),
    ("resnet18", 1, 64, 56, 128, 1, 2, 1),
    ("resnet18", 3, 128, 28, 128, 3, 1, 1),
    ("resnet18", 1, 128, 28, 256, 3, 2, 1),
    ("resnet18", 1, 128, 28, 256, 1, 2, 1),
    ("resnet18", 3, 256, 14, 256, 3, 1, 1),
    ("resnet18", 1, 256, 14, 512, 3, 2, 1),
    ("resnet18", 1, 256, 14, 512, 1, 2, 1),
    ("resnet18", 3, 512, 7, 512, 3, 1, 1),
    ("mobilenetv2", 1, 3, 224, 32, 3, 2, 1),
    ("mobilenetv2", 1, 32, 112, 32, 3, 1, 32),
    ("mobilenetv2", 1, 32, 112, 16, 1, 1, 1),
    ("mobilenetv2", 1, 16, 112, 96, 1, 1, 1),
    ("mobilenetv2", 1, 96, 112, 96, 3, 2, 96),
    ("mobilenetv2", 1, 96, 56, 24, 1, 1, 1),
    ("mobilenetv2", 2, 24, 56, 144, 1, 1, 1),
    ("mobilenetv2", 1, 144, 56, 144, 3, 1, 144),
    ("mobilenetv2", 1, 144, 56, 24, 1, 1, 1),
    ("mobilenetv2", 1, 144, 56, 144, 3, 2, 144),
    ("mobilenetv2", 1, 144, 28, 32, 1, 1, 1),
    ("mobilenetv2", 3, 32, 28, 192, 1, 1, 1),
    ("mobilenetv2", 2, 192, 28, 192, 3, 1, 192),
    ("mobilenetv2", 2, 192, 28, 32, 1, 1, 1),
    ("mobilenetv2", 1, 192, 28, 192, 3, 2, 192),
    ("mobilenetv2", 1, 192, 14, 64, 1, 1, 1),
    ("mobilenetv2", 4, 64, 14, 384, 1, 1, 1),
    ("mobilenetv2", 4, 384, 14, 384, 3, 1, 384),
    ("mobilenetv2", 3, 384, 14, 64, 1, 1, 1),
    ("mobilenetv2", 1, 384, 14, 96, 1, 1, 1),
    ("mobilenetv2", 3, 96, 14, 576, 1, 1, 1),
    ("mobilenetv2", 2, 576, 14, 576, 3, 1, 576),
    ("mobilenetv2", 2, 576, 14, 96, 1, 1, 1),
    ("mobilenetv2", 1, 576, 14, 576, 3, 2, 576),
    ("mobilenetv2", 1, 576, 7, 160, 1, 1, 1),
    ("mobilenetv2", 3, 160, 7, 960, 1, 1, 1),
    ("mobilenetv2", 3, 960, 7, 960, 3, 1, 960),
    ("mobilenetv2", 2, 960, 7, 160, 1, 1, 1),
    ("mobilenetv2", 1, 960, 7, 320, 1, 1, 1),
    ("mobilenetv2", 1, 320, 7, 1280, 1, 1, 1),
    ("mnist_cnn", 1, 1, 28, 32, 3, 1, 1),
    ("mnist_cnn", 1, 32, 14, 64, 3, 1, 1),
    // Channel-pruned (50%) ResNet-18 and PP-OCRv4 det (640x640), with det's unpruned layers.
    ("pruned_r18", 1, 3, 224, 32, 7, 2, 1),
    ("pruned_r18", 4, 32, 56, 32, 3, 1, 1),
    ("pruned_r18", 1, 32, 56, 64, 3, 2, 1),
    ("pruned_r18", 3, 64, 28, 64, 3, 1, 1),
    ("pruned_r18", 3, 128, 14, 128, 3, 1, 1),
    ("pruned_r18", 3, 256, 7, 256, 3, 1, 1),
    ("ppocr_det", 1, 3, 640, 16, 3, 2, 1),
    ("ppocr_det", 2, 96, 160, 24, 3, 1, 1),
    ("ppocr_det", 1, 96, 80, 24, 3, 1, 1),
    ("pruned_det", 1, 3, 640, 8, 3, 2, 1),
    ("pruned_det", 2, 48, 160, 12, 3, 1, 1),
    ("pruned_det", 1, 48, 80, 12, 3, 1, 1),
];

fn random(len: usize, mut s: u64) -> Vec<f32> {
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn shape(&(_, _, c, hw, m, k, stride, groups): &Layer) -> Conv2dShape {
    let mut s = Conv2dShape::simple(1, c, hw, hw, m, k);
    (s.stride_h, s.stride_w, s.groups) = (stride, stride, groups);
    let p = k / 2;
    (s.pad_top, s.pad_left, s.pad_bottom, s.pad_right) = (p, p, p, p);
    s
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5);
    let filter = args
        .iter()
        .find(|a| a.parse::<usize>().is_err() && !a.starts_with('-'));
    let table = edgeopt_kernels::kernels();
    // The peak of the instruction set the table uses: % peak is against it.
    let (avx2, avx512) = (fma_peak(), avx512_peak());
    let peak = if table.name() == "x86_64_avx512" {
        avx512
    } else {
        avx2
    };
    let gflops = |p: Option<f64>| p.map_or("n/a".into(), |p| format!("{p:.1} GFLOP/s"));
    println!(
        "table: {}, rounds: {rounds}, FMA peak (1 core, thread CPU time): AVX2 {}, AVX-512 {}",
        table.name(),
        gflops(avx2),
        gflops(avx512),
    );
    println!();
    println!("| net | layer | x | MFLOP | im2col | pointwise | depthwise | winograd F2 | winograd F4 | direct | thin | im2col wide | transposed | transposed wide | auto pick | auto 1t | % peak | auto 2t |");
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|");
    let mut totals: Vec<(&str, f64, f64)> = Vec::new();
    for layer in LAYERS {
        let (net, count, c, hw, m, k, stride, groups) = *layer;
        let name = format!(
            "{c}->{m} {k}x{k}/{stride}{} @{hw}",
            if groups > 1 { " dw" } else { "" }
        );
        if filter.is_some_and(|f| !net.contains(f.as_str()) && !name.contains(f.as_str())) {
            continue;
        }
        let s = shape(layer);
        let x = random(s.input_len(), 1);
        let w = random(s.weight_len(), 2);
        let bias = random(m, 3);
        let mut out = vec![0f32; s.output_len()];
        let flops = 2.0 * s.macs() as f64;
        let build = |algo| PackedConv::new(&s, &w, Some(&bias), Activation::Relu, algo).ok();
        let auto = build(ConvAlgo::Auto).expect("Auto accepts every layer");
        let mut convs: Vec<Option<PackedConv>> = ALGOS.iter().map(|&a| build(a)).collect();
        // The Winograd column as two: F(2x2, 3x3) and F(4x4, 3x3).
        let wino =
            |t| PackedConv::winograd_with_tile(table, &s, &w, Some(&bias), Activation::Relu, t);
        let f4 = convs[3].as_ref().and_then(|_| wino(4).ok());
        convs[3] = convs[3].as_ref().and_then(|_| wino(2).ok());
        convs.insert(4, f4);
        // im2col on the wide register tile (8x48 on AVX-512), where the table has one.
        let wide = table.wide_tile().and_then(|t| {
            PackedConv::with_kernels(
                t,
                &s,
                &w,
                Some(&bias),
                Activation::Relu,
                ConvAlgo::Im2colGemm,
            )
            .ok()
        });
        convs.push(wide);
        // The transposed product (pixels x channels) on the table's tile and the wide one.
        let transposed = |t| {
            let algo = ConvAlgo::Im2colTransposed;
            PackedConv::with_kernels(t, &s, &w, Some(&bias), Activation::Relu, algo).ok()
        };
        convs.push(transposed(table));
        convs.push(table.wide_tile().and_then(transposed));
        let scratch_len = convs
            .iter()
            .flatten()
            .map(PackedConv::scratch_len)
            .max()
            .unwrap_or(0);
        let mut scratch = vec![0f32; scratch_len.max(auto.scratch_len())];
        let algos = convs.len();
        let mut secs = vec![Vec::new(); algos + 2];
        for _ in 0..rounds {
            for (i, conv) in convs.iter().enumerate() {
                if let Some(conv) = conv {
                    secs[i].push(time(true, &mut || {
                        conv.run(&x, black_box(&mut out), &mut scratch, 1).unwrap()
                    }));
                }
            }
            secs[algos].push(time(true, &mut || {
                auto.run(&x, black_box(&mut out), &mut scratch, 1).unwrap()
            }));
            secs[algos + 1].push(time(false, &mut || {
                auto.run(&x, black_box(&mut out), &mut scratch, 2).unwrap()
            }));
        }
        let gflops = |v: &Vec<f64>| (!v.is_empty()).then(|| flops / median(v.clone()) / 1e9);
        let cell = |v: &Vec<f64>| gflops(v).map_or("-".into(), |g| format!("{g:.1}"));
        let cells: Vec<String> = secs[..algos].iter().map(cell).collect();
        let auto1 = gflops(&secs[algos]).unwrap_or(0.0);
        let share = peak.map_or("-".into(), |p| format!("{:.0}%", 100.0 * auto1 / p));
        println!(
            "| {net} | {name} | {count} | {:.1} | {} | {:?} {:?} | {auto1:.1} | {share} | {} |",
            flops / 1e6,
            cells.join(" | "),
            auto.algo(),
            auto.kernels().tile(),
            cell(&secs[algos + 1]),
        );
        let t1 = median(secs[algos].clone()) * count as f64;
        let t2 = median(secs[algos + 1].clone()) * count as f64;
        match totals.iter_mut().find(|t| t.0 == net) {
            Some(t) => (t.1, t.2) = (t.1 + t1, t.2 + t2),
            None => totals.push((net, t1, t2)),
        }
    }
    println!();
    for (net, t1, t2) in totals {
        println!(
            "{net}: all convs with Auto: {:.2} ms at 1 thread, {:.2} ms at 2 threads",
            t1 * 1e3,
            t2 * 1e3
        );
    }
}
