//! What the runtime runs for each node on this host, and the features its time depends on.
//!
//! The host cost model is keyed on the kernel the runtime lowered each node to (its
//! `Kernel::name`, read from `Session::profile()` after the plan is built, no run needed):
//! `conv.pointwise`, `conv.im2col`, `conv.winograd`, `conv.depthwise` (split by kernel size and
//! stride), `gemm.prepacked`, `gemv.rows`, `sparse.gemm`, `elementwise.fused`, ..., `reference.<op>`
//! for nodes that run through the IR's reference eval, and `alias` for zero-copy views (free).
//! Features capture the kernel's tiling (MACs padded to the GEMM's 6x16 tile or the
//! depthwise row's vector width), the share of the working set that spills out of L2, the
//! per-element cost of activations and fused chains, and per-row / per-tile loop overheads.

use crate::layers::{extract, Layer};
use crate::profile::Precision;
use crate::Result;
use edgeopt_ir::{Graph, Node};
use edgeopt_passes::ops::activation::Activation;
use edgeopt_passes::ops::fused_conv::FusedConv;
use edgeopt_passes::ops::fused_elementwise::FusedElementwise;
use edgeopt_passes::ops::fused_matmul::{FusedGemm, FusedMatMul};
use serde::Serialize;

/// Feature names, in coefficient order. "in_l2" / "beyond_l2" split a quantity by the share
/// of the node's reused working set (activations + im2col buffer; packed weights stream
/// through once per node) that fits the L2. Weights are split by where they are when the next
/// run reaches the node: the bytes one run touches (weights + activations written) decide
/// what stays in the L2, in the effective last-level cache ([`CacheSizes::llc_bytes`]) or
/// only in DRAM (cold weights).
pub const NODE_FEATURES: [&str; 14] = [
    "one",
    "tiled_macs",
    "tiled_macs_beyond_l2",
    "act_bytes_in_l2",
    "act_bytes_beyond_l2",
    "weight_bytes_in_l2",
    "weight_bytes_in_llc",
    "weight_bytes_beyond_llc",
    "out_elems",
    "elem_ops",
    "transcendental_elems",
    "rows",
    "im2col_bytes_in_l2",
    "im2col_bytes_beyond_l2",
];

/// Indices of the features that scale with the weights' density (pruned variants).
pub const DENSITY_FEATURES: [usize; 5] = [1, 2, 5, 6, 7];

/// Index of the first of the three weight features (in L2, in LLC, beyond).
pub const WEIGHT_FEATURES: usize = 5;

/// Number of features.
pub const NF: usize = NODE_FEATURES.len();

/// The GEMM micro-tile (rows x columns) of the kernel table this process runs (12x32 with
/// AVX-512, 6x16 with AVX2) and the vector width of the direct kernels (half a tile row:
/// 16 fp32 lanes with AVX-512, 8 with AVX2).
fn tile() -> (u64, u64, u64) {
    let (m, n) = edgeopt_kernels::kernels().tile();
    (m as u64, n as u64, (n as u64 / 2).max(1))
}

/// Ops that cost a polynomial or a division per element rather than an add or a compare.
const TRANSCENDENTAL: &[&str] = &[
    "Sigmoid",
    "Tanh",
    "Exp",
    "Log",
    "Erf",
    "Softplus",
    "Pow",
    "Sqrt",
    "Div",
    "Gelu",
    "Mish",
    "Elu",
    "Selu",
    "Cos",
    "Sin",
    "Reciprocal",
    "Softmax",
];

/// One scheduled node as the host runs it.
#[derive(Clone, Debug, Serialize)]
pub struct HostNode {
    /// Index of the node in the graph.
    pub node: usize,
    pub name: String,
    pub op_type: String,
    /// The runtime's kernel name (`reference`, `alias` included).
    pub kernel: String,
    /// The cost-model key: the kernel name, refined (depthwise kernel size and stride, the
    /// op of a reference eval).
    pub key: String,
    pub features: [f64; NF],
    /// Bytes one run of the whole model touches (weights + every activation written): the
    /// reuse distance of this node's weights from one run to the next, which decides the
    /// cache level they are found in.
    pub run_bytes: u64,
}

impl HostNode {
    /// Keys to look a model up by, most specific first: the key, the kernel name, the
    /// kernel family (text before the first dot).
    pub fn lookup_keys(&self) -> Vec<&str> {
        let family = self.kernel.split('.').next().unwrap_or(&self.kernel);
        let mut v = vec![self.key.as_str(), self.kernel.as_str(), family];
        v.dedup();
        v
    }

    /// Zero-copy views and alias steps cost nothing.
    pub fn is_free(&self) -> bool {
        self.kernel == "alias"
    }

