//! Dynamic quantization, as ONNX Runtime's `quantize_dynamic`: MatMul / Gemm weights become int8
//! initializers (symmetric, one scale per output column); activations are quantized at run time:
//! `DynamicQuantizeLinear(x) -> MatMulInteger -> Cast -> Mul(x_scale * w_scale) [-> Add bias]`.
//! Convolutions are left in float.

use crate::build::{ensure_opset, finish, NodeAdder};
use crate::params::QType;
use crate::plan::Selection;
use crate::weights::quantize_weight;
use crate::Result;
use edgeopt_ir::{Attribute, Model, NodeId, ValueId, ValueType};
use edgeopt_tensor::{DType, Tensor};

struct Target {
    node: NodeId,
    x: ValueId,
    w: ValueId,
    bias: Option<ValueId>,
    trans_b: bool,
    out: ValueId,
}

fn attr_int(n: &edgeopt_ir::Node, name: &str) -> Option<i64> {
    n.op.attributes()
        .into_iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, a)| match a {
            Attribute::Int(i) => Some(i),
            _ => None,
        })
}

fn attr_float(n: &edgeopt_ir::Node, name: &str) -> Option<f32> {
    n.op.attributes()
        .into_iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, a)| match a {
            Attribute::Float(f) => Some(f),
            _ => None,
        })
}

/// Rewrites MatMul / Gemm nodes with f32 2-D weight initializers; returns their names.
pub fn quantize_dynamic(
    model: &mut Model,
    sel: &Selection,
    reduce_range: bool,
) -> Result<Vec<String>> {
    ensure_opset(model, 13)?;
    let opset = model.opset();
    let g = &mut model.graph;
    let mut targets = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if !n.op.domain().is_empty() || !sel.selects(&n.name, n.op_type()) {
            continue;
        }
        let is_gemm = match n.op_type() {
            "MatMul" => false,
            "Gemm" => {
                let plain = attr_int(n, "transA").unwrap_or(0) == 0
                    && attr_float(n, "alpha").unwrap_or(1.0) == 1.0
                    && attr_float(n, "beta").unwrap_or(1.0) == 1.0;
                if !plain {
                    continue;
                }
                true
            }
            _ => continue,
        };
        let (Some(x), Some(w), Some(out)) = (
            n.inputs.first().copied().flatten(),
            n.inputs.get(1).copied().flatten(),
            n.outputs.first().copied().flatten(),
        ) else {
            continue;
        };
        let w_ok = g
            .initializers
            .get(&w)
            .is_some_and(|t| t.dtype() == DType::F32 && t.rank() == 2);
        if !w_ok || g.initializers.contains_key(&x) || g.value(x).ty.dtype() != Some(DType::F32) {
            continue;
        }
        let bias = if is_gemm {
            n.inputs.get(2).copied().flatten()
        } else {
            None
        };
        targets.push(Target {
            node: NodeId(i as u32),
            x,
            w,
            bias,
            trans_b: is_gemm && attr_int(n, "transB").unwrap_or(0) != 0,
            out,
        });
    }
    let mut adder = NodeAdder::new(g, opset);
    let mut names = Vec::new();
    let mut remove = Vec::new();
    for t in &targets {
        let node_name = g.node(t.node).name.clone();
        let wt = g.initializers[&t.w].clone();
        let wt = if t.trans_b { transpose_f32(&wt)? } else { wt };
        let q = quantize_weight(&wt, Some(1), QType::I8, true, reduce_range)?;
        let wq = g.add_initializer(&format!("{node_name}_weight_quantized"), q.data);
        let ws: Vec<f32> = q.params.iter().map(|p| p.scale).collect();
        let ws = g.add_initializer(&format!("{node_name}_weight_scale"), Tensor::vec1(ws));
        let f32_ty = ValueType::dtype_only(DType::F32);
        let xq = g.add_value(
            &format!("{node_name}_input_quantized"),
            ValueType::dtype_only(DType::U8),
        );
        let xs = g.add_value(&format!("{node_name}_input_scale"), f32_ty.clone());
        let xz = g.add_value(
            &format!("{node_name}_input_zero_point"),
            ValueType::dtype_only(DType::U8),
        );
        let op = crate::build::make_op("DynamicQuantizeLinear", vec![], 1, opset)?;
        let dq_name = adder.unique(&format!("{node_name}_DynamicQuantizeLinear"));
        g.add_node(
            &dq_name,
            op,
            vec![Some(t.x)],
            vec![Some(xq), Some(xs), Some(xz)],
        );
        let acc = adder.add_fresh(
            g,
            &format!("{node_name}_MatMulInteger"),
            "MatMulInteger",
            vec![],
            vec![Some(xq), Some(wq), Some(xz)],
            &format!("{node_name}_int32"),
            ValueType::dtype_only(DType::I32),
        )?;
        let accf = adder.add_fresh(
            g,
            &format!("{node_name}_Cast"),
            "Cast",
            vec![("to", Attribute::Int(DType::F32.onnx_code() as i64))],
            vec![Some(acc)],
            &format!("{node_name}_int32_float"),
            f32_ty.clone(),
        )?;
        let scale = adder.add_fresh(
            g,
            &format!("{node_name}_scale_Mul"),
            "Mul",
            vec![],
            vec![Some(xs), Some(ws)],
            &format!("{node_name}_scale"),
            f32_ty.clone(),
        )?;
        match t.bias {
            Some(b) => {
                let y = adder.add_fresh(
                    g,
                    &format!("{node_name}_Mul"),
                    "Mul",
                    vec![],
                    vec![Some(accf), Some(scale)],
                    &format!("{node_name}_unbiased"),
                    f32_ty,
                )?;
                adder.add(
                    g,
                    &format!("{node_name}_bias_Add"),
                    "Add",
                    vec![],
                    vec![Some(y), Some(b)],
                    t.out,
                )?;
            }
            None => adder.add(
                g,
                &format!("{node_name}_Mul"),
                "Mul",
                vec![],
                vec![Some(accf), Some(scale)],
                t.out,
            )?,
        }
        remove.push(t.node);
        names.push(node_name);
    }
    let mut k = 0;
    g.nodes.retain(|_| {
        k += 1;
        !remove.contains(&NodeId(k as u32 - 1))
    });
    edgeopt_passes::rewrite::prune_initializers(g);
    finish(model)?;
    Ok(names)
}

fn transpose_f32(t: &Tensor) -> Result<Tensor> {
    let [r, c] = t.shape() else {
        return Err(crate::QuantError::Config(format!(
            "expected a 2-D weight, got {:?}",
            t.shape()
        )));
    };
    let (r, c) = (*r, *c);
    let v = t.as_slice::<f32>()?;
    let mut o = vec![0f32; v.len()];
    for i in 0..r {
        for j in 0..c {
            o[j * r + i] = v[i * c + j];
        }
    }
    Ok(Tensor::from_vec(vec![c, r], o)?)
}
