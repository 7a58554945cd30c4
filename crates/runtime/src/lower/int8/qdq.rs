//! The QDQ rewrite: `DequantizeLinear(x), DequantizeLinear(w) [, DequantizeLinear(bias_i32)]
//! -> Conv | MatMul | Gemm [-> Relu | Clip] -> QuantizeLinear` becomes one QLinearConv /
//! QLinearMatMul (a Gemm becomes `Reshape -> QLinearConv 1x1 -> Reshape`, which carries its
//! bias and per-channel scales), wrapped in [`Clamped`] when an activation was fused.
//!
//! It must run before constant folding (which would turn `DequantizeLinear(w)` into f32
//! weights): call [`fuse_qdq`] on the model before building the session.
//!
//! The fused node computes `round(acc * x_s * w_s / y_s) + y_zp` from the exact integer
//! accumulator where the QDQ graph rounds an f32 convolution of dequantized values: results
//! may differ by 1 LSB where the f32 sum lands next to a rounding boundary (as in ORT, which
//! makes the same fusion). Relu and Clip fuse exactly as clamps of the quantized output (see
//! `qdq_act.rs`); a bias only when it is an i32 constant dequantized with scale `x_s * w_s` and
//! zero point 0 (how quantizers write it).

use edgeopt_ir::attr::Attrs;
use edgeopt_ir::ops::linalg::gemm::Gemm;
use edgeopt_ir::registry::{BuildCtx, Registry};
use edgeopt_ir::{Model, NodeId, Op, ValueId, ValueType};
use edgeopt_passes::rewrite::Editor;
use edgeopt_tensor::{DType, Tensor};

use super::clamped::Clamped;
use super::qdq_act::{activation, Act};
use super::qdq_add::{apply_add, match_add};
use super::qdq_pool::{apply_pool, match_pool};
use crate::Result;

/// A matched `DequantizeLinear(q, scale, zp)`: its inputs.
pub(super) struct Dq {
    pub q: ValueId,
    pub scale: ValueId,
    pub zp: Option<ValueId>,
    pub axis: i64,
    pub node: NodeId,
}

pub(super) fn dq(ed: &Editor, v: ValueId) -> Option<Dq> {
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
pub(super) fn per_tensor(ed: &Editor, scale: ValueId, zp: Option<ValueId>) -> Option<f32> {
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
        } else if let Some(plan) = match_add(&ed, q) {
            apply_add(&mut ed, plan)?;
            fused += 1;
        } else if let Some(plan) = match_pool(&ed, q) {
            apply_pool(&mut ed, plan)?;
            fused += 1;
        }
    }
    ed.commit()?;
    Ok(fused)
}

/// The fused product.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Conv,
    MatMul,
    /// Gemm with `B` stored `[N, K]` (`transB = 1`) or `[K, N]`.
    Gemm {
        trans_b: bool,
    },
}