    /// Re-splits the node's weight bytes for other cache sizes (calibration searches the
    /// effective LLC size with it).
    pub fn split_weights(&mut self, c: &CacheSizes) {
        let f = &mut self.features[WEIGHT_FEATURES..WEIGHT_FEATURES + 3];
        let w: f64 = f.iter().sum();
        f.copy_from_slice(&weight_split(w, self.run_bytes as f64, c));
    }
}

/// `w` weight bytes split into (in L2, in LLC, beyond LLC) for a model whose run touches
/// `model_w` bytes: the share of them each level can hold.
fn weight_split(w: f64, model_w: f64, c: &CacheSizes) -> [f64; 3] {
    let share = |cap: u64| {
        if model_w > cap as f64 {
            cap as f64 / model_w
        } else {
            1.0
        }
    };
    let (l2, llc) = (share(c.l2_bytes), share(c.llc_bytes.max(c.l2_bytes)));
    [w * l2, w * (llc - l2), w * (1.0 - llc)]
}

/// Cache sizes (bytes) the features compare working sets with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct CacheSizes {
    /// Per core.
    pub l1_bytes: u64,
    /// Per core.
    pub l2_bytes: u64,
    /// The last-level cache a model's weights can stay in between runs (the whole L3 from
    /// sysfs; calibration fits an effective share of it).
    pub llc_bytes: u64,
}

impl CacheSizes {
    /// The cache sizes a host model was calibrated with.
    pub fn of_model(m: &crate::profile::HostModel) -> CacheSizes {
        CacheSizes {
            l1_bytes: m.l1_bytes,
            l2_bytes: m.l2_bytes,
            llc_bytes: m.llc_bytes,
        }
    }

    /// This machine's per-core L1d and L2 and its L3 sizes from sysfs (Linux), else 32 KB /
    /// 1 MB / 8 MB.
    pub fn of_this_host() -> CacheSizes {
        let mut c = CacheSizes {
            l1_bytes: 32 << 10,
            l2_bytes: 1 << 20,
            llc_bytes: 8 << 20,
        };
        for i in 0..8 {
            let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
            let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
            let (Some(level), Some(ty), Some(size)) = (read("level"), read("type"), read("size"))
            else {
                continue;
            };
            let size = size.trim();
            let bytes = match size.strip_suffix('K') {
                Some(k) => k.parse::<u64>().ok().map(|k| k << 10),
                None => size
                    .strip_suffix('M')
                    .and_then(|m| m.parse::<u64>().ok())
                    .map(|m| m << 20),
            };
            let Some(bytes) = bytes else { continue };
            match (level.trim(), ty.trim()) {
                ("1", "Data") => c.l1_bytes = bytes,
                ("2", _) => c.l2_bytes = bytes,
                ("3", _) => c.llc_bytes = bytes,
                _ => {}
            }
        }
        c
    }
}

/// The kernel the runtime would most likely pick for a layer, for graphs estimated without a
/// session (mirrors `edgeopt_kernels::conv`'s Auto choice and the Gemm lowering).
pub fn guess_kernel(l: &Layer) -> String {
    use crate::layers::KernelClass as K;
    match l.class {
        K::Conv1x1 => "conv.pointwise",
        K::ConvKxK => "conv.im2col",
        K::Winograd => "conv.winograd",
        K::Depthwise => "conv.depthwise",
        K::Gemm if l.gemm.is_some_and(|d| d.m == 1) => "gemv.rows",
        K::Gemm => "gemm.prepacked",
        K::Elementwise if l.op_type == "FusedElementwise" => "elementwise.fused",
        K::Elementwise => "binary",
        K::Pool => "pool.global",
        K::Movement => "transpose",
        K::Free => "alias",
    }
    .to_string()
}

fn dims(g: &Graph, v: Option<edgeopt_ir::ValueId>) -> Option<Vec<u64>> {
    let s = v.and_then(|v| g.value(v).ty.as_tensor().and_then(|t| t.concrete_shape()))?;
    Some(s.into_iter().map(|d| d as u64).collect())
}

fn round_up(x: u64, m: u64) -> u64 {
    x.div_ceil(m) * m
}

/// (cheap ops, transcendental ops) per output element of a node's activation or chain.
fn op_counts(n: &Node) -> (u64, u64) {
    let act = |a: &Activation| match a {
        Activation::Sigmoid | Activation::Tanh => (0, 1),
        _ => (1, 0),
    };
    if let Some(f) = n.op.downcast_ref::<FusedElementwise>() {
        let t = f
            .steps
            .iter()
            .filter(|s| TRANSCENDENTAL.contains(&s.op.op_type()))
            .count() as u64;
        return (f.steps.len() as u64 - t, t);
    }
    if let Some(c) = n.op.downcast_ref::<FusedConv>() {
        return act(&c.activation);
    }
    if let Some(c) = n.op.downcast_ref::<FusedGemm>() {
        return act(&c.activation);
    }
    if let Some(c) = n.op.downcast_ref::<FusedMatMul>() {
        return c.activation.as_ref().map_or((0, 0), act);
    }
    match n.op_type() {
        "Conv" | "Gemm" | "MatMul" => (0, 0),
        op if TRANSCENDENTAL.contains(&op) => (0, 1),
        _ => (1, 0),
    }
}

