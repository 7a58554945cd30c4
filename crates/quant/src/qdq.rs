//! Applies a [`Plan`](crate::plan::Plan): Q/DQ pairs on activations (the DequantizeLinear
//! output keeps the tensor's name, so every consumer and graph output stays wired and tensors
//! match the float model by name), DequantizeLinear on integer weights, int32 biases.

use crate::build::NodeAdder;
use crate::params::{QParams, QType};
use crate::plan::Plan;
use crate::weights::{param_tensors, quantize_bias, quantize_weight};
use crate::{QuantError, Result};
use edgeopt_ir::{Attribute, Graph, ValueId, ValueType};
use std::collections::HashMap;

/// Types and options of a static rewrite.
#[derive(Clone, Copy, Debug)]
pub struct QdqTypes {
    pub activation: QType,
    pub weight: QType,
    pub symmetric_weights: bool,
    pub reduce_range: bool,
}

/// Inserts `Q -> DQ` on activation `v` with `p`.
pub fn insert_qdq(
    g: &mut Graph,
    adder: &mut NodeAdder,
    v: ValueId,
    p: QParams,
    qt: QType,
) -> Result<()> {
    let name = g.value(v).name.clone();
    let ty = g.value(v).ty.clone();
    let (s, z) = param_tensors(qt, &[p], &[])?;
    let s = g.add_initializer(&format!("{name}_scale"), s);
    let z = g.add_initializer(&format!("{name}_zero_point"), z);
    let q = g.add_value(
        &format!("{name}_quantized"),
        ValueType::dtype_only(qt.dtype()),
    );
    let producer = g.nodes.iter().position(|n| n.outputs.contains(&Some(v)));
    match producer {
        Some(pi) => {
            // The producer now writes a fresh value; DequantizeLinear writes `v` itself.
            let pre = g.add_value(&format!("{name}_float"), ty);
            for o in g.nodes[pi].outputs.iter_mut() {
                if *o == Some(v) {
                    *o = Some(pre);
                }
            }
            adder.add(
                g,
                &format!("{name}_QuantizeLinear"),
                "QuantizeLinear",
                vec![],
                vec![Some(pre), Some(s), Some(z)],
                q,
            )?;
            adder.add(
                g,
                &format!("{name}_DequantizeLinear"),
                "DequantizeLinear",
                vec![],
                vec![Some(q), Some(s), Some(z)],
                v,
            )?;
        }
        None => {
            // A graph input: consumers switch to the dequantized copy.
            let dq = g.add_value(&format!("{name}_dequantized"), ty);
            for n in g.nodes.iter_mut() {
                for i in n.inputs.iter_mut() {
                    if *i == Some(v) {
                        *i = Some(dq);
                    }
                }
            }
            adder.add(
                g,
                &format!("{name}_QuantizeLinear"),
                "QuantizeLinear",
                vec![],
                vec![Some(v), Some(s), Some(z)],
                q,
            )?;
            adder.add(
                g,
                &format!("{name}_DequantizeLinear"),
                "DequantizeLinear",
                vec![],
                vec![Some(q), Some(s), Some(z)],
                dq,
            )?;
        }
    }
    Ok(())
}

/// Replaces initializer `v` by `DequantizeLinear(q, scale, zero_point)` writing `v`.
fn dequantized_initializer(
    g: &mut Graph,
    adder: &mut NodeAdder,
    v: ValueId,
    data: edgeopt_tensor::Tensor,
    scale: edgeopt_tensor::Tensor,
    zp: edgeopt_tensor::Tensor,
    attrs: Vec<(&str, Attribute)>,
) -> Result<()> {
    let name = g.value(v).name.clone();
    g.initializers.remove(&v);
    g.inputs.retain(|&i| i != v);
    let q = g.add_initializer(&format!("{name}_quantized"), data);
    let s = g.add_initializer(&format!("{name}_scale"), scale);
    let z = g.add_initializer(&format!("{name}_zero_point"), zp);
    adder.add(
        g,
        &format!("{name}_DequantizeLinear"),
        "DequantizeLinear",
        attrs,
        vec![Some(q), Some(s), Some(z)],
        v,
    )
}

/// Rewrites `g` per `plan` with activation parameters `acts` (by value).
pub fn apply(
    g: &mut Graph,
    opset: i64,
    plan: &Plan,
    acts: &HashMap<ValueId, QParams>,
    types: QdqTypes,
) -> Result<()> {
    let mut adder = NodeAdder::new(g, opset);
    let mut weight_scales: HashMap<ValueId, Vec<f32>> = HashMap::new();
    for w in plan.weights.values().chain(plan.constants.values()) {
        let Some(t) = g.initializers.get(&w.value).cloned() else {
            continue;
        };
        let q = quantize_weight(
            &t,
            w.axis,
            types.weight,
            types.symmetric_weights,
            types.reduce_range,
        )?;
        weight_scales.insert(w.value, q.params.iter().map(|p| p.scale).collect());
        let (s, z) = param_tensors(types.weight, &q.params, &q.param_shape)?;
        let attrs = match w.axis {
            Some(a) => vec![("axis", Attribute::Int(a as i64))],
            None => vec![],
        };
        dequantized_initializer(g, &mut adder, w.value, q.data, s, z, attrs)?;
    }
    for b in plan.biases.values() {
        let (Some(sx), Some(sw)) = (acts.get(&b.input), weight_scales.get(&b.weight)) else {
            continue;
        };
        let Some(t) = g.initializers.get(&b.value).cloned() else {
            continue;
        };
        let scales: Vec<f32> = sw.iter().map(|s| s * sx.scale).collect();
        if scales.len() != 1 && scales.len() != t.len() {
            return Err(QuantError::Config(format!(
                "bias '{}' has {} elements but its weight {} channels",
                g.value(b.value).name,
                t.len(),
                scales.len()
            )));
        }
        let data = quantize_bias(&t, &scales)?;
        let shape = if scales.len() == 1 {
            vec![]
        } else {
            vec![scales.len()]
        };
        let s = edgeopt_tensor::Tensor::from_vec(shape.clone(), scales)?;
        let z = edgeopt_tensor::Tensor::from_vec(shape.clone(), vec![0i32; s.len()])?;
        let attrs = if shape.is_empty() {
            vec![]
        } else {
            vec![("axis", Attribute::Int(0))]
        };
        dequantized_initializer(g, &mut adder, b.value, data, s, z, attrs)?;
    }
    for &v in &plan.activations {
        if let Some(&p) = acts.get(&v) {
            insert_qdq(g, &mut adder, v, p, types.activation)?;
        }
    }
    Ok(())
}
