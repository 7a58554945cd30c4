//! Direct 1x1 convolution (`ConvAlgo::Direct`): `out[o][p] = act(bias[o] + sum_c w[o][c] *
//! x[c][p])` on NCHW with no packing at all. Rows of the input already are contiguous
//! pixels, so a block of 64 pixels of every input channel stays in L1 while all output
//! channels sweep over it, each with 64 accumulators. Written to avoid the packing of the GEMM
//! on short reductions, but as compiled (autovectorized arrays) it measured 2-5x slower than
//! the packed GEMM on every MobileNetV2 pointwise layer: Auto does not pick it.

use super::PackedConv;
use crate::gemm::parallel;
use crate::Activation;

/// Pixels per block.
const P: usize = 64;

/// One image's product for output pixels `p0..p1` (a multiple of `P` apart, except at the end).
pub(crate) struct Job<'a> {
    pub w: &'a [f32],
    pub k: usize,
    pub bias: Option<&'a [f32]>,
    pub x: &'a [f32],
    pub n: usize,
    pub act: Activation,
    pub act_kernel: crate::arch::ActKernel,
}

/// Output pointer shared by the threads, which write disjoint pixel ranges of every row.
#[derive(Clone, Copy)]
pub(crate) struct Out(pub *mut f32);
// SAFETY: threads write disjoint elements (distinct pixel ranges).
unsafe impl Send for Out {}
// SAFETY: as above.
unsafe impl Sync for Out {}

/// Pointwise kernel `(job, out, p0, p1)`. Safety: `out` has `cout * n` floats, no other
/// thread writes pixels `p0..p1`, and the CPU has the kernel's features.
pub(crate) type PointwiseKernel = unsafe fn(&Job, Out, usize, usize);

/// The portable kernel.
pub(crate) unsafe fn pointwise_generic(job: &Job, out: Out, p0: usize, p1: usize) {
    // SAFETY: forwarded contract.
    unsafe { pixels::<false>(job, out, p0, p1) }
}

#[inline(always)]
fn madd<const FMA: bool>(x: f32, w: f32, acc: f32) -> f32 {
    if FMA {
        x.mul_add(w, acc)
    } else {
        acc + x * w
    }
}

/// The loops, for the arch wrappers to instantiate with their features.
///
/// Safety: see [`PointwiseKernel`].
#[inline(always)]
pub(crate) unsafe fn pixels<const FMA: bool>(job: &Job, out: Out, p0: usize, p1: usize) {
    let (k, n) = (job.k, job.n);
    let cout = job.w.len() / k;
    let (lo, hi) = match job.act {
        Activation::None => (f32::NEG_INFINITY, f32::INFINITY),
        Activation::Relu => (0.0, f32::INFINITY),
        Activation::Clip { min, max } => (min, max),
        _ => (f32::NEG_INFINITY, f32::INFINITY),
    };
    let other = !matches!(
        job.act,
        Activation::None | Activation::Relu | Activation::Clip { .. }
    );
    let mut b = p0;
    while b < p1 {
        let len = P.min(p1 - b);
        for o in 0..cout {
            let wo = &job.w[o * k..(o + 1) * k];
            let bias = job.bias.map_or(0.0, |v| v[o]);
            // SAFETY: row o, pixels b..b + len lie inside `out` and belong to this thread.
            let dst = unsafe { std::slice::from_raw_parts_mut(out.0.add(o * n + b), len) };
            if len == P {
                let mut acc = [bias; P];
                for (c, &wc) in wo.iter().enumerate() {
                    let xs: &[f32; P] = job.x[c * n + b..c * n + b + P]
                        .try_into()
                        .expect("P floats");
                    for i in 0..P {
                        acc[i] = madd::<FMA>(xs[i], wc, acc[i]);
                    }
                }
                for (d, a) in dst.iter_mut().zip(acc) {
                    *d = a.max(lo).min(hi);
                }
            } else {
                dst.fill(bias);
                for (c, &wc) in wo.iter().enumerate() {
                    let xs = &job.x[c * n + b..c * n + b + len];
                    for (d, &x) in dst.iter_mut().zip(xs) {
                        *d = madd::<FMA>(x, wc, *d);
                    }
                }
                for d in dst.iter_mut() {
                    *d = d.max(lo).min(hi);
                }
            }
            if other {
                // SAFETY: the table's kernels run on this CPU.
                unsafe { (job.act_kernel)(dst, job.act) };
            }
        }
        b += len;
    }
}

/// Runs the convolution image by image, pixel blocks split across threads.
pub(crate) fn run(pc: &PackedConv, input: &[f32], output: &mut [f32], threads: usize) {
    let s = &pc.shape;
    let (k, cout, n) = (s.in_channels, s.out_channels, s.in_h * s.in_w);
    let t = parallel::threads_for(2 * cout * k * n, threads, pc.table.min_flops_per_thread);
    for b in 0..s.batch {
        let job = Job {
            w: &pc.weights,
            k,
            bias: pc.bias.as_deref(),
            x: &input[b * k * n..(b + 1) * k * n],
            n,
            act: pc.activation,
            act_kernel: pc.table.act,
        };
        let out = &mut output[b * cout * n..(b + 1) * cout * n];
        let ptr = Out(out.as_mut_ptr());
        let kernel = pc.table.pointwise;
        parallel::run(parallel::split_1d(n, P, t), |r| {
            // SAFETY: ranges are disjoint; `out` has cout * n floats; the table's kernels run here.
            unsafe { kernel(&job, ptr, r.start, r.end) }
        });
    }
}
