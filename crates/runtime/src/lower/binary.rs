//! Add, Sub, Mul, Div on f32 with numpy broadcasting. The broadcast is resolved at lowering
//! into at most a few collapsed dims; the inner loop is contiguous or scalar-broadcast.

use super::LowerCtx;
use crate::{Io, Kernel, Result};
use edgeopt_kernels::elementwise::split;

/// Collapsed dims above which the generic odometer is used.
const MAX_DIMS: usize = 8;

#[derive(Clone, Copy)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// One operand of a row: its data (None: it lives in the output, in place) and stride.
#[derive(Clone, Copy)]
struct Arg<'a> {
    data: Option<&'a [f32]>,
    stride: usize,
}

struct Binary {
    op: BinOp,
    /// Collapsed output dims (outermost first) and each operand's strides, in elements.
    dims: Vec<usize>,
    sa: Vec<usize>,
    sb: Vec<usize>,
    inplace: Option<usize>,
}

#[inline(always)]
fn row<F: Fn(f32, f32) -> f32>(f: F, y: &mut [f32], a: Arg, oa: usize, b: Arg, ob: usize) {
    let n = y.len();
    match (a.data, a.stride, b.data, b.stride) {
        (None, _, Some(b), 1) => {
            let b = &b[ob..ob + n];
            y.iter_mut().zip(b).for_each(|(y, &b)| *y = f(*y, b));
        }
        (None, _, Some(b), 0) => {
            let b = b[ob];
            y.iter_mut().for_each(|y| *y = f(*y, b));
        }
        (Some(a), 1, None, _) => {
            let a = &a[oa..oa + n];
            y.iter_mut().zip(a).for_each(|(y, &a)| *y = f(a, *y));
        }
        (Some(a), 0, None, _) => {
            let a = a[oa];
            y.iter_mut().for_each(|y| *y = f(a, *y));
        }
        (Some(a), 1, Some(b), 1) => {
            let (a, b) = (&a[oa..oa + n], &b[ob..ob + n]);
            for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
                *y = f(a, b);
            }
        }
        (Some(a), 1, Some(b), 0) => {
            let (a, b) = (&a[oa..oa + n], b[ob]);
            y.iter_mut().zip(a).for_each(|(y, &a)| *y = f(a, b));
        }
        (Some(a), 0, Some(b), 1) => {
            let (a, b) = (a[oa], &b[ob..ob + n]);
            y.iter_mut().zip(b).for_each(|(y, &b)| *y = f(a, b));
        }
        (Some(a), sa, Some(b), sb) => {
            for (i, y) in y.iter_mut().enumerate() {
                *y = f(a[oa + i * sa], b[ob + i * sb]);
            }
        }
        // Both operands in place never happens (the plan gives the output one input's buffer).
        _ => {}
    }
}

impl Binary {
    /// Splits the output across threads: whole rows of the collapsed shape (or, for a
    /// single row, vector-aligned runs of it); each element is computed by one thread.
    fn go<F: Fn(f32, f32) -> f32 + Copy + Sync>(
        &self,
        f: F,
        y: &mut [f32],
        a: Arg,
        b: Arg,
        threads: usize,
    ) {
        let r = self.dims.len();
        let inner = self.dims[r - 1];
        let a = Arg {
            stride: self.sa[r - 1],
            ..a
        };
        let b = Arg {
            stride: self.sb[r - 1],
            ..b
        };
        if inner == 0 {
            return;
        }
        let work = y.len();
        if r == 1 {
            split::for_chunks_mut(y, 1, 16, work, threads, |start, y| {
                let (oa, ob) = (start * a.stride, start * b.stride);
                row(f, y, a, oa, b, ob)
            });
        } else {
            split::for_chunks_mut(y, inner, 1, work, threads, |first, y| {
                self.rows(f, y, a, b, first)
            });
        }
    }