struct Plan {
    quant: NodeId,
    act: Option<Act>,
    op: NodeId,
    x: Dq,
    w: Dq,
    /// The i32 bias and the node dequantizing it.
    bias: Option<(ValueId, NodeId)>,
    y: ValueId,
    y_scale: ValueId,
    y_zp: ValueId,
    kind: Kind,
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
    let ys = per_tensor(ed, y_scale, Some(y_zp))?;
    let y_dtype = ed.dtype(y)?;
    if !is_8bit(Some(y_dtype)) || ed.sole_consumer(src) != Some(q) {
        return None;
    }
    let (act, src) = activation(ed, src, ys, ed.scalar(y_zp)? as i32, y_dtype)?;
    let op = ed.producer(src)?;
    let on = ed.node(op);
    let kind = match on.op_type() {
        "Conv" => Kind::Conv,
        "MatMul" => Kind::MatMul,
        "Gemm" => {
            let g = on.op.downcast_ref::<Gemm>()?;
            let plain = g.alpha == 1.0 && !g.trans_a;
            let bias_ok = g.beta == 1.0 || on.inputs.get(2).copied().flatten().is_none();
            if !plain || !bias_ok {
                return None;
            }
            Kind::Gemm { trans_b: g.trans_b }
        }
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
    let channel_axis = match kind {
        Kind::Conv | Kind::Gemm { trans_b: true } => 0,
        Kind::MatMul | Kind::Gemm { trans_b: false } => 1,
    };
    let channels = *wq.shape().get(channel_axis)?;
    let w_zp_len = w.zp.map_or(Some(1), |z| ed.constant(z).map(|t| t.len()))?;
    let per_channel_ok = |len: usize| {
        len == 1
            || (len == channels
                && (w.axis == channel_axis as i64
                    || w.axis == channel_axis as i64 - wq.rank() as i64))
    };
    let rank_ok = match kind {
        Kind::Conv => true,
        Kind::MatMul => wq.rank() == 2,
        Kind::Gemm { .. } => wq.rank() == 2 && ed.shape(x.q).is_some_and(|s| s.len() == 2),
    };
    if !per_channel_ok(ws.len()) || !per_channel_ok(w_zp_len) || !rank_ok {
        return None;
    }
    let bias = match on.inputs.get(2).copied().flatten() {
        None => None,
        Some(b) if kind != Kind::MatMul => {
            Some(bias_of(ed, b, &x, ws.as_slice::<f32>().ok()?, channels)?)
        }
        Some(_) => return None,
    };
    Some(Plan {
        quant: q,
        act,
        op,
        x,
        w,
        bias,
        y,
        y_scale,
        y_zp,
        kind,
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
    let (op_type, attrs) = match p.kind {
        Kind::Conv => ("QLinearConv", ed.node(p.op).op.attributes()),
        Kind::Gemm { .. } => ("QLinearConv", Vec::new()),
        Kind::MatMul => ("QLinearMatMul", Vec::new()),
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
        let zero = Tensor::zeros(dtype, vec![])?;
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
    let mut op: Box<dyn Op> = Registry::global().build("", op_type, &mut ctx)?;
    if let Some(a) = &p.act {
        op = Box::new(Clamped {
            inner: op,
            lo: a.bounds.0,
            hi: a.bounds.1,
        });
    }
    let name = ed.node(p.op).name.clone();
    let dqs = [Some(p.x.node), Some(p.w.node), p.bias.map(|b| b.1)];
    ed.remove_node(p.quant);
    if let Some(a) = &p.act {
        ed.remove_node(a.node);
    }
    ed.remove_node(p.op);
    if let Kind::Gemm { trans_b } = p.kind {
        gemm_as_conv(ed, &name, op, inputs, trans_b, p.y, opset)?;
    } else {
        ed.add_node(&name, op, inputs, vec![Some(p.y)])?;
    }
    remove_unused(ed, &dqs);
    Ok(())
}

/// Removes the (Dequantize) nodes among `nodes` whose output nothing reads any more.
pub(super) fn remove_unused(ed: &mut Editor, nodes: &[Option<NodeId>]) {
    for &n in nodes.iter().flatten() {
        let out = ed.node(n).outputs.first().copied().flatten();
        if let Some(v) = out {
            if !ed.is_removed(n) && ed.consumers(v).is_empty() && !ed.is_graph_output(v) {
                ed.remove_node(n);
            }
        }
    }
}

/// `y = Gemm(x [B, K], w)` as `Reshape(x, [B, K, 1, 1]) -> QLinearConv(w [N, K, 1, 1]) ->
/// Reshape([B, N])`; `inputs` are QLinearConv's with the original weights in slot 3.
fn gemm_as_conv(
    ed: &mut Editor,
    name: &str,
    op: Box<dyn Op>,
    mut inputs: Vec<Option<ValueId>>,
    trans_b: bool,
    y: ValueId,
    opset: i64,
) -> Result<()> {
    let (x, w) = (inputs[0].ok_or(bad())?, inputs[3].ok_or(bad())?);
    let wt = ed.constant(w).ok_or(bad())?.clone();
    let (&[r, c], Some([b, k])) = (wt.shape(), ed.shape(x).as_deref().map(|s| [s[0], s[1]])) else {
        return Err(bad());
    };
    let (n, kw) = if trans_b { (r, c) } else { (c, r) };
    if kw != k {
        return Err(bad());
    }
    let bytes = wt.as_bytes();
    let nk: Vec<u8> = if trans_b {
        bytes.to_vec()
    } else {
        (0..n * k).map(|i| bytes[(i % k) * n + i / k]).collect()
    };
    let w4 = if wt.dtype() == DType::I8 {
        let v: Vec<i8> = nk.iter().map(|&b| b as i8).collect();
        Tensor::from_vec(vec![n, k, 1, 1], v)?
    } else {
        Tensor::from_vec(vec![n, k, 1, 1], nk)?
    };
    inputs[3] = Some(ed.add_initializer(&format!("{name}_w4"), w4));
    let reshape = |ed: &mut Editor, what: &str, from: ValueId, shape: Vec<i64>, to: ValueId| {
        let dims = ed.add_initializer(
            &format!("{name}_{what}_shape"),
            Tensor::from_vec(vec![shape.len()], shape)?,
        );
        let mut attrs = Attrs::new(Default::default());
        let mut ctx = BuildCtx {
            opset,
            attrs: &mut attrs,
            num_inputs: 2,
            num_outputs: 1,
        };
        let op = Registry::global().build("", "Reshape", &mut ctx)?;
        ed.add_node(
            &format!("{name}_{what}"),
            op,
            vec![Some(from), Some(dims)],
            vec![Some(to)],
        )?;
        Ok::<_, crate::Error>(())
    };
    let (xd, yd) = (ed.dtype(x).ok_or(bad())?, ed.dtype(y).ok_or(bad())?);
    let x4 = ed.add_value(&format!("{name}_x4"), ValueType::known(xd, &[b, k, 1, 1]));
    let y4 = ed.add_value(&format!("{name}_y4"), ValueType::known(yd, &[b, n, 1, 1]));
    reshape(ed, "x4", x, vec![b as i64, k as i64, 1, 1], x4)?;
    inputs[0] = Some(x4);
    ed.add_node(name, op, inputs, vec![Some(y4)])?;
    reshape(ed, "y2", y4, vec![b as i64, n as i64], y)
}

fn bad() -> crate::Error {
    crate::Error::Other("int8 QDQ rewrite: Gemm operands changed while fusing".into())
}
