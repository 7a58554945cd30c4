//! edgeopt-data: datasets and data loaders for training and evaluation.
//!
//! Readers turn files into an [`InMemoryDataset`] (f32 features, `i64` labels, one sample shape):
//! [`idx`] (MNIST / Fashion-MNIST, gzipped or raw), [`npy`] (NumPy `.npy` / `.npz`), [`image`]
//! (a folder with one sub-folder per class, PNG or JPEG, resized and normalized to NCHW) and
//! [`csv`] (numeric features plus a label column). A [`DataLoader`] batches any [`Dataset`] with
//! seeded shuffling and augmentation: the same seed and epoch always give the same batches.
//!
//! Nothing here panics on bad input: truncated files, wrong magic numbers, NaN/Inf values and
//! shape mismatches are [`DataError`]s that name the file, the index and the shapes.

mod augment;
pub mod csv;
mod dataset;
mod error;
pub mod idx;
pub mod image;
mod loader;
pub mod mnist;
pub mod npy;
pub mod rng;

pub use augment::Augment;
pub use dataset::{Dataset, InMemoryDataset, Normalize};
pub use error::{DataError, Result};
pub use loader::{Batch, DataLoader, LoaderConfig};
pub use rng::SplitMix64;
