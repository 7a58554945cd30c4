//! MNIST-format datasets (MNIST, Fashion-MNIST): an images IDX file and a labels IDX file.

use crate::dataset::InMemoryDataset;
use crate::error::{format_err, DataError, Result};
use crate::idx::read_idx;
use edgeopt_tensor::DType;
use std::path::{Path, PathBuf};

/// Loads an `[N, H, W]` u8 images file and an `[N]` u8 labels file as samples `[1, H, W]`
/// scaled to [0, 1], with 10 classes.
pub fn load_idx_pair(images: &Path, labels: &Path) -> Result<InMemoryDataset> {
    let x = read_idx(images)?;
    let y = read_idx(labels)?;
    let (xw, yw) = (images.display().to_string(), labels.display().to_string());
    if x.dtype() != DType::U8 || x.rank() != 3 {
        return Err(format_err(
            &xw,
            format!(
                "expected [N, H, W] u8 images, found {} {:?}",
                x.dtype(),
                x.shape()
            ),
        ));
    }
    if y.dtype() != DType::U8 || y.rank() != 1 {
        return Err(format_err(
            &yw,
            format!(
                "expected [N] u8 labels, found {} {:?}",
                y.dtype(),
                y.shape()
            ),
        ));
    }
    if x.shape()[0] != y.shape()[0] {
        return Err(DataError::Shape(format!(
            "{xw} has {} images {:?} but {yw} has {} labels",
            x.shape()[0],
            x.shape(),
            y.shape()[0]
        )));
    }
    let feats = x
        .as_slice::<u8>()?
        .iter()
        .map(|&p| p as f32 / 255.0)
        .collect();
    let labels = y.as_slice::<u8>()?.iter().map(|&l| l as i64).collect();
    InMemoryDataset::new(&xw, vec![1, x.shape()[1], x.shape()[2]], feats, labels, 10)
}

/// `dir/name` or `dir/name.gz`, whichever exists.
fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| DataError::Io {
            path: dir.join(name).display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "neither it nor its .gz exists",
            ),
        })
}

/// Loads (train, test) from a folder with the standard MNIST file names
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-...`).
pub fn load_mnist_dir(dir: &Path) -> Result<(InMemoryDataset, InMemoryDataset)> {
    let part = |p: &str| -> Result<InMemoryDataset> {
        load_idx_pair(
            &find(dir, &format!("{p}-images-idx3-ubyte"))?,
            &find(dir, &format!("{p}-labels-idx1-ubyte"))?,
        )
    };
    Ok((part("train")?, part("t10k")?))
}

/// Where Fashion-MNIST is: `$EDGEOPT_FASHION_MNIST`, else `<repo>/../shared/data/fashion-mnist`,
/// else `<repo>/data/fashion-mnist` (what `scripts/fetch-data.sh` writes); `None` if no
/// candidate folder exists.
pub fn fashion_mnist_dir(repo_root: &Path) -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("EDGEOPT_FASHION_MNIST") {
        return Some(PathBuf::from(d));
    }
    [
        repo_root.join("../shared/data/fashion-mnist"),
        repo_root.join("data/fashion-mnist"),
    ]
    .into_iter()
    .find(|p| p.is_dir())
}

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::idx_bytes_u8;
    use crate::Dataset;

    #[test]
    fn pair_loads_scaled_and_checks_counts() {
        let dir = tempfile::tempdir().unwrap();
        let (xi, yi) = (dir.path().join("x"), dir.path().join("y"));
        std::fs::write(
            &xi,
            idx_bytes_u8(&[2, 2, 2], &[0, 255, 51, 0, 0, 0, 0, 102]),
        )
        .unwrap();
        std::fs::write(&yi, idx_bytes_u8(&[2], &[3, 9])).unwrap();
        let d = load_idx_pair(&xi, &yi).unwrap();
        assert_eq!(d.sample_shape(), &[1, 2, 2]);
        assert_eq!(d.sample(0), &[0.0, 1.0, 0.2, 0.0]);
        assert_eq!(d.labels(), &[3, 9]);
        std::fs::write(&yi, idx_bytes_u8(&[3], &[3, 9, 1])).unwrap();
        let e = load_idx_pair(&xi, &yi).unwrap_err().to_string();
        assert!(e.contains("2 images") && e.contains("3 labels"), "{e}");
        std::fs::write(&yi, idx_bytes_u8(&[2], &[3, 10])).unwrap();
        let e = load_idx_pair(&xi, &yi).unwrap_err().to_string();
        assert!(e.contains("label 10 of sample 1"), "{e}");
    }
}
