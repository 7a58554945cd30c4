//! fp32 2-D convolution on NCHW tensors, with weights packed once per layer.
//!
//! [`PackedConv::new`] checks the shape, picks an algorithm ([`ConvAlgo::Auto`]) and packs
//! the weights for it; [`PackedConv::run`] then never allocates: its workspace is the
//! caller's `scratch` slice of [`PackedConv::scratch_len`] floats. Bias and activation are
//! fused into the store of every algorithm.

mod depthwise;
mod im2col;
mod pointwise;
mod shape;
mod thin;
mod transposed;
mod winograd;

pub(crate) use im2col::Im2colSource;
pub(crate) use pointwise::{
    pixels as pointwise_pixels, pointwise_generic, Job as PointwiseJob, Out as PointwiseOut,
    PointwiseKernel,
};
pub(crate) use shape::valid_range as valid_range_pub;
pub use shape::Conv2dShape;
#[cfg(target_arch = "x86_64")]
pub(crate) use winograd::x86 as winograd_x86;
pub(crate) use winograd::{Transforms as WinogradTransforms, GENERIC as WINOGRAD_GENERIC};

// `PortableBlock` is used by the NEON table only.
#[allow(unused_imports)]
pub(crate) use depthwise::{
    blocked_generic as depthwise_blocked_generic, blocked_planes as depthwise_blocked,
    plane as depthwise_plane, plane_generic as depthwise_generic, Block as DepthwiseBlock,
    DepthwiseBlockKernel, DepthwiseChannels, DepthwiseKernel, DepthwiseLanes,
    Plane as DepthwisePlane, Portable as PortableBlock, PortableLanes,
};

use crate::{kernels, Activation, KernelError, Kernels, MatRef, PackedA, PackedB, Result};

/// How a convolution is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvAlgo {
    /// Pick the fastest algorithm measured for this shape.
    #[default]
    Auto,
    /// Unfold the input into a column matrix and run the packed GEMM.
    Im2colGemm,
    /// Unfold the input, then the transposed product `col^T * W^T` (pixels x output
    /// channels) with the weights packed as the right-hand side: for single-group layers with
    /// few output pixels and many channels.
    Im2colTransposed,
    /// 1x1, stride 1, unpadded: the input already is the GEMM's right-hand side.
    Pointwise,
    /// One input and one output channel per group: a dedicated direct kernel.
    Depthwise,
    /// Winograd minimal filtering for 3x3 stride-1 convolutions.
    Winograd,
    /// A direct loop nest with no unfolding or packing (1x1 stride-1 unpadded, one group).
    Direct,
    /// Direct convolution over a zero-padded copy of the input, a few output channels per
    /// register block: for thin layers (one group, no dilation, stride 1 or 2 along the width).
    Thin,
}

/// A convolution layer ready to run: shape, packed weights, bias and activation.
#[derive(Debug)]
pub struct PackedConv {
    pub(crate) shape: Conv2dShape,
    pub(crate) algo: ConvAlgo,
    /// OIHW weights, kept only by the direct algorithms (depthwise, direct); the others hold
    /// them packed in `packed_w` or `winograd`.
    pub(crate) weights: Vec<f32>,
    pub(crate) bias: Option<Vec<f32>>,
    pub(crate) activation: Activation,
    pub(crate) table: &'static Kernels,
    /// Output-row geometry of the depthwise kernel.
    pub(crate) row_plan: Option<depthwise::RowPlan>,
    /// The transformed weight matrices of the Winograd algorithm (16 or 36).
    pub(crate) winograd: Vec<PackedB>,
    /// Tile size and blocking of the Winograd algorithm.
    pub(crate) wino: Option<winograd::Geometry>,
    /// Per group, the `cout_g x K` weight matrix packed as the GEMM's A (im2col, pointwise).
    pub(crate) packed_w: Vec<PackedA>,
    /// Register blocking and padded-input layout of the thin algorithm.
    pub(crate) thin: Option<thin::Geometry>,
    /// `W^T` packed as the right-hand side of the transposed product.
    pub(crate) transposed: Option<transposed::Packed>,
}

impl PackedConv {
    /// Checks the shape and the weight and bias lengths, picks the algorithm (`algo`, or the
    /// measured best for [`ConvAlgo::Auto`]) and packs the weights for the process's table.
    /// An explicit algorithm that cannot compute this shape is an error.
    pub fn new(
        shape: &Conv2dShape,
        weight_oihw: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
        algo: ConvAlgo,
    ) -> Result<PackedConv> {
        PackedConv::with_kernels(kernels(), shape, weight_oihw, bias, activation, algo)
    }

