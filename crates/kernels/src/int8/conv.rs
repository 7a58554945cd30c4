//! Int8 2-D convolution, NCHW: a dedicated kernel for depthwise 3x3, a plain GEMM on the input
//! for pointwise (1x1, stride 1, no padding), im2col (padded with the input zero point, whose
//! difference to itself is 0) + GEMM otherwise; one GEMM per group.

use super::depthwise::{depthwise, DepthwiseWeights};
use super::error::{param_err, shape_err, QResult};
use super::implicit::Implicit;
use super::{qgemm, Int8Kernels, PackedWeights, QElem, QInput, QOutput, Requant, WeightsRef};

/// Shapes and attributes of a convolution (ONNX Conv's, 2-D).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height and width.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Vertical and horizontal stride.
    pub stride: (usize, usize),
    /// Vertical and horizontal dilation.
    pub dilation: (usize, usize),
    /// Padding: top, left, bottom, right.
    pub pads: [usize; 4],
    /// Groups (`c_in` and `c_out` are multiples).
    pub groups: usize,
}

impl ConvGeometry {
    /// Output height and width, or an error naming the geometry when it has none.
    pub fn output_hw(&self) -> QResult<(usize, usize)> {
        let bad = |what: &str| Err(shape_err("conv", format!("{what} in {self:?}")));
        let (kh, kw) = self.kernel;
        let (sh, sw) = self.stride;
        let (dh, dw) = self.dilation;
        if [kh, kw, sh, sw, dh, dw, self.groups].contains(&0) {
            return bad("a zero kernel size, stride, dilation or group count");
        }
        if !self.c_in.is_multiple_of(self.groups) || !self.c_out.is_multiple_of(self.groups) {
            return bad("channels not divisible by groups");
        }
        let span = |k: usize, d: usize| (k - 1).checked_mul(d).and_then(|v| v.checked_add(1));
        let out = |n: usize, p0: usize, p1: usize, k: usize, d: usize, s: usize| {
            let padded = n.checked_add(p0)?.checked_add(p1)?;
            let span = span(k, d)?;
            (padded >= span).then(|| (padded - span) / s + 1)
        };
        let [pt, pl, pb, pr] = self.pads;
        match (
            out(self.h, pt, pb, kh, dh, sh),
            out(self.w, pl, pr, kw, dw, sw),
        ) {
            (Some(oh), Some(ow)) => Ok((oh, ow)),
            _ => bad("a kernel larger than the padded input"),
        }
    }

    fn is_depthwise3x3(&self) -> bool {
        self.groups == self.c_in
            && self.c_out == self.c_in
            && self.kernel == (3, 3)
            && self.dilation == (1, 1)
            && self.stride.0 == self.stride.1
            && matches!(self.stride.0, 1 | 2)
    }

    fn is_pointwise(&self) -> bool {
        self.kernel == (1, 1) && self.stride == (1, 1) && self.pads == [0; 4]
    }
}

#[derive(Debug, Clone)]
enum Plan {
    Depthwise(DepthwiseWeights),
    /// One packed `c_out/g x (c_in/g * kh * kw)` matrix per group.
    Gemm(Vec<PackedWeights>),
}

/// Convolution weights packed for one table and geometry.
#[derive(Debug, Clone)]
pub struct PackedConv {
    geom: ConvGeometry,
    out_hw: (usize, usize),
    plan: Plan,
    /// Implicit-GEMM layout, for the dot-product tables' non-pointwise GEMMs.
    implicit: Option<Implicit>,
}

