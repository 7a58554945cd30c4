//! signal ops: Fourier transforms, window functions and the mel filter bank.

use crate::registry::Registry;

pub mod common;
pub mod dft;

pub fn register(r: &mut Registry) {
    r.register("", "DFT", dft::build);
}