    /// [`ConvAlgo::Winograd`] with a given output tile: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3)
    /// (`Auto` and `Winograd` pick one by the image size); for tests and measurements.
    pub fn winograd_with_tile(
        table: &'static Kernels,
        shape: &Conv2dShape,
        weight_oihw: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
        tile: usize,
    ) -> Result<PackedConv> {
        if tile != 2 && tile != 4 {
            return Err(KernelError::BadConv {
                shape: shape.to_string(),
                reason: format!("Winograd output tile {tile} (2 or 4 are implemented)"),
            });
        }
        let algo = ConvAlgo::Winograd;
        PackedConv::build(
            table,
            shape,
            weight_oihw,
            bias,
            activation,
            algo,
            Some(tile),
        )
    }

    /// The Winograd output tile in use (2 or 4), `None` for the other algorithms.
    pub fn winograd_tile(&self) -> Option<usize> {
        self.wino.map(|g| g.m)
    }

    /// [`PackedConv::new`] for a given kernel table (tests compare tables).
    pub fn with_kernels(
        table: &'static Kernels,
        shape: &Conv2dShape,
        weight_oihw: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
        algo: ConvAlgo,
    ) -> Result<PackedConv> {
        PackedConv::build(table, shape, weight_oihw, bias, activation, algo, None)
    }

    fn build(
        table: &'static Kernels,
        shape: &Conv2dShape,
        weight_oihw: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
        algo: ConvAlgo,
        wino_tile: Option<usize>,
    ) -> Result<PackedConv> {
        shape.validate()?;
        activation.validate()?;
        let bad = |reason: String| KernelError::BadConv {
            shape: shape.to_string(),
            reason,
        };
        if weight_oihw.len() != shape.weight_len() {
            return Err(bad(format!(
                "weights have {} values, expected {} ([{}, {}, {}, {}])",
                weight_oihw.len(),
                shape.weight_len(),
                shape.out_channels,
                shape.cin_g(),
                shape.kernel_h,
                shape.kernel_w
            )));
        }
        if let Some(b) = bias {
            if b.len() != shape.out_channels {
                return Err(bad(format!(
                    "bias has {} values, expected {}",
                    b.len(),
                    shape.out_channels
                )));
            }
        }
        let algo_asked = algo;
        let algo = match algo {
            ConvAlgo::Auto => pick(shape),
            ConvAlgo::Im2colGemm => ConvAlgo::Im2colGemm,
            ConvAlgo::Im2colTransposed if transposed::applies(shape) => ConvAlgo::Im2colTransposed,
            ConvAlgo::Pointwise if im2col::input_is_col(shape) => ConvAlgo::Pointwise,
            ConvAlgo::Depthwise if shape.is_depthwise() => ConvAlgo::Depthwise,
            ConvAlgo::Winograd if winograd::applies(shape) => ConvAlgo::Winograd,
            ConvAlgo::Direct if im2col::input_is_col(shape) && shape.groups == 1 => {
                ConvAlgo::Direct
            }
            ConvAlgo::Thin if thin::applies(shape) => ConvAlgo::Thin,
            other => {
                return Err(bad(format!(
                    "algorithm {other:?} cannot compute this shape"
                )));
            }
        };
        let table = if explicit_algo(algo_asked) {
            table
        } else {
            pick_table(table, shape, algo)
        };
        let wino = (algo == ConvAlgo::Winograd).then(|| {
            let tile = wino_tile.unwrap_or_else(|| winograd::pick_tile(shape));
            winograd::Geometry::new(table, shape, tile)
        });
        let thin = (algo == ConvAlgo::Thin).then(|| thin::Geometry::new(shape));
        Ok(PackedConv {
            shape: *shape,
            algo,
            weights: match &thin {
                Some(g) => thin::pack(shape, g, weight_oihw),
                None if matches!(algo, ConvAlgo::Depthwise | ConvAlgo::Direct) => {
                    weight_oihw.to_vec()
                }
                None => Vec::new(),
            },
            bias: bias.map(<[f32]>::to_vec),
            activation,
            table,
            row_plan: (algo == ConvAlgo::Depthwise).then(|| depthwise::RowPlan::new(shape)),
            winograd: match &wino {
                Some(g) => winograd::pack(table, shape, weight_oihw, g.m)?,
                None => Vec::new(),
            },
            wino,
            packed_w: if matches!(algo, ConvAlgo::Im2colGemm | ConvAlgo::Pointwise) {
                pack_groups(table, shape, weight_oihw)?
            } else {
                Vec::new()
            },
            thin,
            transposed: (algo == ConvAlgo::Im2colTransposed)
                .then(|| transposed::pack(table, shape, weight_oihw, bias)),
        })
    }