impl PackedConv {
    /// Packs ONNX-layout weights `[c_out, c_in / groups, kh, kw]` with one zero point or one
    /// per output channel.
    pub fn new(
        table: &Int8Kernels,
        geom: ConvGeometry,
        w: WeightsRef,
        zero_points: &[i32],
    ) -> QResult<PackedConv> {
        let out_hw = geom.output_hw()?;
        let (m, g) = (geom.c_out, geom.groups);
        let k = (geom.c_in / g)
            .checked_mul(geom.kernel.0)
            .and_then(|v| v.checked_mul(geom.kernel.1))
            .ok_or_else(|| shape_err("conv", format!("kernel too large in {geom:?}")))?;
        let len = match w {
            WeightsRef::I8(v) => v.len(),
            WeightsRef::U8(v) => v.len(),
        };
        if m.checked_mul(k) != Some(len) {
            return Err(shape_err(
                "conv",
                format!("{len} weights for {m}x{k} in {geom:?}"),
            ));
        }
        if zero_points.len() != 1 && zero_points.len() != m {
            return Err(param_err(
                "conv",
                format!("{} weight zero points for {m} channels", zero_points.len()),
            ));
        }
        let plan = if geom.is_depthwise3x3() {
            Plan::Depthwise(DepthwiseWeights::new(w, zero_points)?)
        } else {
            let mg = m / g;
            let per_group = |gi: usize| -> QResult<PackedWeights> {
                let rows = gi * mg..(gi + 1) * mg;
                let zps = if zero_points.len() == 1 {
                    zero_points
                } else {
                    &zero_points[rows.clone()]
                };
                let span = rows.start * k..rows.end * k;
                let wg = match w {
                    WeightsRef::I8(v) => WeightsRef::I8(&v[span]),
                    WeightsRef::U8(v) => WeightsRef::U8(&v[span]),
                };
                PackedWeights::new(table, wg, mg, k, zps)
            };
            Plan::Gemm((0..g).map(per_group).collect::<QResult<_>>()?)
        };
        let implicit = match plan {
            Plan::Gemm(_) if table.is_dot() && !geom.is_pointwise() => Implicit::new(&geom, out_hw),
            _ => None,
        };
        Ok(PackedConv {
            geom,
            out_hw,
            plan,
            implicit,
        })
    }

    /// The geometry it was packed for.
    pub fn geometry(&self) -> &ConvGeometry {
        &self.geom
    }

    /// Output height and width.
    pub fn output_hw(&self) -> (usize, usize) {
        self.out_hw
    }

    /// Whether it runs as an implicit GEMM (no im2col matrix).
    pub fn is_implicit(&self) -> bool {
        self.implicit.is_some()
    }
}

