//! `edgeopt distill --teacher T.onnx --student S.onnx --data DIR`: knowledge distillation,
//! `L = (1 - lambda) * CE(student, labels) + lambda * T^2 * KL(softmax(teacher/T) || softmax(student/T))`.
//! Same options as `edgeopt train`.
//!
//! Without augmentation the teacher's logits are computed once per training sample before the
//! first epoch and read from memory afterwards (`--no-teacher-cache`: run the teacher every
//! step); `--teacher-cache FILE` also keeps them in FILE for later runs on the same teacher and
//! training set (other seeds, resumed runs).

use super::train::{train_with, TeacherCaching, Teaching, TrainOpts};
use anyhow::{bail, Result};
use edgeopt_train::{Loss, TrainSpec};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The trained teacher (first output: logits).
    #[arg(long)]
    teacher: PathBuf,
    /// The student to train (same classes).
    #[arg(long)]
    student: PathBuf,
    /// Weight of the distillation term.
    #[arg(long, default_value_t = 0.5)]
    lambda: f32,
    /// Softmax temperature.
    #[arg(long, default_value_t = 4.0)]
    temperature: f32,
    /// Run the teacher on every batch instead of caching its logits.
    #[arg(long)]
    no_teacher_cache: bool,
    /// Keep the cached teacher logits in this file (reused when it matches the teacher and data).
    #[arg(long, conflicts_with = "no_teacher_cache")]
    teacher_cache: Option<PathBuf>,
    #[command(flatten)]
    opts: TrainOpts,
}

pub fn run(a: Args) -> Result<()> {
    let teacher = super::load(&a.teacher)?;
    let student = super::load(&a.student)?;
    let spec = TrainSpec {
        loss: Loss::Distillation {
            lambda: a.lambda,
            temperature: a.temperature,
        },
        ..TrainSpec::cross_entropy()
    };
    let augmented = a.opts.crop_padding > 0 || a.opts.flip;
    if augmented && a.teacher_cache.is_some() {
        bail!("--teacher-cache needs training without augmentation (--crop-padding 0, no --flip)");
    }
    let cache = match (augmented || a.no_teacher_cache, &a.teacher_cache) {
        (true, _) => TeacherCaching::Off,
        (false, None) => TeacherCaching::Memory,
        (false, Some(p)) => TeacherCaching::File(p.clone()),
    };
    train_with(&student, &spec, &a.opts, Some(Teaching { teacher, cache }))
}
