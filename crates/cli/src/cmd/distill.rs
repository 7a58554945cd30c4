//! `edgeopt distill --teacher T.onnx --student S.onnx --data DIR`: knowledge distillation,
//! `L = (1 - lambda) * CE(student, labels) + lambda * T^2 * KL(softmax(teacher/T) || softmax(student/T))`.
//! Same options as `edgeopt train`.

use super::train::{train_with, TrainOpts};
use anyhow::Result;
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
    train_with(&student, &spec, &a.opts, Some(teacher))
}
