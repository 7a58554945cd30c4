//! Quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QLinearConv,
//! QLinearMatMul, ConvInteger, MatMulInteger. The `*_common` files hold the shared parameter
//! mapping, integer convolution and batched matmul.

pub mod common;
pub mod conv_common;
pub mod conv_integer;
pub mod dequantize_linear;
pub mod dynamic_quantize_linear;
pub mod matmul_common;
pub mod matmul_integer;
pub mod qlinear_conv;
pub mod qlinear_matmul;
pub mod quantize_linear;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "QuantizeLinear", quantize_linear::build);
    r.register("", "DequantizeLinear", dequantize_linear::build);
    r.register("", "DynamicQuantizeLinear", dynamic_quantize_linear::build);
    r.register("", "QLinearConv", qlinear_conv::build);
    r.register("", "QLinearMatMul", qlinear_matmul::build);
    r.register("", "ConvInteger", conv_integer::build);
    r.register("", "MatMulInteger", matmul_integer::build);
}
