//! Running the Scan body: the per-step loop shared by both forms of Scan, and how per-step
//! outputs are stacked.

use crate::op::EvalCtx;
use crate::ops::control::common::body_output_types;
use crate::ops::control::scan::{nth, Scan};
use crate::ops::sequence::common::{norm_axis, slice_axis, squeeze, stack};
use crate::{bail, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

impl Scan {
    /// Runs the loop for one set of states and scan inputs (one batch row in the opset 8 form),
    /// over the first `len` steps. Returns the final states and, per scan output, the
    /// per-iteration tensors in iteration order.
    pub fn run_rows(
        &self,
        ctx: &EvalCtx,
        mut states: Vec<Value>,
        scans: &[&Tensor],
        axes: &[usize],
        len: usize,
    ) -> Result<(Vec<Value>, Vec<Vec<Tensor>>)> {
        let n = self.num_states();
        let mut outs: Vec<Vec<Tensor>> = vec![Vec::with_capacity(len); self.num_scan_outputs()];
        for t in 0..len {
            let mut args = std::mem::take(&mut states);
            for (j, x) in scans.iter().enumerate() {
                let at = if nth(&self.input_directions, j) == 1 {
                    len - 1 - t
                } else {
                    t
                };
                args.push(Value::Tensor(squeeze(
                    &slice_axis(x, axes[j], at, 1)?,
                    axes[j],
                )?));
            }
            let mut res = self.run_body(ctx, args)?.into_iter();
            states = res.by_ref().take(n).collect();
            for (slot, v) in outs.iter_mut().zip(res) {
                match v {
                    Value::Tensor(t) => slot.push(t),
                    v => bail!("Scan: scan outputs must be tensors, got a {}", v.kind()),
                }
            }
        }
        Ok((states, outs))
    }

    fn run_body(&self, ctx: &EvalCtx, args: Vec<Value>) -> Result<Vec<Value>> {
        let res = ctx.run_subgraph(&self.body, args)?;
        if res.len() != self.body.outputs.len() {
            bail!(
                "Scan: the body produced {} outputs, expected {}",
                res.len(),
                self.body.outputs.len()
            );
        }
        Ok(res)
    }

    /// Stacks the per-iteration tensors of scan output `k` (opset 9+ layout).
    pub(crate) fn stack_output(&self, k: usize, mut ts: Vec<Tensor>) -> Result<Tensor> {
        if nth(&self.output_directions, k) == 1 {
            ts.reverse();
        }
        let Some(first) = ts.first() else {
            bail!("Scan: no iterations to stack")
        };
        let axis = norm_axis(nth(&self.output_axes, k), first.rank() + 1, "Scan output")?;
        stack(&ts, axis)
    }

    /// Scan outputs of a scan over zero steps: empty along the scan axis, shaped by the body's
    /// static output types for these inputs.
    pub(crate) fn empty_outputs(
        &self,
        ctx: &EvalCtx,
        states: &[Value],
        slices: Vec<ValueType>,
    ) -> Result<Vec<Tensor>> {
        let mut ins: Vec<ValueType> = states.iter().map(ValueType::of_value).collect();
        ins.extend(slices);
        let tys = body_output_types(&self.body, &ins, ctx.opset);
        let mut res = Vec::new();
        for (k, t) in tys[self.num_states()..].iter().enumerate() {
            let Some(mut shape) = t.shape().and_then(|s| edgeopt_tensor::shape::concrete(s)) else {
                bail!("Scan: zero steps, and the shape of scan output {k} is not known statically");
            };
            let axis = norm_axis(nth(&self.output_axes, k), shape.len() + 1, "Scan output")?;
            shape.insert(axis, 0);
            res.push(Tensor::zeros(
                t.dtype().unwrap_or(edgeopt_tensor::DType::F32),
                shape,
            )?);
        }
        Ok(res)
    }
}