    /// The algorithm in use (what [`ConvAlgo::Auto`] picked).
    pub fn algo(&self) -> ConvAlgo {
        self.algo
    }

    /// The kernel table the layer runs on (for [`ConvAlgo::Auto`], possibly the wide-tile twin
    /// of the one it was given).
    pub fn kernels(&self) -> &'static Kernels {
        self.table
    }

    /// The shape this layer was packed for.
    pub fn shape(&self) -> &Conv2dShape {
        &self.shape
    }

    /// Floats of workspace [`PackedConv::run`] needs, whatever the thread count.
    pub fn scratch_len(&self) -> usize {
        match self.algo {
            ConvAlgo::Pointwise | ConvAlgo::Depthwise | ConvAlgo::Direct => 0,
            ConvAlgo::Winograd => self.wino.as_ref().map_or(0, winograd::scratch_len),
            ConvAlgo::Thin => self.thin.map_or(0, |g| g.scratch_len(&self.shape)),
            ConvAlgo::Im2colTransposed => self
                .transposed
                .as_ref()
                .map_or(0, |p| transposed::scratch_len(self.table, &self.shape, p)),
            _ => im2col::scratch_len(&self.shape, im2col::input_is_col(&self.shape)),
        }
    }

    /// Computes `output = act(conv(input, W) + bias)` on NCHW tensors with up to `threads`
    /// threads (0 counts as 1). Results are bit-identical for any thread count.
    pub fn run(
        &self,
        input_nchw: &[f32],
        output_nchw: &mut [f32],
        scratch: &mut [f32],
        threads: usize,
    ) -> Result<()> {
        let s = &self.shape;
        let lens = [
            ("input", input_nchw.len(), s.input_len()),
            ("output", output_nchw.len(), s.output_len()),
        ];
        for (what, len, want) in lens {
            if len != want {
                return Err(KernelError::BadConv {
                    shape: s.to_string(),
                    reason: format!("{what} has {len} values, expected {want}"),
                });
            }
        }
        if scratch.len() < self.scratch_len() {
            return Err(KernelError::BadConv {
                shape: s.to_string(),
                reason: format!(
                    "scratch has {} values, expected at least {}",
                    scratch.len(),
                    self.scratch_len()
                ),
            });
        }
        match self.algo {
            ConvAlgo::Depthwise => depthwise::run(self, input_nchw, output_nchw, threads),
            ConvAlgo::Direct => {
                pointwise::run(self, input_nchw, output_nchw, threads);
                Ok(())
            }
            ConvAlgo::Thin => match &self.thin {
                Some(g) => thin::run(self, g, input_nchw, output_nchw, scratch, threads),
                None => Ok(()),
            },
            ConvAlgo::Im2colTransposed => {
                if let Some(p) = &self.transposed {
                    transposed::run(self, p, input_nchw, output_nchw, scratch, threads);
                }
                Ok(())
            }
            ConvAlgo::Winograd => match &self.wino {
                Some(g) => winograd::run(self, g, input_nchw, output_nchw, scratch, threads),
                None => Ok(()),
            },
            _ => im2col::run(self, input_nchw, output_nchw, scratch, threads),
        }
    }
}

/// Each group's `cout_g x K` weight matrix packed for `table`'s GEMM.
fn pack_groups(table: &Kernels, s: &Conv2dShape, w: &[f32]) -> Result<Vec<PackedA>> {
    let (m, k) = (s.cout_g(), s.cin_g() * s.kernel_h * s.kernel_w);
    (0..s.groups)
        .map(|g| PackedA::with_kernels(table, MatRef::row_major(&w[g * m * k..][..m * k], m, k)?))
        .collect()
}

/// Whether the caller named the algorithm: then the layer runs on the table it was given
/// (tests and benchmarks compare tables); [`ConvAlgo::Auto`] also picks the register tile.
fn explicit_algo(asked: ConvAlgo) -> bool {
    asked != ConvAlgo::Auto
}

