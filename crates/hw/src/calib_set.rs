//! The calibration set of the host model: zoo models at widths, depths, resolutions and a
//! weight seed that the validation set ([`crate::validate::zoo_cases`]) does not use, ONNX
//! files whose inputs have dynamic spatial dims at sizes other than the validation's, and the
//! single-layer models of [`crate::suite`]. Node times are measured inside these whole models.

use crate::suite::cases;
use crate::validate::{file_shapes_at, validation_size, zoo_case, ValidationCase};
use crate::Result;
use std::path::Path;

/// Weight seed of the calibration zoo models (the validation set uses 0).
pub const SEED: u64 = 1;

/// A calibration model.
pub struct CalibCase {
    pub case: ValidationCase,
    /// A single-layer model (its samples weigh less in the fit).
    pub single_layer: bool,
}

fn whole(case: ValidationCase) -> CalibCase {
    CalibCase {
        case,
        single_layer: false,
    }
}

/// Zoo models for calibration; `quick` keeps a third of them.
pub fn zoo_calibration(quick: bool) -> Result<Vec<CalibCase>> {
    let mut v = Vec::new();
    for w in [0.35, 0.75, 1.5, 3.0] {
        v.push(whole(zoo_case("mlp", w, 1.0, None, SEED)?));
    }
    for w in [0.35, 0.75, 1.5, 3.0] {
        v.push(whole(zoo_case("lenet", w, 1.0, None, SEED)?));
    }
    for (w, r) in [(0.75, 28), (1.5, 28), (0.75, 40), (1.0, 72), (0.5, 64)] {
        v.push(whole(zoo_case("cnn", w, 1.0, Some(r), SEED)?));
    }
    for (w, d, r) in [
        (0.75, 1.0, 32),
        (1.5, 1.0, 32),
        (0.5, 1.0, 48),
        (1.0, 1.0, 40),
        (0.35, 1.0, 80),
        (0.75, 0.5, 64),
        (1.5, 0.5, 24),
        (4.0, 0.5, 56),
        (2.0, 0.5, 96),
        // 128-512 channels, ~44 MB of weights: the size of ResNet-18's last stage, so weights
        // far beyond the last-level cache are calibrated, not extrapolated.
        (8.0, 0.5, 32),
    ] {
        v.push(whole(zoo_case("resnet", w, d, Some(r), SEED)?));
    }
    for (w, d, r) in [
        (0.35, 1.0, 128),
        (0.75, 1.0, 96),
        (0.5, 0.5, 192),
        (0.75, 1.0, 160),
        (1.0, 0.5, 112),
        (0.5, 1.0, 224),
        (1.4, 1.0, 96),
        (0.35, 1.0, 192),
    ] {
        v.push(whole(zoo_case("mobilenetv2", w, d, Some(r), SEED)?));
    }
    if quick {
        v = v.into_iter().step_by(3).collect();
    }
    Ok(v)
}

/// Input sizes (H, W) to calibrate a file at: for PP-OCR-like files (dynamic spatial dims),
/// two sizes around the validation size, never equal to it; none for other files.
pub fn calibration_sizes(name: &str) -> Vec<(usize, usize)> {
    match validation_size(name) {
        Some((h, w)) if h == w => vec![(h * 4 / 5, w * 4 / 5), (h * 6 / 5, w * 6 / 5)],
        Some((h, w)) => vec![(h, w * 3 / 4), (h, w * 5 / 4)],
        None => Vec::new(),
    }
}

/// An ONNX file at its calibration sizes (empty when it has none).
pub fn file_calibration(path: &Path) -> Result<Vec<CalibCase>> {
    let model = edgeopt_onnx::load_model(path, &edgeopt_onnx::LoadOptions::default())
        .map_err(|e| crate::HwError::Invalid(format!("{}: {e}", path.display())))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    calibration_sizes(&name)
        .into_iter()
        .map(|(h, w)| {
            Ok(whole(ValidationCase {
                name: format!("{name} {h}x{w}"),
                shapes: file_shapes_at(&model, Some((h, w)))?,
                model: model.clone(),
            }))
        })
        .collect()
}

/// The single-layer models.
pub fn single_layers(quick: bool) -> Vec<CalibCase> {
    cases(quick)
        .into_iter()
        .map(|c| CalibCase {
            case: ValidationCase {
                name: c.name,
                model: c.model,
                shapes: Vec::new(),
            },
            single_layer: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_and_validation_sets_are_disjoint() {
        let val: Vec<String> = crate::validate::zoo_cases()
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        for c in zoo_calibration(false).unwrap() {
            assert!(!val.contains(&c.case.name), "{}", c.case.name);
            // Not even the same architecture at another seed.
            let arch = c.case.name.replace(&format!(" seed{SEED}"), "");
            assert!(!val.contains(&arch), "{arch}");
        }
        for f in [
            "ch_PP-OCRv4_det_infer.onnx",
            "ch_PP-OCRv4_rec_infer.onnx",
            "x_cls.onnx",
        ] {
            let sizes = calibration_sizes(f);
            assert_eq!(sizes.len(), 2);
            assert!(!sizes.contains(&validation_size(f).unwrap()), "{f}");
        }
        assert!(calibration_sizes("mlp.onnx").is_empty());
    }
}
