//! The opset 8 form of Scan: every input and output has a leading batch axis, each batch row
//! is scanned on its own (along axis 1 of the whole input) for `sequence_lens[row]` steps, and
//! scan outputs of shorter rows are zero padded to the longest sequence.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Scan.html#scan-8>

use crate::op::{EvalCtx, InferCtx, Inputs};
use crate::ops::control::common::body_output_types;
use crate::ops::control::scan::Scan;
use crate::ops::sequence::common::{concat, slice_axis, squeeze, stack};
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{Dim, Tensor};

/// Drops the first `k` dims of a tensor type, returning them too.
fn split_dims(t: &TensorType, k: usize) -> (Vec<Dim>, ValueType) {
    match &t.shape {
        Some(s) if s.len() >= k => (
            s[..k].to_vec(),
            ValueType::Tensor(TensorType {
                dtype: t.dtype,
                shape: Some(s[k..].to_vec()),
            }),
        ),
        _ => (
            vec![Dim::Unknown; k],
            ValueType::Tensor(TensorType {
                dtype: t.dtype,
                shape: None,
            }),
        ),
    }
}

/// Prepends `dims` to a tensor type's shape.
fn with_dims(dims: &[Dim], t: &ValueType) -> ValueType {
    let t = t.as_tensor().cloned().unwrap_or_default();
    let shape = t.shape.map(|s| [dims.to_vec(), s].concat());
    ValueType::Tensor(TensorType {
        dtype: t.dtype,
        shape,
    })
}

pub fn infer(op: &Scan, ctx: &InferCtx) -> Vec<ValueType> {
    let n = op.num_states();
    let mut ins = Vec::new();
    let (mut batch, mut steps) = (Dim::Unknown, Dim::Unknown);
    for i in 0..n {
        let (d, t) = split_dims(&ctx.tensor(1 + i), 1);
        if d[0] != Dim::Unknown {
            batch = d[0].clone();
        }
        ins.push(t);
    }
    for j in 0..op.num_scan_inputs {
        let (d, t) = split_dims(&ctx.tensor(1 + n + j), 2);
        if j == 0 {
            batch = if d[0] != Dim::Unknown {
                d[0].clone()
            } else {
                batch
            };
            steps = d[1].clone();
        }
        ins.push(t);
    }
    let outs = body_output_types(&op.body, &ins, ctx.opset);
    let mut res: Vec<ValueType> = outs[..n]
        .iter()
        .map(|t| with_dims(std::slice::from_ref(&batch), t))
        .collect();
    res.extend(
        outs[n..]
            .iter()
            .map(|t| with_dims(&[batch.clone(), steps.clone()], t)),
    );
    res
}

/// Row `b` of `t` without its batch axis.
fn row(t: &Tensor, b: usize) -> Result<Tensor> {
    squeeze(&slice_axis(t, 0, b, 1)?, 0)
}

pub fn eval(op: &Scan, ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
    let n = op.num_states();
    let states: Vec<&Tensor> = (0..n)
        .map(|i| inputs.tensor(1 + i))
        .collect::<Result<_>>()?;
    let scans: Vec<&Tensor> = (0..op.num_scan_inputs)
        .map(|j| inputs.tensor(1 + n + j))
        .collect::<Result<_>>()?;
    if let Some(x) = scans.iter().find(|x| x.rank() < 2) {
        bail!(
            "Scan: opset 8 scan inputs need batch and sequence axes, got shape {:?}",
            x.shape()
        );
    }
    let (batch, seq) = (scans[0].shape()[0], scans[0].shape()[1]);
    if let Some(x) = scans
        .iter()
        .chain(&states)
        .find(|x| x.rank() == 0 || x.shape()[0] != batch)
    {
        bail!(
            "Scan: every input must have batch size {batch}, got shape {:?}",
            x.shape()
        );
    }
    if let Some(x) = scans.iter().find(|x| x.shape()[1] != seq) {
        bail!(
            "Scan: scan inputs disagree on the sequence length: {:?} vs {:?}",
            scans[0].shape(),
            x.shape()
        );
    }
    let lens: Vec<usize> = match inputs.opt_tensor(0)? {
        None => vec![seq; batch],
        Some(l) => {
            let v = l.to_i64_vec()?;
            if v.len() != batch || v.iter().any(|&x| x < 0 || x as usize > seq) {
                bail!("Scan: sequence_lens {v:?} must hold {batch} lengths in [0, {seq}]");
            }
            v.into_iter().map(|x| x as usize).collect()
        }
    };
    let k = op.num_scan_outputs();
    let mut final_states: Vec<Vec<Tensor>> = vec![Vec::with_capacity(batch); n];
    let mut rows: Vec<Vec<Vec<Tensor>>> = vec![Vec::with_capacity(batch); k];
    for (b, &len) in lens.iter().enumerate() {
        let st: Vec<Value> = states
            .iter()
            .map(|s| row(s, b).map(Value::Tensor))
            .collect::<Result<_>>()?;
        let xs: Vec<Tensor> = scans.iter().map(|x| row(x, b)).collect::<Result<_>>()?;
        let refs: Vec<&Tensor> = xs.iter().collect();
        let (st, outs) = op.run_rows(ctx, st, &refs, &vec![0; xs.len()], len)?;
        for (slot, v) in final_states.iter_mut().zip(st) {
            match v {
                Value::Tensor(t) => slot.push(t),
                v => bail!("Scan: states must be tensors, got a {}", v.kind()),
            }
        }
        for (slot, ts) in rows.iter_mut().zip(outs) {
            slot.push(ts);
        }
    }
    let mut res: Vec<Value> = Vec::with_capacity(n + k);
    for ts in final_states {
        res.push(Value::Tensor(stack(&ts, 0)?));
    }
    for per_row in rows {
        res.push(Value::Tensor(stack_padded(per_row, seq)?));
    }
    Ok(res)
}

