//! Weight-only compression: fp16 weights (an fp16 initializer behind a Cast to float, so every
//! op still computes in float) and int4 blockwise weights for MatMul / Gemm (DequantizeLinear
//! with `block_size`, opset 21).

use crate::build::{ensure_opset, finish, NodeAdder};
use crate::params::QType;
use crate::plan::Selection;
use crate::weights::{param_tensors, quantize_blocked};
use crate::{QuantError, Result};
use edgeopt_ir::{Attribute, Model, ValueId};
use edgeopt_tensor::{DType, Tensor};

/// Initializers smaller than this stay f32 (scalars, shape-like constants).
const MIN_FP16_ELEMENTS: usize = 16;

/// Stores every f32 initializer of at least 16 elements as f16 behind a Cast. Returns how many.
pub fn weights_to_fp16(model: &mut Model) -> Result<usize> {
    let g = &mut model.graph;
    let mut adder = NodeAdder::new(
        g,
        model
            .opsets
            .iter()
            .find(|o| o.0.is_empty())
            .map_or(13, |o| o.1),
    );
    let ids: Vec<ValueId> = g
        .initializers
        .iter()
        .filter(|(_, t)| t.dtype() == DType::F32 && t.len() >= MIN_FP16_ELEMENTS)
        .map(|(v, _)| *v)
        .collect();
    for &v in &ids {
        let t = g.initializers.remove(&v).expect("listed above");
        g.inputs.retain(|&i| i != v);
        let h: Vec<half::f16> = t
            .as_slice::<f32>()?
            .iter()
            .map(|&x| half::f16::from_f32(x))
            .collect();
        let name = g.value(v).name.clone();
        let h = g.add_initializer(
            &format!("{name}_fp16"),
            Tensor::from_vec(t.shape().to_vec(), h)?,
        );
        adder.add(
            g,
            &format!("{name}_Cast"),
            "Cast",
            vec![("to", Attribute::Int(DType::F32.onnx_code() as i64))],
            vec![Some(h)],
            v,
        )?;
    }
    finish(model)?;
    Ok(ids.len())
}

/// Quantizes the 2-D weights of MatMul and Gemm (B, when an f32 initializer) to int4 in blocks
/// of `block` along the reduction axis, symmetric. Returns the names of the nodes rewritten.
pub fn weights_to_int4(model: &mut Model, block: usize, sel: &Selection) -> Result<Vec<String>> {
    if block < 16 || !block.is_power_of_two() {
        return Err(QuantError::Config(format!(
            "--block-size must be a power of two >= 16, got {block}"
        )));
    }
    ensure_opset(model, 21)?;
    let opset = model.opset();
    let g = &mut model.graph;
    let mut targets: Vec<(String, ValueId, usize)> = Vec::new();
    for n in &g.nodes {
        if !n.op.domain().is_empty() || !sel.selects(&n.name, n.op_type()) {
            continue;
        }
        let axis = match n.op_type() {
            "MatMul" => 0,
            "Gemm" => {
                let trans_b =
                    n.op.attributes()
                        .into_iter()
                        .any(|(k, a)| k == "transB" && matches!(a, Attribute::Int(i) if i != 0));
                if trans_b {
                    1
                } else {
                    0
                }
            }
            _ => continue,
        };
        let Some(w) = n.inputs.get(1).copied().flatten() else {
            continue;
        };
        let ok = g
            .initializers
            .get(&w)
            .is_some_and(|t| t.dtype() == DType::F32 && t.rank() == 2);
        if ok && !targets.iter().any(|t| t.1 == w) {
            targets.push((n.name.clone(), w, axis));
        }
    }
    let mut adder = NodeAdder::new(g, opset);
    for (_, w, axis) in &targets {
        let t = g.initializers.remove(w).expect("checked above");
        g.inputs.retain(|i| i != w);
        // Blocks run along the reduction axis: quantize the transpose when it is axis 1.
        let (q, s, z) = if *axis == 0 {
            let q = quantize_blocked(&t, block, QType::I4, true)?;
            let (s, z) = param_tensors(QType::I4, &q.params, &q.param_shape)?;
            (q.data, s, z)
        } else {
            let q = quantize_blocked(&transpose2(&t)?, block, QType::I4, true)?;
            let (s, z) = param_tensors(QType::I4, &q.params, &q.param_shape)?;
            (transpose2(&q.data)?, transpose2(&s)?, transpose2(&z)?)
        };
        let name = g.value(*w).name.clone();
        let q = g.add_initializer(&format!("{name}_int4"), q);
        let s = g.add_initializer(&format!("{name}_scale"), s);
        let z = g.add_initializer(&format!("{name}_zero_point"), z);
        adder.add(
            g,
            &format!("{name}_DequantizeLinear"),
            "DequantizeLinear",
            vec![
                ("axis", Attribute::Int(*axis as i64)),
                ("block_size", Attribute::Int(block as i64)),
            ],
            vec![Some(q), Some(s), Some(z)],
            *w,
        )?;
    }
    finish(model)?;
    Ok(targets.into_iter().map(|t| t.0).collect())
}

/// Transpose of a 2-D tensor of any one-byte-or-wider plain type.
fn transpose2(t: &Tensor) -> Result<Tensor> {
    let [r, c] = t.shape() else {
        return Err(QuantError::Config(format!(
            "expected a 2-D tensor, got {:?}",
            t.shape()
        )));
    };
    let (r, c) = (*r, *c);
    let sz = t.dtype().size_of().max(1);
    let b = t.as_bytes();
    let mut out = vec![0u8; b.len()];
    for i in 0..r {
        for j in 0..c {
            let (src, dst) = ((i * c + j) * sz, (j * r + i) * sz);
            out[dst..dst + sz].copy_from_slice(&b[src..src + sz]);
        }
    }
    Ok(Tensor::from_bytes(t.dtype(), vec![c, r], out.into())?)
}
