//! Where a producer's output channels are in its constant weight, shared by the passes that
//! fold per-channel scales into weights (fold_batch_norm, fuse_bias).

use crate::ops::fused_matmul::FusedMatMul;
use crate::rewrite::Editor;
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_ir::ops::nn::conv_transpose::ConvTranspose;
use edgeopt_ir::NodeId;
use edgeopt_tensor::{DType, Tensor};

/// A producer's constant weight (input 1) and, for each of its elements, the output channel
/// it contributes to.
pub struct Layout {
    pub weight: Tensor,
    pub channels: usize,
    channel: Channel,
}

/// Which output channel element `i` of the weight belongs to.
enum Channel {
    /// Runs of `per` elements per channel (`i / per`): Conv, Gemm with transB.
    Rows(usize),
    /// Channels cycle every element (`i % n`): Gemm, MatMul.
    Cols(usize),
    Other(Box<dyn Fn(usize) -> usize>),
}

impl Channel {
    fn of(&self, i: usize) -> usize {
        match self {
            Channel::Rows(per) => i / per,
            Channel::Cols(n) => i % n,
            Channel::Other(f) => f(i),
        }
    }
}

impl Layout {
    /// The weight with every element multiplied by its channel's factor (`None` when a
    /// channel has no factor). f32 weights are scaled in f32: no f64 copy of a large tensor.
    pub fn scaled(&self, s: &[f64]) -> Option<Tensor> {
        let shape = self.weight.shape().to_vec();
        if self.weight.dtype() == DType::F32 {
            let s: Vec<f32> = s.iter().map(|&x| x as f32).collect();
            let w = self.weight.as_slice::<f32>().ok()?;
            // Whole runs per channel or per row of channels: no per-element index math
            // (MobileNetV2's 3.5 M weights took ~100 ms through the general closure).
            let out: Vec<f32> = match self.channel {
                Channel::Rows(per) if w.len() <= s.len() * per => w
                    .chunks(per)
                    .zip(&s)
                    .flat_map(|(run, &f)| run.iter().map(move |v| v * f))
                    .collect(),
                Channel::Cols(n) if n <= s.len() => w
                    .chunks(n)
                    .flat_map(|row| row.iter().zip(&s).map(|(v, f)| v * f))
                    .collect(),
                _ => w
                    .iter()
                    .enumerate()
                    .map(|(i, v)| s.get(self.channel.of(i)).map(|s| v * s))
                    .collect::<Option<Vec<f32>>>()?,
            };
            return Tensor::from_vec(shape, out).ok();
        }
        let w = self.weight.to_f64_vec().ok()?;
        let out: Option<Vec<f64>> = w
            .iter()
            .enumerate()
            .map(|(i, v)| s.get(self.channel.of(i)).map(|s| v * s))
            .collect();
        Tensor::from_f64s(self.weight.dtype(), shape, &out?).ok()
    }
}

/// The layout for Conv `[M, C/g, k...]`, ConvTranspose `[C, M/g, k...]`, Gemm `[K, N]` (or
/// `[N, K]` with transB), and MatMul / FusedMatMul without activation `[K, N]`.
pub fn layout(ed: &Editor, p: NodeId) -> Option<Layout> {
    let node = ed.node(p);
    let weight = ed.constant(node.inputs.get(1).copied()??)?.clone();
    let s = weight.shape().to_vec();
    let numel = weight.len();
    if !node.op.domain().is_empty() && node.op_type() != "FusedMatMul" {
        return None;
    }
    let (channels, channel) = match node.op_type() {
        "Conv" if s.len() >= 3 && s[0] > 0 => {
            let per = numel / s[0];
            (s[0], Channel::Rows(per.max(1)))
        }
        "ConvTranspose" if s.len() >= 3 => {
            let g = node
                .op
                .downcast_ref::<ConvTranspose>()?
                .group
                .unwrap_or(1)
                .max(1) as usize;
            let (mg, k) = (s[1], s[2..].iter().product::<usize>());
            if s[0] % g != 0 || mg == 0 || k == 0 {
                return None;
            }
            let cin_g = s[0] / g;
            let f = move |i: usize| (i / (mg * k) / cin_g.max(1)) * mg + (i / k) % mg;
            (mg * g, Channel::Other(Box::new(f)))
        }
        "Gemm" if s.len() == 2 => {
            let g = node.op.downcast_ref::<Gemm>()?;
            if g.trans_b {
                (s[0], Channel::Rows(s[1].max(1)))
            } else {
                (s[1], Channel::Cols(s[1].max(1)))
            }
        }
        "MatMul" | "FusedMatMul" if s.len() == 2 => {
            let plain = node
                .op
                .downcast_ref::<FusedMatMul>()
                .is_none_or(|f| f.activation.is_none());
            plain.then_some(())?;
            (s[1], Channel::Cols(s[1].max(1)))
        }
        _ => return None,
    };
    Some(Layout {
        weight,
        channels,
        channel,
    })
}
