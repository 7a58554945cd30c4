//! Where the CLI's `train`, `distill` and `eval` read their data: every format of
//! `edgeopt-data` (IDX folders, NPZ archives or folders of NPY files, image folders with one
//! sub-folder per class, CSV tables), detected from the path unless `--format` says.

use anyhow::{bail, Context, Result};
use edgeopt_data::csv::{read_csv, CsvConfig};
use edgeopt_data::image::{load_image_folder, ColorMode, ImageFolderConfig};
use edgeopt_data::npy::{read_npy, read_npz};
use edgeopt_data::{Dataset, InMemoryDataset};
use edgeopt_tensor::{DType, Tensor};
use std::path::{Path, PathBuf};

/// Data options shared by `train`, `distill` and `eval`.
#[derive(clap::Args, Clone, Debug)]
pub struct DataOpts {
    /// The data set: a folder of IDX files (`train-images-idx3-ubyte[.gz]`, `t10k-...`), an
    /// `.npz` (`x_train`, `y_train`, optional `x_test`, `y_test`), a folder of those as `.npy`
    /// files, a folder of images with `train/` and `test/` (or directly) one sub-folder per
    /// class, or a `.csv` (numeric features, label in the last column).
    #[arg(long)]
    pub data: PathBuf,
    /// Format of --data (auto: from the path).
    #[arg(long, default_value = "auto", value_parser = ["auto", "idx", "npz", "npy", "images", "csv"])]
    pub format: String,
    /// A separate test set in the same format (for CSV and single-folder images).
    #[arg(long)]
    pub test_data: Option<PathBuf>,
    /// Image size HxW for image folders.
    #[arg(long, default_value = "28x28")]
    pub image_size: String,
    /// Channels for image folders.
    #[arg(long, default_value = "gray", value_parser = ["gray", "rgb"])]
    pub color: String,
    /// Reshape every sample, e.g. `1x28x28` for images stored as CSV rows.
    #[arg(long)]
    pub sample_shape: Option<String>,
}

/// A training set and, when the data has one, its test set.
pub struct Splits {
    pub train: InMemoryDataset,
    pub test: Option<InMemoryDataset>,
}

fn format_of(path: &Path) -> Result<&'static str> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("npz") => return Ok("npz"),
        Some("csv") => return Ok("csv"),
        _ => {}
    }
    if !path.is_dir() {
        bail!(
            "cannot tell the format of {} (use --format)",
            path.display()
        );
    }
    let has = |name: &str| path.join(name).exists() || path.join(format!("{name}.gz")).exists();
    if has("train-images-idx3-ubyte") || has("t10k-images-idx3-ubyte") {
        Ok("idx")
    } else if path.join("x_train.npy").exists() {
        Ok("npy")
    } else {
        Ok("images")
    }
}

/// `x` as features, scaled to [0, 1] when stored as bytes (images), with labels `y`.
fn from_arrays(name: &str, x: &Tensor, y: &Tensor) -> Result<InMemoryDataset> {
    let mut d = InMemoryDataset::from_tensors(name, x, y, None)?;
    if x.dtype() == DType::U8 {
        d.scale(1.0 / 255.0);
    }
    Ok(d)
}

fn arrays(name: &str, get: &mut dyn FnMut(&str) -> Result<Option<Tensor>>) -> Result<Splits> {
    let pair = |x: Option<Tensor>, y: Option<Tensor>, what: &str| -> Result<Option<_>> {
        match (x, y) {
            (Some(x), Some(y)) => Ok(Some(from_arrays(&format!("{name}:{what}"), &x, &y)?)),
            (None, None) => Ok(None),
            _ => bail!("{name}: x_{what} and y_{what} must both be present"),
        }
    };
    let train = pair(get("x_train")?, get("y_train")?, "train")?
        .with_context(|| format!("{name} has no x_train / y_train"))?;
    let test = pair(get("x_test")?, get("y_test")?, "test")?;
    Ok(Splits { train, test })
}

fn image_config(o: &DataOpts) -> Result<ImageFolderConfig> {
    let (h, w) = o
        .image_size
        .split_once('x')
        .and_then(|(h, w)| Some((h.parse().ok()?, w.parse().ok()?)))
        .filter(|&(h, w): &(usize, usize)| h > 0 && w > 0)
        .with_context(|| format!("--image-size must be HxW, got '{}'", o.image_size))?;
    Ok(ImageFolderConfig {
        height: h,
        width: w,
        color: if o.color == "rgb" {
            ColorMode::Rgb
        } else {
            ColorMode::Gray
        },
        normalize: None,
    })
}

