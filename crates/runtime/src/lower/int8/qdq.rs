//! The QDQ rewrite: `DequantizeLinear(x), DequantizeLinear(w) [, DequantizeLinear(bias_i32)]
//! -> Conv | MatMul [-> Relu] -> QuantizeLinear` becomes one QLinearConv / QLinearMatMul.
//!
//! It must run before constant folding (which would turn `DequantizeLinear(w)` into f32
//! weights): call [`fuse_qdq`] on the model before building the session.
//!
//! The fused node computes `round(acc * x_s * w_s / y_s) + y_zp` from the exact integer
//! accumulator where the QDQ graph rounds an f32 convolution of dequantized values: results
//! may differ by 1 LSB where the f32 sum lands next to a rounding boundary (as in ORT, which
//! makes the same fusion). A Relu is fused only when the output zero point is the type's
//! minimum, where `Q(relu(v)) = max(Q(v), zp) = Q(v)` exactly; a bias only when it is an i32
//! constant dequantized with scale `x_s * w_s` and zero point 0 (how quantizers write it).

use edgeopt_ir::attr::Attrs;
use edgeopt_ir::registry::{BuildCtx, Registry};
use edgeopt_ir::{Model, NodeId, ValueId};
use edgeopt_passes::rewrite::Editor;
use edgeopt_tensor::DType;

use crate::Result;

/// A matched `DequantizeLinear(q, scale, zp)`: its inputs.
struct Dq {
    q: ValueId,
    scale: ValueId,
    zp: Option<ValueId>,
    axis: i64,
    node: NodeId,
}

fn dq(ed: &Editor, v: ValueId) -> Option<Dq> {
    let n = ed.producer(v)?;
    let node = ed.node(n);
    if node.op_type() != "DequantizeLinear" || !node.op.domain().is_empty() {
        return None;
    }
    let axis = node
        .op
        .attributes()
        .into_iter()
        .find_map(|(k, a)| match (k.as_str(), a) {
            ("axis", edgeopt_ir::Attribute::Int(v)) => Some(v),
            _ => None,
        })
        .unwrap_or(1);
    Some(Dq {
        q: (*node.inputs.first()?)?,
        scale: (*node.inputs.get(1)?)?,
        zp: node.inputs.get(2).copied().flatten(),
        axis,
        node: n,
    })
}

fn is_8bit(d: Option<DType>) -> bool {
    matches!(d, Some(DType::U8 | DType::I8))
}

/// Scalar f32 scale and 8-bit zero point, both constant.
fn per_tensor(ed: &Editor, scale: ValueId, zp: Option<ValueId>) -> Option<f32> {
    let s = ed.constant(scale)?;
    let z_ok = zp.is_some_and(|z| ed.constant(z).is_some_and(|t| t.len() == 1));
    (s.len() == 1 && s.dtype() == DType::F32 && z_ok)
        .then(|| s.as_slice::<f32>().ok()?.first().copied())?
}

/// Rewrites every matched pattern in `model`; returns how many.
pub fn fuse_qdq(model: &mut Model) -> Result<usize> {
    let opset = model.opset();
    let mut ed = Editor::new(&mut model.graph);
    let mut fused = 0;
    let ids: Vec<NodeId> = ed.node_ids().collect();
    for q in ids {
        if ed.is_removed(q) {
            continue;
        }
        if let Some(plan) = match_at(&ed, q) {
            apply(&mut ed, plan, opset)?;
            fused += 1;
        }
    }
    ed.commit()?;
    Ok(fused)
}

struct Plan {
    quant: NodeId,
    relu: Option<NodeId>,
    op: NodeId,
    x: Dq,
    w: Dq,
    /// The i32 bias and the node dequantizing it.
    bias: Option<(ValueId, NodeId)>,
    y: ValueId,
    y_scale: ValueId,
    y_zp: ValueId,
    conv: bool,
}

