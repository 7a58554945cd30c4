//! edgeopt-zoo: standard networks built in code as [`edgeopt_ir::Model`]s.
//!
//! Every model takes one f32 NCHW input `input` (batch dim symbolic `N` by default, so the same
//! file trains at batch 64 and serves at batch 1) and returns `logits` `[N, classes]`. Weights
//! are seeded He-normal initializers named like PyTorch parameters (`layer1.0.conv1.weight`,
//! `bn1.running_var`, ...); BatchNormalization layers start as identity (scale 1, bias 0,
//! mean 0, var 1). Opset 13.
//!
//! ```no_run
//! let cfg = edgeopt_zoo::ZooConfig::default();
//! let model = edgeopt_zoo::build("cnn", &cfg).unwrap();
//! edgeopt_onnx::save_model(&model, "cnn.onnx".as_ref(), &Default::default()).unwrap();
//! ```

mod builder;
mod cnn;
mod mlp;
mod mobilenetv2;
mod resnet;

pub use builder::{NetBuilder, OPSET};
pub use mobilenetv2::make_divisible;

use edgeopt_ir::Model;

/// Errors from building a zoo model.
#[derive(Debug, thiserror::Error)]
pub enum ZooError {
    #[error("unknown zoo model '{0}' (try: mlp, lenet, cnn, resnet, mobilenetv2)")]
    UnknownModel(String),
    /// A configuration that does not make a valid network (names the parameter).
    #[error("{0}")]
    Invalid(String),
    /// The IR rejected the graph (a bug in the zoo, reported rather than panicking).
    #[error("building the graph: {0}")]
    Ir(String),
    #[error(transparent)]
    Tensor(#[from] edgeopt_tensor::TensorError),
}

pub type Result<T, E = ZooError> = std::result::Result<T, E>;

/// The batch dimension of the model's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchDim {
    Fixed(usize),
    /// A named symbolic dim (`N`): any batch size at run time.
    Symbolic(String),
}

/// Knobs shared by the zoo models; `None` picks the model's default.
#[derive(Clone, Debug, PartialEq)]
pub struct ZooConfig {
    /// Output classes (default 10; 1000 for `mobilenetv2`).
    pub classes: Option<usize>,
    /// Input `[C, H, W]` (default `1x28x28` for mlp/lenet/cnn, `3x32x32` for resnet,
    /// `3x224x224` for mobilenetv2).
    pub input: Option<Vec<usize>>,
    /// Sets H = W of the default input (or of `input`).
    pub resolution: Option<usize>,
    /// Channel / hidden-size multiplier (MobileNetV2's alpha; channels rounded to 8 there).
    pub width: f32,
    /// Multiplier of the number of blocks per stage (resnet, mobilenetv2).
    pub depth: f32,
    /// Hidden layer sizes of `mlp` (default 256, 128), scaled by `width`.
    pub hidden: Option<Vec<usize>>,
    pub seed: u64,
    pub batch: BatchDim,
}

impl Default for ZooConfig {
    fn default() -> Self {
        ZooConfig {
            classes: None,
            input: None,
            resolution: None,
            width: 1.0,
            depth: 1.0,
            hidden: None,
            seed: 0,
            batch: BatchDim::Symbolic("N".into()),
        }
    }
}

/// One zoo entry, for `edgeopt zoo --list`.
pub struct ZooEntry {
    pub name: &'static str,
    pub summary: &'static str,
    /// Default `[C, H, W]`.
    pub default_input: [usize; 3],
    pub default_classes: usize,
}

/// Every model [`build`] knows.
pub const MODELS: &[ZooEntry] = &[
    ZooEntry {
        name: "mlp",
        summary: "Flatten, fully connected layers with ReLU (hidden sizes: --hidden)",
        default_input: [1, 28, 28],
        default_classes: 10,
    },
    ZooEntry {
        name: "lenet",
        summary: "LeNet-5 style: conv5x5(6)-relu-pool-conv5x5(16)-relu-pool-fc120-fc84-fc",
        default_input: [1, 28, 28],
        default_classes: 10,
    },
    ZooEntry {
        name: "cnn",
        summary: "conv3x3(32)-relu-maxpool-conv3x3(64)-relu-maxpool-fc (training benchmark)",
        default_input: [1, 28, 28],
        default_classes: 10,
    },
    ZooEntry {
        name: "resnet",
        summary:
            "CIFAR ResNet-20: 3 stages of basic blocks (16/32/64 ch x width, 3 x depth blocks)",
        default_input: [3, 32, 32],
        default_classes: 10,
    },
    ZooEntry {
        name: "mobilenetv2",
        summary: "MobileNetV2: inverted residuals, depthwise convs, ReLU6; width alpha, depth",
        default_input: [3, 224, 224],
        default_classes: 1000,
    },
];