/// The table whose GEMM tile suits the im2col / pointwise product `cout_g x pixels` (or the
/// transposed one, `pixels x cout_g`) best:
/// the wide twin (8x48 on AVX-512) unless its padding of the rows to 8 and the columns to 48
/// wastes more than the tile's measured speed-up over the narrow one (`WIDE_SPEEDUP`) buys.
/// On ResNet-18 that is every such layer but those with 7x7 outputs (49 columns: one full
/// and one 1-column panel of 48, against 32 + 17 of the 12x32 tile).
fn pick_table(table: &'static Kernels, s: &Conv2dShape, algo: ConvAlgo) -> &'static Kernels {
    /// Useful share of a dimension of `n` padded to multiples of `t`.
    fn fill(n: usize, t: usize) -> f64 {
        n as f64 / (n.div_ceil(t) * t) as f64
    }
    const WIDE_SPEEDUP: f64 = 1.15;
    let (pixels, channels) = (s.out_h() * s.out_w(), s.cout_g());
    let (m, n) = match algo {
        ConvAlgo::Im2colGemm | ConvAlgo::Pointwise => (channels, pixels),
        ConvAlgo::Im2colTransposed => (pixels, channels),
        _ => return table,
    };
    let Some(wide) = table.wide_tile() else {
        return table;
    };
    let score = |t: &Kernels| fill(m, t.mr) * fill(n, t.nr);
    if WIDE_SPEEDUP * score(wide) >= score(table) {
        wide
    } else {
        table
    }
}

/// The algorithm [`ConvAlgo::Auto`] picks for a shape, from `benches/conv.rs` (1 thread):
/// - depthwise layers: the direct depthwise kernel (1.1-4x im2col's GEMVs on MobileNetV2);
/// - 3x3 stride-1 layers with at least 64 input and output channels and an output of at
///   least 10x10: Winograd (F(4x4) from 16x16, F(2x2) below; AVX-512: 1.3-2.6x im2col on
///   ResNet-18 at 56, 28 and 14; at 7x7 the 16 tiles are too few rows for the GEMM and the
///   transformed weights too big to stream, and im2col is 1.4x faster); from 32 input and 64
///   output channels (the MNIST CNN's 32->64 at 14x14: F(2x2) 73-76 GFLOP/s vs im2col's
///   62-69, session 5; with fewer channels the transforms cost as much as the multiplies
///   saved); and, from 28x28 on, with at least 32 input and 24 output channels (channel-pruned ResNet-18's 32->32 at
///   56: F(4x4) 1.7x im2col; PP-OCR det's 96->24 at 160 and 80: 1.25-1.45x);
/// - 1x1 stride-1 unpadded: the input itself as the GEMM operand (the unpacked direct
///   kernel, [`ConvAlgo::Direct`], measured 2-5x slower than the packed GEMM on every
///   MobileNetV2 pointwise layer, so it is only used when asked for);
/// - other single-group layers with at most 16 output channels or at most 4 input channels
///   (pruned heads, stems): the thin direct kernel, whose cost follows the multiplies where
///   im2col's unfolding is amortized over too few output channels (AVX-512: det's 48->12 at
///   160 and 80 2-2.4x im2col; the 3-channel stems of ResNet-18, MobileNetV2 and PP-OCR det
///   1.2-2.1x; the MNIST CNN's 1->32 1.3x);
/// - other single-group layers with fewer than 64 output pixels and a depth `K` of at least
///   1024: the transposed product ([`ConvAlgo::Im2colTransposed`]; AVX-512, 1 thread, load
///   ~12-18: ResNet-18's 256->512 3x3/2 @14 78.5 vs 69.1 GFLOP/s, 512->512 @7 69-73 vs
///   64-66);
/// - everything else: im2col + GEMM.
fn pick(s: &Conv2dShape) -> ConvAlgo {
    /// Below this many output pixels (two 32-wide panels) the plain product's columns pad
    /// its tile badly and the transposed one is used, given a deep enough K ...
    const TRANSPOSED_MAX_PIXELS: usize = 64;
    /// ... for its packing and transpose to amortize: ResNet-18's 1x1/2 into 7x7 (K = 256)
    /// tied with im2col, its 3x3 layers there (K = 2304, 4608) gained 8-14%.
    const TRANSPOSED_MIN_DEPTH: usize = 1024;
    let big_image = s.out_h() >= 10 && s.out_w() >= 10;
    let wide_image = s.out_h() >= 28 && s.out_w() >= 28;
    let (cin, cout) = (s.in_channels, s.out_channels);
    if s.is_depthwise() {
        ConvAlgo::Depthwise
    } else if winograd::applies(s)
        && ((cin >= 32 && cout >= 64 && big_image) || (cin >= 32 && cout >= 24 && wide_image))
    {
        ConvAlgo::Winograd
    } else if im2col::input_is_col(s) {
        ConvAlgo::Pointwise
    } else if thin::applies(s) && (cout <= 16 || cin <= 4) {
        ConvAlgo::Thin
    } else if transposed::applies(s)
        && s.out_h() * s.out_w() < TRANSPOSED_MAX_PIXELS
        && s.cin_g() * s.kernel_h * s.kernel_w >= TRANSPOSED_MIN_DEPTH
    {
        ConvAlgo::Im2colTransposed
    } else {
        ConvAlgo::Im2colGemm
    }
}
