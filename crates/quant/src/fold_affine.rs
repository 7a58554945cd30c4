//! Graph clean-up before quantizing, so Q/DQ pairs go where an int8 runtime computes, not
//! between the pieces of one exported layer (exact rewrites, outputs unchanged up to f32
//! rounding):
//! - [`fold_output_affine`]: `Conv | ConvTranspose -> Mul/Add/Sub/Div by a per-channel constant`
//!   (PaddlePaddle's "learnable affine" blocks, bias Adds) folds into the weights and bias.
//! - [`fuse_hard_swish`]: `x * Clip(x + 3, 0, 6) / 6` becomes one HardSwish (opset 14) or
//!   `x * HardSigmoid(x)` (the model's opset kept), so it is quantized once, after the whole
//!   activation.
//! - [`fold_input_scale`]: `Mul(x, a) [-> Add(b)]` with scalars read only by convolutions moves
//!   the scale into their weights (zero padding stays zero) and, when no reader pads, the
//!   offset into their bias.

use crate::build::{ensure_opset, make_op};
use crate::Result;
use edgeopt_ir::{Attribute, Model, NodeId, ValueId};
use edgeopt_passes::rewrite::Editor;
use edgeopt_tensor::{DType, Tensor};

/// What [`fold_affine`] rewrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FoldReport {
    pub output_affine: usize,
    pub hard_swish: usize,
    pub input_scale: usize,
}

/// Runs the three rewrites (to a fixed point for the affine folds) and re-infers types.
pub fn fold_affine(model: &mut Model) -> Result<FoldReport> {
    let mut r = FoldReport {
        hard_swish: fuse_hard_swish(model)?,
        ..Default::default()
    };
    loop {
        let a = fold_output_affine(model)?;
        let b = fold_input_scale(model)?;
        r.output_affine += a;
        r.input_scale += b;
        if a + b == 0 {
            break;
        }
    }
    crate::build::finish(model)?;
    Ok(r)
}

fn input(ed: &Editor, n: NodeId, i: usize) -> Option<ValueId> {
    ed.node(n).inputs.get(i).copied().flatten()
}

fn is_std(ed: &Editor, n: NodeId, op: &str) -> bool {
    let node = ed.node(n);
    node.op_type() == op && node.op.domain().is_empty()
}

/// `(variable input, constant)` of a binary node with exactly one constant input, and whether
/// the constant is the first operand.
fn split_const<'a>(ed: &'a Editor, n: NodeId) -> Option<(ValueId, &'a Tensor, bool)> {
    let (a, b) = (input(ed, n, 0)?, input(ed, n, 1)?);
    match (ed.constant(a), ed.constant(b)) {
        (None, Some(t)) => Some((a, t, false)),
        (Some(t), None) => Some((b, t, true)),
        _ => None,
    }
}

/// A constant broadcast against `[N, C, spatial...]` (rank `rank`) that varies at most along
/// the channel axis: its `c` per-channel values.
fn per_channel(t: &Tensor, c: usize, rank: usize) -> Option<Vec<f64>> {
    if !t.dtype().is_float() || t.rank() > rank {
        return None;
    }
    let v = t.to_f64_vec().ok()?;
    if v.len() == 1 {
        return Some(vec![v[0]; c]);
    }
    // Right-aligned: the channel axis is `rank - 1 - 1` from the left of the output.
    let shape = t.shape();
    let ch = (shape.len() + 1).checked_sub(rank)?;
    let ok = v.len() == c
        && shape
            .iter()
            .enumerate()
            .all(|(i, &d)| if i == ch { d == c } else { d == 1 });
    ok.then_some(v)
}

/// Output channel of each weight element of a Conv `[M, C/g, k...]` or group-1 ConvTranspose
/// `[C, M, k...]`, and the channel count.
/// Maps a weight element index to its output channel.
type ChannelOf = Box<dyn Fn(usize) -> usize>;

fn out_channel_of(ed: &Editor, n: NodeId, w: &Tensor) -> Option<(usize, ChannelOf)> {
    let s = w.shape().to_vec();
    if s.len() < 3 {
        return None;
    }
    let kk: usize = s[2..].iter().product();
    if is_std(ed, n, "Conv") {
        let per = s[1] * kk;
        let f: Box<dyn Fn(usize) -> usize> = Box::new(move |i| i / per);
        return Some((s[0], f));
    }
    let group = ed
        .node(n)
        .op
        .attributes()
        .into_iter()
        .find_map(|(k, a)| match (k.as_str(), a) {
            ("group", Attribute::Int(g)) => Some(g),
            _ => None,
        })
        .unwrap_or(1);
    let m = s[1];
    (is_std(ed, n, "ConvTranspose") && group == 1).then(|| {
        let f: Box<dyn Fn(usize) -> usize> = Box::new(move |i| (i / kk) % m);
        (m, f)
    })
}