/// `out = requant(conv(x - x_zp, w - w_zp) + bias)` for NCHW `x` (`[batch, c_in, h, w]`) into
/// NCHW `out` (`[batch, c_out, oh, ow]`), output rows being channels for [`Requant`], on up
/// to `threads` threads (results do not depend on the count).
pub fn qconv<T: QElem>(
    table: &Int8Kernels,
    conv: &PackedConv,
    x: &[T],
    x_zero_point: i32,
    rq: &Requant,
    mut out: QOutput,
    threads: usize,
) -> QResult<()> {
    const OP: &str = "conv";
    let g = &conv.geom;
    let (oh, ow) = conv.out_hw;
    let numel = |dims: &[usize]| dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let (in_len, out_len) = (
        numel(&[g.batch, g.c_in, g.h, g.w]),
        numel(&[g.batch, g.c_out, oh, ow]),
    );
    if in_len != Some(x.len()) || out_len != Some(out.len()) {
        return Err(shape_err(
            OP,
            format!(
                "input has {} values and output {} for {g:?} (output {oh}x{ow})",
                x.len(),
                out.len()
            ),
        ));
    }
    if !(T::MIN..=T::MAX).contains(&x_zero_point) {
        return Err(param_err(
            OP,
            format!(
                "input zero point {x_zero_point} outside [{}, {}]",
                T::MIN,
                T::MAX
            ),
        ));
    }
    rq.validate(OP, g.c_out, out.range())?;
    match &conv.plan {
        Plan::Depthwise(w) => depthwise(table, g, (oh, ow), w, x, x_zero_point, rq, out, threads),
        Plan::Gemm(groups) => {
            let (cg, mg, hw, ohw) = (g.c_in / g.groups, g.c_out / g.groups, g.h * g.w, oh * ow);
            let k = cg * g.kernel.0 * g.kernel.1;
            let mut col = COL.with(|c| std::mem::take(&mut *c.borrow_mut()));
            let result = (|| {
                for b in 0..g.batch {
                    for (gi, wg) in groups.iter().enumerate() {
                        let x0 = (b * g.c_in + gi * cg) * hw;
                        let xg = &x[x0..x0 + cg * hw];
                        let o0 = (b * g.c_out + gi * mg) * ohw;
                        let rows = rq.slice_rows(gi * mg..(gi + 1) * mg);
                        if let Some(imp) = &conv.implicit {
                            let sub = out.slice(o0..o0 + mg * ohw);
                            imp.run(
                                table,
                                g,
                                (oh, ow),
                                wg,
                                xg,
                                x_zero_point,
                                &rows,
                                sub,
                                threads,
                            )?;
                            continue;
                        }
                        let input = if g.is_pointwise() {
                            QInput::row_major(xg, cg, hw, x_zero_point)
                        } else {
                            col.resize(k * ohw, 0);
                            let col = as_elems_mut::<T>(&mut col);
                            im2col(g, (oh, ow), xg, T::from_i32(x_zero_point), col);
                            QInput::row_major(&col[..], k, ohw, x_zero_point)
                        };
                        let sub = out.slice(o0..o0 + mg * ohw);
                        qgemm(table, wg, &input, &rows, sub, (ohw, 1), threads)?;
                    }
                }
                Ok(())
            })();
            COL.with(|c| *c.borrow_mut() = col);
            result
        }
    }
}

thread_local! {
    /// The im2col buffer, reused across calls (a fresh one costs page faults every call).
    static COL: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bytes viewed as 8-bit elements of type `T`.
fn as_elems_mut<T: QElem>(b: &mut [u8]) -> &mut [T] {
    // SAFETY: T is u8 or i8 (sealed): same size and alignment as u8, every bit pattern valid.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr() as *mut T, b.len()) }
}

/// `col[(c, r, t), (y, x)] = input[c, y * sh + r * dh - pt, x * sw + t * dw - pl]`, or `pad`
/// outside the image.
fn im2col<T: QElem>(g: &ConvGeometry, (oh, ow): (usize, usize), x: &[T], pad: T, col: &mut [T]) {
    let (kh, kw) = g.kernel;
    let (sh, sw) = g.stride;
    let (dh, dw) = g.dilation;
    let (pt, pl) = (g.pads[0], g.pads[1]);
    let cg = g.c_in / g.groups;
    let mut rows = col.chunks_exact_mut(oh * ow);
    for c in 0..cg {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for r in 0..kh {
            for t in 0..kw {
                let Some(dst) = rows.next() else { return };
                for y in 0..oh {
                    let out = &mut dst[y * ow..(y + 1) * ow];
                    let iy = (y * sh + r * dh).wrapping_sub(pt);
                    if iy >= g.h {
                        out.fill(pad);
                        continue;
                    }
                    let src = &plane[iy * g.w..(iy + 1) * g.w];
                    let off = t * dw;
                    if sw == 1 {
                        // Outputs x whose input x + off - pl is inside the row: [x0, x1).
                        let x0 = pl.saturating_sub(off).min(ow);
                        let x1 = (g.w + pl).saturating_sub(off).clamp(x0, ow);
                        out[..x0].fill(pad);
                        if x1 > x0 {
                            out[x0..x1].copy_from_slice(&src[x0 + off - pl..x1 + off - pl]);
                        }
                        out[x1..].fill(pad);
                        continue;
                    }
                    for (xo, o) in out.iter_mut().enumerate() {
                        let ix = (xo * sw + off).wrapping_sub(pl);
                        *o = if ix < g.w { src[ix] } else { pad };
                    }
                }
            }
        }
    }
}
