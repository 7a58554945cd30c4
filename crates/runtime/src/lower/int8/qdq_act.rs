//! The activation between a quantized op and its QuantizeLinear: Relu or Clip with constant
//! bounds, turned into bounds on the quantized output. Quantization `Q` is monotone, so
//! `Q(clip(v, a, b)) = clamp(Q(v), Q(a), Q(b))` and `Q(relu(v)) = max(Q(v), Q(0) = zp)`,
//! exactly, whatever the zero point.

use edgeopt_ir::ops::math::clip::Clip;
use edgeopt_ir::{NodeId, ValueId};
use edgeopt_passes::rewrite::Editor;
use edgeopt_tensor::DType;

/// A fused activation: its node and the quantized bounds of the output.
pub(super) struct Act {
    pub node: NodeId,
    pub bounds: (i32, i32),
}

/// The activation producing `src` (read only by the QuantizeLinear) and the value it reads,
/// or `Some((None, src))` when `src` comes from something else; `None` when the activation
/// cannot be fused (bounds not constant, or its input read elsewhere).
pub(super) fn activation(
    ed: &Editor,
    src: ValueId,
    y_scale: f32,
    y_zp: i32,
    y_dtype: DType,
) -> Option<(Option<Act>, ValueId)> {
    let Some(n) = ed.producer(src) else {
        return Some((None, src));
    };
    let node = ed.node(n);
    if !node.op.domain().is_empty() || !matches!(node.op_type(), "Relu" | "Clip") {
        return Some((None, src));
    }
    let inner = (*node.inputs.first()?)?;
    if ed.sole_consumer(inner) != Some(n) || ed.is_graph_output(inner) {
        return None;
    }
    let range = match y_dtype {
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        _ => return None,
    };
    let (lo, hi) = if node.op_type() == "Relu" {
        (0.0, f32::INFINITY)
    } else {
        let clip = node.op.downcast_ref::<Clip>()?;
        let bound = |slot: usize, attr: Option<f32>, none: f32| -> Option<f32> {
            match node.inputs.get(slot).copied().flatten() {
                Some(v) => ed.scalar(v).map(|b| b as f32),
                None => Some(attr.unwrap_or(none)),
            }
        };
        (
            bound(1, clip.min, f32::NEG_INFINITY)?,
            bound(2, clip.max, f32::INFINITY)?,
        )
    };
    let q = |b: f32| -> Option<i32> {
        let v = b / y_scale;
        if v.is_nan() {
            return None;
        }
        let r = v.round_ties_even() as f64 + y_zp as f64;
        Some(r.clamp(range.0 as f64, range.1 as f64) as i32)
    };
    Some((
        Some(Act {
            node: n,
            bounds: (q(lo)?, q(hi)?),
        }),
        inner,
    ))
}