fn f32_tensor(shape: &[usize], v: Vec<f64>) -> Option<Tensor> {
    Tensor::from_vec(shape.to_vec(), v.into_iter().map(|x| x as f32).collect()).ok()
}

/// One output-side fold found in the graph.
struct OutputFold {
    conv: NodeId,
    op: NodeId,
    scale: Vec<f64>,
    shift: Vec<f64>,
}

fn find_output_fold(ed: &Editor, conv: NodeId) -> Option<OutputFold> {
    if !(is_std(ed, conv, "Conv") || is_std(ed, conv, "ConvTranspose")) || !ed.is_live(conv) {
        return None;
    }
    let y = ed.node(conv).outputs.first().copied().flatten()?;
    if ed.dtype(y) != Some(DType::F32) {
        return None;
    }
    let w = ed.constant(input(ed, conv, 1)?)?;
    if w.dtype() != DType::F32 {
        return None;
    }
    let (m, _) = out_channel_of(ed, conv, w)?;
    if let Some(b) = input(ed, conv, 2) {
        let b = ed.constant(b)?;
        if b.dtype() != DType::F32 || b.len() != m {
            return None;
        }
    }
    let op = ed.sole_consumer(y).filter(|&n| ed.is_live(n))?;
    let rank = ed.shape(y).map(|s| s.len()).unwrap_or(w.rank());
    let (x, t, const_first) = split_const(ed, op)?;
    if x != y || ed.node(op).outputs.len() != 1 {
        return None;
    }
    let v = per_channel(t, m, rank)?;
    let (scale, shift) = match ed.node(op).op_type() {
        "Mul" => (v, vec![0.0; m]),
        "Add" => (vec![1.0; m], v),
        "Sub" if const_first => (vec![-1.0; m], v),
        "Sub" => (vec![1.0; m], v.iter().map(|x| -x).collect()),
        "Div" if !const_first && v.iter().all(|&x| x != 0.0 && x.is_finite()) => {
            (v.iter().map(|x| 1.0 / x).collect(), vec![0.0; m])
        }
        _ => return None,
    };
    if !ed.node(op).op.domain().is_empty() || !ed.node(op).op.attributes().is_empty() {
        return None;
    }
    Some(OutputFold {
        conv,
        op,
        scale,
        shift,
    })
}

/// Folds per-channel constant Mul/Add/Sub/Div after convolutions into their weights and bias.
pub fn fold_output_affine(model: &mut Model) -> Result<usize> {
    let mut ed = Editor::new(&mut model.graph);
    let mut done = 0;
    let ids: Vec<NodeId> = ed.node_ids().collect();
    for n in ids {
        let Some(f) = find_output_fold(&ed, n) else {
            continue;
        };
        let node = ed.node(f.conv);
        let w_id = input(&ed, f.conv, 1).expect("checked");
        let w = ed.constant(w_id).expect("checked").clone();
        let (m, chan) = out_channel_of(&ed, f.conv, &w).expect("checked");
        let wv = w.to_f64_vec()?;
        let scaled: Vec<f64> = wv
            .iter()
            .enumerate()
            .map(|(i, x)| x * f.scale[chan(i)])
            .collect();
        let bias = match input(&ed, f.conv, 2) {
            Some(b) => ed.constant(b).expect("checked").to_f64_vec()?,
            None => vec![0.0; m],
        };
        let bias: Vec<f64> = (0..m).map(|c| bias[c] * f.scale[c] + f.shift[c]).collect();
        let name = node.name.clone();
        let mut inputs = node.inputs.clone();
        let (Some(wt), Some(bt)) = (f32_tensor(w.shape(), scaled), f32_tensor(&[m], bias)) else {
            continue;
        };
        inputs[1] = Some(ed.add_initializer(&format!("{name}_w_folded"), wt));
        let b = ed.add_initializer(&format!("{name}_b_folded"), bt);
        if inputs.len() < 3 {
            inputs.resize(3, None);
        }
        inputs[2] = Some(b);
        let out = ed.node(f.op).outputs[0].expect("checked");
        ed.remove_node(f.op);
        ed.set_inputs(f.conv, inputs);
        ed.set_output(f.conv, 0, out)?;
        done += 1;
    }
    ed.commit()?;
    Ok(done)
}