fn read_one(o: &DataOpts, path: &Path, format: &str) -> Result<Splits> {
    Ok(match format {
        "idx" => {
            let (train, test) = edgeopt_data::mnist::load_mnist_dir(path)?;
            Splits {
                train,
                test: Some(test),
            }
        }
        "npz" => {
            let mut all = read_npz(path)?;
            arrays(&path.display().to_string(), &mut |n| {
                Ok(all
                    .iter()
                    .position(|(k, _)| k == n || k == &format!("{n}.npy"))
                    .map(|i| all.swap_remove(i).1))
            })?
        }
        "npy" => arrays(&path.display().to_string(), &mut |n| {
            let p = path.join(format!("{n}.npy"));
            Ok(if p.exists() {
                Some(read_npy(&p)?)
            } else {
                None
            })
        })?,
        "images" => {
            let cfg = image_config(o)?;
            let (tr, te) = (path.join("train"), path.join("test"));
            if tr.is_dir() {
                Splits {
                    train: load_image_folder(&tr, &cfg)?,
                    test: if te.is_dir() {
                        Some(load_image_folder(&te, &cfg)?)
                    } else {
                        None
                    },
                }
            } else {
                Splits {
                    train: load_image_folder(path, &cfg)?,
                    test: None,
                }
            }
        }
        "csv" => Splits {
            train: read_csv(path, &CsvConfig::default())?,
            test: None,
        },
        f => bail!("unknown data format '{f}'"),
    })
}

/// `d` with every sample reshaped to `shape` (`AxBxC`).
fn reshape(d: InMemoryDataset, shape: &str) -> Result<InMemoryDataset> {
    let dims: Vec<usize> = shape
        .split('x')
        .map(|v| v.parse().ok().filter(|&v: &usize| v > 0))
        .collect::<Option<_>>()
        .with_context(|| format!("--sample-shape must be like 1x28x28, got '{shape}'"))?;
    if dims.iter().try_fold(1usize, |a, &b| a.checked_mul(b))
        != Some(d.features().len() / d.len().max(1))
    {
        bail!(
            "--sample-shape {shape} does not hold the {:?} samples of {}",
            d.sample_shape(),
            d.name()
        );
    }
    Ok(InMemoryDataset::new(
        d.name(),
        dims,
        d.features().to_vec(),
        d.labels().to_vec(),
        d.num_classes(),
    )?)
}

/// Reads the data set of `o`.
/// `open` with every option at its default (format detected from the path).
pub fn open_path(data: &Path) -> Result<Splits> {
    open(&DataOpts {
        data: data.to_path_buf(),
        format: "auto".into(),
        test_data: None,
        image_size: "28x28".into(),
        color: "gray".into(),
        sample_shape: None,
    })
}

pub fn open(o: &DataOpts) -> Result<Splits> {
    let format = match o.format.as_str() {
        "auto" => format_of(&o.data)?,
        f => f,
    };
    let mut s =
        read_one(o, &o.data, format).with_context(|| format!("reading {}", o.data.display()))?;
    if let Some(t) = &o.test_data {
        let f = match o.format.as_str() {
            "auto" => format_of(t)?,
            f => f,
        };
        let other = read_one(o, t, f).with_context(|| format!("reading {}", t.display()))?;
        s.test = Some(other.train);
    }
    if let Some(shape) = &o.sample_shape {
        s.train = reshape(s.train, shape)?;
        s.test = s.test.map(|t| reshape(t, shape)).transpose()?;
    }
    if let Some(t) = &s.test {
        if t.sample_shape() != s.train.sample_shape() {
            bail!(
                "test samples are {:?}, training samples {:?}",
                t.sample_shape(),
                s.train.sample_shape()
            );
        }
    }
    Ok(s)
}

/// The first `n` samples of `d`.
pub fn take(d: InMemoryDataset, n: Option<usize>) -> Result<InMemoryDataset> {
    match n {
        Some(n) if n < d.len() => Ok(d.subset(&(0..n).collect::<Vec<_>>())?),
        _ => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeopt_data::npy::write_npz;

    fn opts(data: &Path) -> DataOpts {
        DataOpts {
            data: data.to_path_buf(),
            format: "auto".into(),
            test_data: None,
            image_size: "28x28".into(),
            color: "gray".into(),
            sample_shape: None,
        }
    }

    #[test]
    fn npz_csv_and_npy_folders_read_the_same_samples() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..3 * 4).map(|v| (v * 20) as u8).collect();
        let x = Tensor::from_vec(vec![3, 1, 2, 2], pixels.clone()).unwrap();
        let y = Tensor::vec1(vec![0i64, 2, 1]);
        let npz = dir.path().join("d.npz");
        write_npz(
            &npz,
            &[("x_train".into(), x.clone()), ("y_train".into(), y)],
        )
        .unwrap();
        let csv = dir.path().join("d.csv");
        let rows: Vec<String> = pixels
            .chunks(4)
            .zip([0, 2, 1])
            .map(|(p, l)| {
                let f: Vec<String> = p.iter().map(|&v| (v as f32 / 255.0).to_string()).collect();
                format!("{},{l}", f.join(","))
            })
            .collect();
        std::fs::write(&csv, rows.join("\n")).unwrap();
        let a = open(&opts(&npz)).unwrap();
        assert!(a.test.is_none());
        let mut o = opts(&csv);
        o.sample_shape = Some("1x2x2".into());
        let b = open(&o).unwrap();
        assert_eq!(a.train.sample_shape(), [1, 2, 2]);
        assert_eq!(b.train.sample_shape(), [1, 2, 2]);
        assert_eq!(a.train.labels(), b.train.labels());
        for (u, v) in a.train.features().iter().zip(b.train.features()) {
            assert!((u - v).abs() < 1e-6, "{u} vs {v}");
        }
        o.sample_shape = Some("3x2".into());
        assert!(open(&o).is_err());
        assert!(open(&opts(&dir.path().join("missing.npz"))).is_err());
    }
}