/// Resolved configuration: what a model builder receives.
pub(crate) struct Spec {
    pub chw: [usize; 3],
    pub classes: usize,
    pub width: f32,
    pub depth: f32,
    pub cfg: ZooConfig,
}

impl Spec {
    /// `base` channels scaled by the width multiplier, at least 1.
    pub fn channels(&self, base: usize) -> usize {
        ((base as f32 * self.width).round() as usize).max(1)
    }

    /// `base` repeats scaled by the depth multiplier, at least 1.
    pub fn repeats(&self, base: usize) -> usize {
        ((base as f32 * self.depth).ceil() as usize).max(1)
    }
}

fn resolve(entry: &ZooEntry, cfg: &ZooConfig) -> Result<Spec> {
    let mut chw = match &cfg.input {
        None => entry.default_input,
        Some(v) if v.len() == 3 && v.iter().all(|&d| d > 0) => [v[0], v[1], v[2]],
        Some(v) => {
            return Err(ZooError::Invalid(format!(
                "--input must be CxHxW with positive dims, got {v:?}"
            )));
        }
    };
    if let Some(r) = cfg.resolution {
        if r == 0 {
            return Err(ZooError::Invalid("--resolution must be positive".into()));
        }
        chw[1] = r;
        chw[2] = r;
    }
    if chw.iter().any(|&d| d > 1 << 16) {
        return Err(ZooError::Invalid(format!("input {chw:?} is too large")));
    }
    let classes = cfg.classes.unwrap_or(entry.default_classes);
    if classes == 0 || classes > 1 << 20 {
        return Err(ZooError::Invalid(format!(
            "--classes {classes} is not in 1..=1048576"
        )));
    }
    for (what, v) in [("width", cfg.width), ("depth", cfg.depth)] {
        if !(v.is_finite() && (0.05..=8.0).contains(&v)) {
            return Err(ZooError::Invalid(format!(
                "--{what} {v} is not in [0.05, 8]"
            )));
        }
    }
    if cfg.batch == BatchDim::Fixed(0) {
        return Err(ZooError::Invalid("--batch must be positive".into()));
    }
    Ok(Spec {
        chw,
        classes,
        width: cfg.width,
        depth: cfg.depth,
        cfg: cfg.clone(),
    })
}

/// Builds the zoo model `name` (see [`MODELS`]) as a type-inferred IR model.
pub fn build(name: &str, cfg: &ZooConfig) -> Result<Model> {
    let entry = MODELS
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| ZooError::UnknownModel(name.to_string()))?;
    let spec = resolve(entry, cfg)?;
    let model = match name {
        "mlp" => mlp::build(&spec),
        "lenet" => cnn::lenet(&spec),
        "cnn" => cnn::cnn(&spec),
        "resnet" => resnet::build(&spec),
        _ => mobilenetv2::build(&spec),
    }?;
    Ok(model)
}

/// Metadata recorded in every zoo model (`edgeopt.zoo.*` keys), so a file says how it was made.
pub(crate) fn metadata(name: &str, spec: &Spec) -> Vec<(String, String)> {
    vec![
        ("edgeopt.zoo.model".into(), name.into()),
        (
            "edgeopt.zoo.input".into(),
            format!("{}x{}x{}", spec.chw[0], spec.chw[1], spec.chw[2]),
        ),
        ("edgeopt.zoo.classes".into(), spec.classes.to_string()),
        ("edgeopt.zoo.width".into(), spec.width.to_string()),
        ("edgeopt.zoo.depth".into(), spec.depth.to_string()),
        ("edgeopt.zoo.seed".into(), spec.cfg.seed.to_string()),
    ]
}

/// Output size of a convolution or pooling window along one axis, or an error naming `what`.
pub(crate) fn window_out(
    what: &str,
    size: usize,
    k: usize,
    stride: usize,
    pad: usize,
) -> Result<usize> {
    (size + 2 * pad)
        .checked_sub(k)
        .map(|v| v / stride + 1)
        .ok_or_else(|| {
            ZooError::Invalid(format!(
                "{what}: input size {size} is smaller than its {k}x{k} window"
            ))
        })
}
