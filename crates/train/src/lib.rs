//! edgeopt-train: training and fine-tuning of IR models, no Python.
//!
//! - [`autodiff::build_training_graph`]: reverse-mode autodiff as a graph transform. The
//!   training graph is an ordinary IR graph (forward + fused loss + backward nodes) whose
//!   gradient ops live in the `com.edgeopt.train` domain ([`ops`]), one rule per op in `grad/`.
//! - [`optim`]: SGD (momentum, Nesterov, weight decay), Adam, AdamW; [`schedule`]: step,
//!   cosine, linear warm-up.
//! - [`trainer`]: epochs, seeded shuffling, validation, checkpoints with exact resume, export of
//!   the trained inference model; [`teacher_cache`]: the teacher's logits computed once per
//!   training sample for distillation without augmentation; [`hooks`]: pruning masks and fake quantization for QAT.

pub mod autodiff;
pub mod checkpoint;
pub mod grad;
pub mod hooks;
pub mod lower;
pub mod ops;
pub mod optim;
pub mod rng;
pub mod schedule;
pub mod teacher_cache;
#[doc(hidden)]
pub mod testing;
pub mod trainer;

pub use autodiff::{build_training_graph, Loss, TrainSpec, TrainingGraph};
pub use edgeopt_data::{Augment, Dataset, InMemoryDataset};
pub use teacher_cache::TeacherCache;
pub use trainer::{TrainConfig, Trainer};