/// Features of one node run by `kernel`.
fn features(
    g: &Graph,
    n: &Node,
    l: &Layer,
    kernel: &str,
    c: &CacheSizes,
    run_bytes: u64,
    cold_in: f64,
) -> [f64; NF] {
    let x = dims(g, n.inputs.first().copied().flatten());
    let y = dims(g, n.outputs.first().copied().flatten());
    let w = dims(g, n.inputs.get(1).copied().flatten());
    let (tile_m, tile_n, vec) = tile();
    let (mut tiled, mut rows, mut im2col) = (l.macs, 0u64, 0u64);
    let conv4 = match (&x, &w, &y) {
        (Some(x), Some(w), Some(y)) if x.len() == 4 && w.len() == 4 && y.len() == 4 => {
            Some((x.clone(), w.clone(), y.clone()))
        }
        _ => None,
    };
    if kernel.starts_with("conv.winograd") || kernel == "conv.thin" {
        if let Some((x, w, y)) = &conv4 {
            (tiled, rows, im2col) = if kernel == "conv.thin" {
                thin_work(x, w, y, vec)
            } else {
                winograd_work(x, w, y, tile_m, tile_n)
            };
        }
    } else if kernel.starts_with("conv.depthwise") {
        if let Some((_, w, y)) = &conv4 {
            let (ch, oh, ow) = (y[0] * y[1], y[2], y[3]);
            tiled = ch * oh * round_up(ow, vec) * w[2] * w[3];
            rows = ch * oh * w[2];
        }
    } else if let (true, Some(d)) = (kernel.starts_with("conv."), l.gemm) {
        // Conv as GEMM: packed weights are the tile's row side, output pixels its column side.
        tiled = round_up(d.n, tile_m) * d.k * round_up(d.m, tile_n) * d.groups;
        rows = d.n.div_ceil(tile_m) * d.m.div_ceil(tile_n) * d.groups;
        if kernel == "conv.im2col" {
            im2col = d.k * d.m * d.groups * 4;
        }
    } else if let Some(d) = l.gemm {
        if d.m == 1 || kernel.contains("gemv") {
            tiled = d.k * round_up(d.n, vec) * d.groups * d.m;
            rows = d.k * d.m;
        } else {
            tiled = round_up(d.m, tile_m) * d.k * round_up(d.n, tile_n) * d.groups;
            rows = d.m.div_ceil(tile_m) * d.n.div_ceil(tile_n) * d.groups;
        }
    } else if kernel.starts_with("pool") || kernel.starts_with("reduce") {
        if let Some(y) = &y {
            rows = y.iter().rev().skip(1).product();
        }
        // Windowed pools: one compare or add per output element and window tap.
        let window: Option<u64> = n.op.attributes().into_iter().find_map(|(k, a)| match a {
            edgeopt_ir::Attribute::Ints(v) if k == "kernel_shape" => {
                Some(v.iter().map(|&d| d.max(1) as u64).product())
            }
            _ => None,
        });
        if let Some(w) = window {
            tiled = l.out_elems * w;
        }
    }
    let act = (l.act_in_bytes + l.act_out_bytes) as f64;
    let (w, im) = (l.weight_bytes as f64, im2col as f64);
    let l2 = c.l2_bytes as f64;
    let fits = |bytes: f64| if bytes > l2 { l2 / bytes } else { 1.0 };
    let node_fit = fits(act + im);
    // Inputs evicted since they were written are read from beyond the L2 whatever the node's
    // own working set; the rest splits by that working set.
    let cold = cold_in.min(act);
    let warm = act - cold;
    let [w_l2, w_llc, w_dram] = weight_split(w, run_bytes as f64, c);
    let (cheap, transc) = op_counts(n);
    let out = l.out_elems as f64;
    let tiled = tiled as f64;
    [
        1.0,
        tiled * node_fit,
        tiled * (1.0 - node_fit),
        warm * node_fit,
        cold + warm * (1.0 - node_fit),
        w_l2,
        w_llc,
        w_dram,
        out,
        out * cheap as f64,
        out * transc as f64,
        rows as f64,
        im * node_fit,
        im * (1.0 - node_fit),
    ]
}

/// Output tile side of the Winograd variant the kernels pick for an output plane (F(4x4,3x3)
/// from 16x16 on, F(2x2,3x3) below: `edgeopt_kernels::conv::winograd::pick_tile`).
fn winograd_tile(oh: u64, ow: u64) -> u64 {
    if oh >= 16 && ow >= 16 {
        4
    } else {
        2
    }
}