/// `(x, [add, clip, mul, div])` when `div` ends `x * Clip(x + 3, 0, 6) / 6`.
fn match_hard_swish(ed: &Editor, div: NodeId) -> Option<(ValueId, [NodeId; 4])> {
    let is_div = is_std(ed, div, "Div");
    let is_mul6 = is_std(ed, div, "Mul");
    if !(is_div || is_mul6) {
        return None;
    }
    let (m_out, t, first) = split_const(ed, div)?;
    let k = (t.len() == 1).then(|| t.to_f64_vec().ok())??[0];
    let ok = if is_div {
        !first && k == 6.0
    } else {
        (k - 1.0 / 6.0).abs() < 1e-6
    };
    let mul = ed.producer(m_out).filter(|&n| is_std(ed, n, "Mul"))?;
    if !ok || ed.sole_consumer(m_out) != Some(div) {
        return None;
    }
    let (a, b) = (input(ed, mul, 0)?, input(ed, mul, 1)?);
    for (x, c_out) in [(a, b), (b, a)] {
        let Some(clip) = ed.producer(c_out).filter(|&n| is_std(ed, n, "Clip")) else {
            continue;
        };
        let bound = |i| input(ed, clip, i).and_then(|v| ed.scalar(v));
        if bound(1) != Some(0.0) || bound(2) != Some(6.0) || ed.sole_consumer(c_out) != Some(mul) {
            continue;
        }
        let Some(a_out) = input(ed, clip, 0) else {
            continue;
        };
        let Some(add) = ed.producer(a_out).filter(|&n| is_std(ed, n, "Add")) else {
            continue;
        };
        let Some((ax, t3, _)) = split_const(ed, add) else {
            continue;
        };
        let three = t3.len() == 1 && t3.to_f64_vec().ok().is_some_and(|v| v[0] == 3.0);
        if ax == x && three && ed.sole_consumer(a_out) == Some(clip) {
            let all = [add, clip, mul, div];
            return all.iter().all(|&n| ed.is_live(n)).then_some((x, all));
        }
    }
    None
}

/// Replaces decomposed HardSwish patterns; raises the opset to 14 for the HardSwish op when
/// the model converts, else writes `x * HardSigmoid(x)`.
pub fn fuse_hard_swish(model: &mut Model) -> Result<usize> {
    let count = {
        let ed = Editor::new(&mut model.graph);
        ed.node_ids()
            .filter(|&n| match_hard_swish(&ed, n).is_some())
            .count()
    };
    if count == 0 {
        return Ok(0);
    }
    let native = model.opset() >= 14 || ensure_opset(model, 14).is_ok();
    let opset = model.opset();
    let mut ed = Editor::new(&mut model.graph);
    let mut done = 0;
    let ids: Vec<NodeId> = ed.node_ids().collect();
    for n in ids {
        let Some((x, nodes)) = match_hard_swish(&ed, n) else {
            continue;
        };
        let y = ed.node(n).outputs[0].expect("matched");
        let name = ed.node(nodes[2]).name.clone();
        nodes.iter().for_each(|&k| ed.remove_node(k));
        if native {
            let op = make_op("HardSwish", vec![], 1, opset)?;
            ed.add_node(
                &format!("{name}_hardswish"),
                op,
                vec![Some(x)],
                vec![Some(y)],
            )?;
        } else {
            let attrs = vec![
                ("alpha", Attribute::Float(1.0 / 6.0)),
                ("beta", Attribute::Float(0.5)),
            ];
            let ty = ed.value_type(x).clone();
            let hs = ed.add_value(&format!("{name}_hardsigmoid"), ty);
            let op = make_op("HardSigmoid", attrs, 1, opset)?;
            ed.add_node(
                &format!("{name}_hardsigmoid"),
                op,
                vec![Some(x)],
                vec![Some(hs)],
            )?;
            let op = make_op("Mul", vec![], 2, opset)?;
            ed.add_node(&name, op, vec![Some(x), Some(hs)], vec![Some(y)])?;
        }
        done += 1;
    }
    ed.commit()?;
    Ok(done)
}

/// Whether a Conv reads its input without padding (explicit zeros or VALID).
fn unpadded(ed: &Editor, conv: NodeId) -> bool {
    ed.node(conv)
        .op
        .attributes()
        .into_iter()
        .all(|(k, a)| match (k.as_str(), a) {
            ("pads", Attribute::Ints(p)) => p.iter().all(|&x| x == 0),
            ("auto_pad", Attribute::String(s)) => s == b"NOTSET" || s == b"VALID",
            _ => true,
        })
}

/// `Mul(x, a) [-> Add(b)]` whose result only Convs read.
struct InputFold {
    mul: NodeId,
    x: ValueId,
    scale: f64,
    add: Option<(NodeId, f64)>,
    convs: Vec<NodeId>,
}

