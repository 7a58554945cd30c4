//! linalg ops: matrix products.

use crate::registry::Registry;

pub mod common;
pub mod gemm;
pub mod matmul;

pub fn register(r: &mut Registry) {
    r.register("", "Gemm", gemm::build);
    r.register("", "MatMul", matmul::build);
}