fn match_at(ed: &Editor, q: NodeId) -> Option<Plan> {
    let qn = ed.node(q);
    if qn.op_type() != "QuantizeLinear" || !qn.op.domain().is_empty() {
        return None;
    }
    let (src, y_scale, y_zp) = (
        (*qn.inputs.first()?)?,
        (*qn.inputs.get(1)?)?,
        (*qn.inputs.get(2)?)?,
    );
    let y = (*qn.outputs.first()?)?;
    per_tensor(ed, y_scale, Some(y_zp))?;
    if !is_8bit(ed.dtype(y)) || ed.sole_consumer(src) != Some(q) {
        return None;
    }
    let (relu, src) = match ed.producer(src) {
        Some(r) if ed.node(r).op_type() == "Relu" && ed.node(r).op.domain().is_empty() => {
            let zp = ed.scalar(y_zp)?;
            let min = if ed.dtype(y) == Some(DType::U8) {
                0.0
            } else {
                -128.0
            };
            let inner = (*ed.node(r).inputs.first()?)?;
            if zp != min || ed.sole_consumer(inner) != Some(r) {
                return None;
            }
            (Some(r), inner)
        }
        _ => (None, src),
    };
    let op = ed.producer(src)?;
    let on = ed.node(op);
    let conv = match on.op_type() {
        "Conv" => true,
        "MatMul" => false,
        _ => return None,
    };
    if !on.op.domain().is_empty() || ed.is_graph_output(src) {
        return None;
    }
    let x = dq(ed, (*on.inputs.first()?)?)?;
    let w = dq(ed, (*on.inputs.get(1)?)?)?;
    per_tensor(ed, x.scale, x.zp)?;
    let (wq, ws) = (ed.constant(w.q)?, ed.constant(w.scale)?);
    if !is_8bit(ed.dtype(x.q)) || !is_8bit(Some(wq.dtype())) || ws.dtype() != DType::F32 {
        return None;
    }
    let channels = if conv {
        *wq.shape().first()?
    } else {
        *wq.shape().get(1)?
    };
    let channel_axis = if conv { 0 } else { 1 };
    let w_zp_len = w.zp.map_or(Some(1), |z| ed.constant(z).map(|t| t.len()))?;
    let per_channel_ok = |len: usize| {
        len == 1
            || (len == channels
                && (w.axis == channel_axis || w.axis == channel_axis - wq.rank() as i64))
    };
    if !per_channel_ok(ws.len()) || !per_channel_ok(w_zp_len) || (!conv && wq.rank() != 2) {
        return None;
    }
    let bias = match on.inputs.get(2).copied().flatten() {
        None => None,
        Some(b) if conv => Some(bias_of(ed, b, &x, ws.as_slice::<f32>().ok()?, channels)?),
        Some(_) => return None,
    };
    Some(Plan {
        quant: q,
        relu,
        op,
        x,
        w,
        bias,
        y,
        y_scale,
        y_zp,
        conv,
    })
}

/// The i32 constant behind a bias `DequantizeLinear(b, x_s * w_s, 0)`.
fn bias_of(ed: &Editor, b: ValueId, x: &Dq, ws: &[f32], m: usize) -> Option<(ValueId, NodeId)> {
    let d = dq(ed, b)?;
    let (bq, bs) = (ed.constant(d.q)?, ed.constant(d.scale)?);
    let xs = ed.scalar(x.scale)? as f32;
    let bs = bs.as_slice::<f32>().ok()?;
    let zp_zero = d.zp.is_none_or(|z| {
        ed.constant(z)
            .is_some_and(|t| t.to_f64_vec().is_ok_and(|v| v.iter().all(|&x| x == 0.0)))
    });
    let scale_ok = (0..m).all(|i| {
        let want = xs * ws[if ws.len() == 1 { 0 } else { i }];
        let got = bs[if bs.len() == 1 { 0 } else { i }];
        (got - want).abs() <= want.abs() * 1e-6
    });
    (bq.dtype() == DType::I32
        && bq.len() == m
        && (bs.len() == 1 || bs.len() == m)
        && zp_zero
        && scale_ok)
        .then_some((d.q, d.node))
}

fn apply(ed: &mut Editor, p: Plan, opset: i64) -> Result<()> {
    let (op_type, attrs) = if p.conv {
        ("QLinearConv", ed.node(p.op).op.attributes())
    } else {
        ("QLinearMatMul", Vec::new())
    };
    let mut attrs = Attrs::new(attrs.into_iter().collect());
    let mut inputs = vec![
        Some(p.x.q),
        Some(p.x.scale),
        p.x.zp,
        Some(p.w.q),
        Some(p.w.scale),
        p.w.zp,
        Some(p.y_scale),
        Some(p.y_zp),
    ];
    if p.w.zp.is_none() {
        // QLinearConv / QLinearMatMul need a weight zero point: 0 of the weights' type.
        let dtype = ed.constant(p.w.q).map(|t| t.dtype()).unwrap_or(DType::I8);
        let zero = edgeopt_tensor::Tensor::zeros(dtype, vec![])?;
        inputs[5] = Some(ed.add_initializer("qdq_w_zero_point", zero));
    }
    if let Some((b, _)) = p.bias {
        inputs.push(Some(b));
    }
    let mut ctx = BuildCtx {
        opset,
        attrs: &mut attrs,
        num_inputs: inputs.len(),
        num_outputs: 1,
    };
    let op = Registry::global().build("", op_type, &mut ctx)?;
    let name = ed.node(p.op).name.clone();
    let dqs = [Some(p.x.node), Some(p.w.node), p.bias.map(|b| b.1)];
    ed.remove_node(p.quant);
    if let Some(r) = p.relu {
        ed.remove_node(r);
    }
    ed.remove_node(p.op);
    ed.add_node(&name, op, inputs, vec![Some(p.y)])?;
    // Dequantize nodes nothing reads any more.
    for n in dqs.into_iter().flatten() {
        let out = ed.node(n).outputs.first().copied().flatten();
        if let Some(v) = out {
            if !ed.is_removed(n) && ed.consumers(v).is_empty() && !ed.is_graph_output(v) {
                ed.remove_node(n);
            }
        }
    }
    Ok(())
}