fn scalar_of(ed: &Editor, n: NodeId, op: &str) -> Option<(ValueId, f64)> {
    if !is_std(ed, n, op) || !ed.is_live(n) {
        return None;
    }
    let (x, t, _) = split_const(ed, n)?;
    let v = (t.len() == 1 && t.dtype() == DType::F32).then(|| t.to_f64_vec().ok())??;
    (ed.dtype(x) == Some(DType::F32)).then_some((x, v[0]))
}

fn find_input_fold(ed: &Editor, mul: NodeId) -> Option<InputFold> {
    let (x, scale) = scalar_of(ed, mul, "Mul")?;
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let mut end = ed.node(mul).outputs.first().copied().flatten()?;
    let mut add = None;
    if let Some(n) = ed.sole_consumer(end) {
        if let Some((_, b)) = scalar_of(ed, n, "Add") {
            add = Some((n, b));
            end = ed.node(n).outputs.first().copied().flatten()?;
        }
    }
    let convs = ed.consumers(end);
    let ok = !convs.is_empty()
        && !ed.is_graph_output(end)
        && !ed.is_pinned(end)
        && convs.iter().all(|&c| {
            is_std(ed, c, "Conv")
                && ed.is_live(c)
                && input(ed, c, 0) == Some(end)
                && input(ed, c, 1).is_some_and(|w| {
                    ed.constant(w).is_some_and(|t| t.dtype() == DType::F32)
                        && ed.consumers(w).len() == 1
                })
                && input(ed, c, 2).is_none_or(|b| ed.constant(b).is_some())
        });
    ok.then_some(InputFold {
        mul,
        x,
        scale,
        add,
        convs,
    })
}

/// Moves scalar `Mul [-> Add]` chains in front of convolutions into their weights: the scale
/// always; the offset into the bias when no reader pads (else it stays, as `Add(b / a)`).
pub fn fold_input_scale(model: &mut Model) -> Result<usize> {
    let mut ed = Editor::new(&mut model.graph);
    let mut done = 0;
    let ids: Vec<NodeId> = ed.node_ids().collect();
    for n in ids {
        let Some(f) = find_input_fold(&ed, n) else {
            continue;
        };
        let shift_in_bias = f.add.is_some() && f.convs.iter().all(|&c| unpadded(&ed, c));
        for &c in &f.convs {
            let w = ed
                .constant(input(&ed, c, 1).expect("checked"))
                .expect("checked");
            let shape = w.shape().to_vec();
            let m = shape[0];
            let wv: Vec<f64> = w.to_f64_vec()?.iter().map(|v| v * f.scale).collect();
            let per = wv.len() / m.max(1);
            let mut bias = match input(&ed, c, 2) {
                Some(b) => ed.constant(b).expect("checked").to_f64_vec()?,
                None => vec![0.0; m],
            };
            if bias.len() != m {
                continue;
            }
            if let (true, Some((_, b))) = (shift_in_bias, f.add) {
                // conv(a x + b, W) = conv(x, a W) + b * sum(W).
                for (o, bo) in bias.iter_mut().enumerate() {
                    *bo += b / f.scale * wv[o * per..(o + 1) * per].iter().sum::<f64>();
                }
            }
            let name = ed.node(c).name.clone();
            let (Some(wt), Some(bt)) = (f32_tensor(&shape, wv), f32_tensor(&[m], bias)) else {
                continue;
            };
            let mut inputs = ed.node(c).inputs.clone();
            inputs.resize(inputs.len().max(3), None);
            inputs[1] = Some(ed.add_initializer(&format!("{name}_w_scaled"), wt));
            inputs[2] = Some(ed.add_initializer(&format!("{name}_b_scaled"), bt));
            ed.set_inputs(c, inputs);
        }
        match f.add {
            Some((add, _)) if shift_in_bias => {
                ed.remove_node(add);
                ed.remove_node(f.mul);
                for &c in &f.convs {
                    let mut inputs = ed.node(c).inputs.clone();
                    inputs[0] = Some(f.x);
                    ed.set_inputs(c, inputs);
                }
            }
            Some((add, b)) => {
                // a x + b = a (x + b / a): the Add stays (scale folded), the Mul goes.
                ed.remove_node(f.mul);
                let t = Tensor::from_vec(vec![], vec![(b / f.scale) as f32])?;
                let k = ed.add_initializer(&format!("{}_offset", ed.node(add).name), t);
                ed.set_inputs(add, vec![Some(f.x), Some(k)]);
            }
            None => {
                ed.remove_node(f.mul);
                for &c in &f.convs {
                    let mut inputs = ed.node(c).inputs.clone();
                    inputs[0] = Some(f.x);
                    ed.set_inputs(c, inputs);
                }
            }
        }
        done += 1;
    }
    ed.commit()?;
    Ok(done)
}