/// (tiled MACs, GEMM tiles, transform bytes) of a Winograd convolution: per input-tile
/// position, a `[tiles x cin] * [cin x cout]` GEMM over the `m x m` output tiles; the input
/// is copied to HWC and transformed, the products transformed back.
fn winograd_work(x: &[u64], w: &[u64], y: &[u64], tile_m: u64, tile_n: u64) -> (u64, u64, u64) {
    let (cin, cout) = (w[1], w[0]);
    let m = winograd_tile(y[2], y[3]);
    let a2 = (m + 2) * (m + 2);
    let tiles = y[0] * y[2].div_ceil(m) * y[3].div_ceil(m);
    let tiled = a2 * round_up(tiles, tile_m) * cin * round_up(cout, tile_n);
    let rows = a2 * tiles.div_ceil(tile_m) * cout.div_ceil(tile_n);
    let bytes = 4 * (a2 * tiles * (cin + cout) + x.iter().product::<u64>());
    (tiled, rows, bytes)
}

/// (tiled MACs, passes, padded-copy bytes) of the thin direct convolution: blocks of 8 or 12
/// output channels in registers, output rows padded to 32 pixels, over a zero-padded copy of
/// the input.
fn thin_work(x: &[u64], w: &[u64], y: &[u64], vec: u64) -> (u64, u64, u64) {
    let cout = w[0];
    let cb = if round_up(cout, 12) <= round_up(cout, 8) {
        12
    } else {
        8
    };
    let taps = w[1] * w[2] * w[3];
    let row = round_up(y[3], 2 * vec);
    let tiled = y[0] * round_up(cout, cb) * taps * y[2] * row;
    let rows = y[0] * cout.div_ceil(cb) * y[2];
    let stride = x[2].div_ceil(y[2].max(1)).max(1);
    let padded = x[0] * x[1] * (y[2].saturating_sub(1) * stride + w[2]) * (row * stride + w[3]);
    (tiled, rows, 4 * padded)
}

/// The key a node's model is stored under.
fn key(g: &Graph, n: &Node, kernel: &str) -> String {
    match kernel {
        "reference" => format!("reference.{}", n.op_type()),
        "conv.winograd" => match dims(g, n.outputs.first().copied().flatten()) {
            Some(y) if y.len() == 4 => format!("conv.winograd.f{}", winograd_tile(y[2], y[3])),
            _ => kernel.to_string(),
        },
        "conv.depthwise" => {
            let x = dims(g, n.inputs.first().copied().flatten());
            let w = dims(g, n.inputs.get(1).copied().flatten());
            let y = dims(g, n.outputs.first().copied().flatten());
            match (x, w, y) {
                (Some(x), Some(w), Some(y)) if x.len() == 4 && w.len() == 4 && y.len() == 4 => {
                    let s = x[2].div_ceil(y[2].max(1));
                    format!("conv.depthwise.k{}s{}", w[2], s)
                }
                _ => kernel.to_string(),
            }
        }
        _ => kernel.to_string(),
    }
}

/// The host nodes of `graph` (the runtime's prepared graph), in run order. `kernels`: per
/// scheduled step, the node's index in `graph` and the runtime's kernel name
/// (`Session::node_kernels`); `None`: every node runs, on the kernel [`guess_kernel`] names.
pub fn host_nodes(
    graph: &Graph,
    kernels: Option<&[(usize, String)]>,
    caches: &CacheSizes,
) -> Result<Vec<HostNode>> {
    let layers = extract(graph, Precision::Fp32, 1.0, false)?;
    let guessed: Vec<(usize, String)>;
    let steps = match kernels {
        Some(k) => k,
        None => {
            guessed = layers.iter().map(guess_kernel).enumerate().collect();
            &guessed
        }
    };
    let run_bytes: u64 = steps
        .iter()
        .filter(|(_, k)| k != "alias")
        .filter_map(|(i, _)| layers.get(*i))
        .map(|l| l.weight_bytes + l.act_out_bytes)
        .sum();
    let cold = crate::reuse::cold_input_bytes(graph, steps, caches.l2_bytes);
    let mut out = Vec::with_capacity(steps.len());
    for ((i, kernel), cold_in) in steps.iter().zip(cold) {
        let (Some(n), Some(l)) = (graph.nodes.get(*i), layers.get(*i)) else {
            continue;
        };
        out.push(HostNode {
            node: *i,
            name: n.name.clone(),
            op_type: n.op_type().to_string(),
            key: key(graph, n, kernel),
            features: features(graph, n, l, kernel, caches, run_bytes, cold_in),
            kernel: kernel.clone(),
            run_bytes,
        });
    }
    Ok(out)
}
