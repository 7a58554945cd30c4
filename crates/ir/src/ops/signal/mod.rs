//! signal ops: Fourier transforms, window functions and the mel filter bank.

use crate::registry::Registry;

pub mod common;
pub mod dft;
pub mod mel_weight_matrix;
pub mod stft;
pub mod window;

pub fn register(r: &mut Registry) {
    r.register("", "DFT", dft::build);
    r.register("", "STFT", stft::build);
    r.register("", "MelWeightMatrix", mel_weight_matrix::build);
    window::register(r);
}