    /// Rows `first..` of the collapsed shape into `y` (whole rows).
    fn rows<F: Fn(f32, f32) -> f32 + Copy>(
        &self,
        f: F,
        y: &mut [f32],
        a: Arg,
        b: Arg,
        first: usize,
    ) {
        let r = self.dims.len();
        let inner = self.dims[r - 1];
        let mut idx = [0usize; MAX_DIMS];
        let (mut oa, mut ob) = (0usize, 0usize);
        let mut rest = first;
        for d in (0..r - 1).rev() {
            idx[d] = rest % self.dims[d];
            rest /= self.dims[d];
            oa += idx[d] * self.sa[d];
            ob += idx[d] * self.sb[d];
        }
        for y in y.chunks_exact_mut(inner) {
            row(f, y, a, oa, b, ob);
            // Odometer over the outer dims.
            let mut d = r - 1;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                oa += self.sa[d];
                ob += self.sb[d];
                if idx[d] < self.dims[d] {
                    break;
                }
                oa -= self.sa[d] * self.dims[d];
                ob -= self.sb[d] * self.dims[d];
                idx[d] = 0;
            }
        }
    }
}

impl Kernel for Binary {
    fn name(&self) -> &'static str {
        "binary"
    }

    fn run(&mut self, io: &mut Io) -> Result<()> {
        let arg = |i: usize| Arg {
            data: (self.inplace != Some(i)).then(|| io.input(i)),
            stride: 0,
        };
        let (a, b) = (arg(0), arg(1));
        let threads = io.threads;
        let y = io.output(0);
        match self.op {
            BinOp::Add => self.go(|a, b| a + b, y, a, b, threads),
            BinOp::Sub => self.go(|a, b| a - b, y, a, b, threads),
            BinOp::Mul => self.go(|a, b| a * b, y, a, b, threads),
            BinOp::Div => self.go(|a, b| a / b, y, a, b, threads),
        }
        Ok(())
    }
}

/// Per-dim strides of `shape` broadcast to `out` (right-aligned), 0 on broadcast dims.
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Option<Vec<usize>> {
    let off = out.len().checked_sub(shape.len())?;
    let mut strides = vec![0; out.len()];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        let d = shape[i];
        if d != out[off + i] && d != 1 {
            return None;
        }
        strides[off + i] = if d == 1 { 0 } else { s };
        s *= d;
    }
    Some(strides)
}

/// Merges adjacent dims where both operands stay contiguous-or-broadcast together.
fn collapse(out: &[usize], sa: &[usize], sb: &[usize]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut d, mut a, mut b) = (vec![1usize], vec![0usize], vec![0usize]);
    for i in 0..out.len() {
        if out[i] == 1 {
            continue;
        }
        let k = d.len() - 1;
        let merge = d[k] == 1 || (a[k] == sa[i] * out[i] && b[k] == sb[i] * out[i]);
        if merge && d[k] != 1 {
            d[k] *= out[i];
            a[k] = sa[i];
            b[k] = sb[i];
        } else if d[k] == 1 {
            d[k] = out[i];
            a[k] = sa[i];
            b[k] = sb[i];
        } else {
            d.push(out[i]);
            a.push(sa[i]);
            b.push(sb[i]);
        }
    }
    (d, a, b)
}

pub fn lower(ctx: &LowerCtx) -> Result<Option<Box<dyn Kernel>>> {
    let (Some(a), Some(b), Some(y)) = (ctx.input(0), ctx.input(1), ctx.output(0)) else {
        return Ok(None);
    };
    if !ctx.all_f32() || ctx.node.inputs.len() != 2 || ctx.attr_int("broadcast", 0) != 0 {
        return Ok(None);
    }
    let op = match ctx.op().op_type() {
        "Add" => BinOp::Add,
        "Sub" => BinOp::Sub,
        "Mul" => BinOp::Mul,
        "Div" => BinOp::Div,
        _ => return Ok(None),
    };
    let (Some(sa), Some(sb)) = (
        broadcast_strides(&a.shape, &y.shape),
        broadcast_strides(&b.shape, &y.shape),
    ) else {
        return Ok(None);
    };
    let (dims, sa, sb) = collapse(&y.shape, &sa, &sb);
    if dims.len() > MAX_DIMS {
        return Ok(None);
    }
    Ok(Some(Box::new(Binary {
        op,
        dims,
        sa,
        sb,
        inplace: ctx.inplace,
    })))
}