/// Stacks each row's steps to `[seq, ...]` (zero padding short rows), then the rows to
/// `[batch, seq, ...]`.
fn stack_padded(per_row: Vec<Vec<Tensor>>, seq: usize) -> Result<Tensor> {
    let Some(step) = per_row.iter().flatten().next().cloned() else {
        bail!("Scan: no iteration ran, so the scan output shape is undefined");
    };
    let mut full = Vec::with_capacity(per_row.len());
    for ts in per_row {
        let pad = seq - ts.len();
        let mut parts = Vec::new();
        if !ts.is_empty() {
            parts.push(stack(&ts, 0)?);
        }
        if pad > 0 {
            parts.push(Tensor::zeros(
                step.dtype(),
                [vec![pad], step.shape().to_vec()].concat(),
            )?);
        }
        full.push(concat(&parts, 0)?);
    }
    stack(&full, 0)
}

#[cfg(test)]
mod tests {
    use crate::ops::control::scan::Scan;
    use crate::ops::sequence::common::testing::{eval_values, f32s, tensor};
    use crate::Value;
    use edgeopt_tensor::Tensor;

    fn op(directions: Option<Vec<i64>>) -> Scan {
        Scan {
            body: crate::ops::control::scan::tests::sum_body(),
            num_scan_inputs: 1,
            batched: true,
            input_axes: None,
            input_directions: directions,
            output_axes: None,
            output_directions: None,
        }
    }

    fn run(op: &Scan, lens: Option<Vec<i64>>) -> crate::Result<Vec<Value>> {
        let init = Tensor::from_vec(vec![2, 2], vec![0f32; 4]).unwrap();
        let x = Tensor::from_vec(vec![2, 3, 2], (1..=12).map(|v| v as f32).collect()).unwrap();
        let lens = lens.map(|l| Value::Tensor(Tensor::vec1(l)));
        eval_values(op, vec![lens, Some(init.into()), Some(x.into())], 2, 8)
    }

    #[test]
    fn batched_running_sums() {
        // Row 0 as in test_scan_sum: [1,2],[3,4],[5,6] -> y=[9,12]; row 1: [7,8],[9,10],[11,12].
        let out = run(&op(None), None).unwrap();
        assert_eq!(f32s(tensor(&out[0])), vec![9., 12., 27., 30.]);
        let z = tensor(&out[1]);
        assert_eq!(z.shape(), &[2, 3, 2]);
        assert_eq!(
            f32s(z),
            vec![1., 2., 4., 6., 9., 12., 7., 8., 16., 18., 27., 30.]
        );
    }

    #[test]
    fn sequence_lens_pad_and_reverse() {
        let out = run(&op(Some(vec![1])), Some(vec![2, 1])).unwrap();
        // Row 0 reversed over its first 2 steps: [3,4] then [4,6]; row 1 one step [7,8].
        assert_eq!(f32s(tensor(&out[0])), vec![4., 6., 7., 8.]);
        assert_eq!(
            f32s(tensor(&out[1])),
            vec![3., 4., 4., 6., 0., 0., 7., 8., 0., 0., 0., 0.]
        );
        assert!(run(&op(None), Some(vec![4, 1])).is_err());
    }
}
