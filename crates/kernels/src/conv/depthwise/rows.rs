//! The fast path of the depthwise kernel: square 3x3 or 5x5 kernels at stride 1 or 2, no
//! dilation (every depthwise layer of MobileNetV2, PP-OCR and most edge networks).
//!
//! The plane is copied once into a zero-padded buffer whose rows are long enough for whole
//! vectors; at stride 2 each row is split into its even and its odd columns, so every tap
//! reads contiguous lanes (tap `j` of output `x` is input column `2x + j`: even columns for
//! even `j`, odd ones for odd `j`). Then `R` output rows are computed per pass: each input
//! vector is loaded once and multiplied into every output row of the pass that uses it, the
//! taps sit in registers, and bias and activation are applied before the only store. The
//! vector width is a type parameter ([`Lanes`]): portable 8-lane arrays, AVX2, AVX-512.

use super::Plane;
use crate::conv::Conv2dShape;
use crate::Activation;

/// A vector of `N` floats on one instruction set. Safety of every method: the CPU has the
/// implementation's features, and pointers are valid for the floats read or written.
pub(crate) trait Lanes: Copy {
    const N: usize;
    unsafe fn splat(x: f32) -> Self;
    unsafe fn load(p: *const f32) -> Self;
    /// `p[0..n]` in the first `n < N` lanes, zero in the others (reads only `p[0..n]`).
    unsafe fn load_partial(p: *const f32, n: usize) -> Self;
    unsafe fn store(self, p: *mut f32);
    /// The first `n < N` lanes to `p[0..n]` (writes nothing else).
    unsafe fn store_partial(self, p: *mut f32, n: usize);
    /// Transposes the `N x N` matrix whose rows are `v[0..N]` (`v.len() == N`).
    unsafe fn transpose(v: &mut [Self]);
    /// `self * w + acc`.
    unsafe fn mul_add(self, w: Self, acc: Self) -> Self;
    /// The even and the odd elements of the `2N` elements `a` then `b`.
    unsafe fn deinterleave(a: Self, b: Self) -> (Self, Self);
    /// Whether [`Lanes::activate`] computes `act` (otherwise the caller applies it after).
    fn fuses(act: Activation) -> bool;
    unsafe fn activate(v: &mut [Self], act: Activation);
}

/// Portable lanes: plain arrays the compiler vectorizes; `FMA` picks `mul_add` (one
/// instruction where the target has FMA, a libm call where it does not).
#[derive(Clone, Copy)]
pub(crate) struct Portable<const FMA: bool>([f32; 8]);

impl<const FMA: bool> Lanes for Portable<FMA> {
    const N: usize = 8;
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Portable([x; 8])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable floats.
        Portable(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        let mut v = [0f32; 8];
        for (k, v) in v.iter_mut().enumerate().take(n) {
            // SAFETY: the caller guarantees n readable floats.
            *v = unsafe { *p.add(k) };
        }
        Portable(v)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable floats.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(self.0) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize) {
        for (k, &v) in self.0.iter().enumerate().take(n) {
            // SAFETY: the caller guarantees n writable floats.
            unsafe { *p.add(k) = v };
        }
    }
    #[inline(always)]
    unsafe fn transpose(v: &mut [Self]) {
        let m: [[f32; 8]; 8] = std::array::from_fn(|r| v[r].0);
        for (r, v) in v.iter_mut().enumerate() {
            v.0 = std::array::from_fn(|c| m[c][r]);
        }
    }
    #[inline(always)]
    unsafe fn mul_add(self, w: Self, acc: Self) -> Self {
        let mut r = acc.0;
        for ((r, x), w) in r.iter_mut().zip(self.0).zip(w.0) {
            *r = if FMA { x.mul_add(w, *r) } else { *r + x * w };
        }
        Portable(r)
    }
    #[inline(always)]
    unsafe fn deinterleave(a: Self, b: Self) -> (Self, Self) {
        let at = |k: usize| if k < 8 { a.0[k] } else { b.0[k - 8] };
        (
            Portable(std::array::from_fn(|k| at(2 * k))),
            Portable(std::array::from_fn(|k| at(2 * k + 1))),
        )
    }
    fn fuses(act: Activation) -> bool {
        act != Activation::Sigmoid
    }
    #[inline(always)]
    unsafe fn activate(v: &mut [Self], act: Activation) {
        if act == Activation::None {
            return;
        }
        for x in v.iter_mut().flat_map(|v| v.0.iter_mut()) {
            *x = act.apply(*x);
        }
    }
}

/// The shape numbers of a layer the fast path uses, computed once (a 7x7 plane costs about
/// as much as a few integer divisions per row would).
#[derive(Debug, Clone)]
pub(crate) struct Geometry {
    in_h: usize,
    in_w: usize,
    pad_top: usize,
    pad_left: usize,
    /// Padded input width.
    pw: usize,
    out_h: usize,
    out_w: usize,
    kernel: usize,
    stride: usize,
    /// Input rows the outputs read, padding included.
    rows: usize,
    /// `row_layout` for 8 and for 16 lanes.
    layouts: [(usize, usize); 2],
    /// Floats of buffer one plane needs, for any lane count.
    pub buffer_len: usize,
}

impl Geometry {
    /// The geometry of `s`, if the fast path computes it.
    pub(crate) fn new(s: &Conv2dShape) -> Option<Geometry> {
        if !super::fast_kernel(s) {
            return None;
        }
        let (k, st) = (s.kernel_w, s.stride_w);
        let pw = s.in_w + s.pad_left + s.pad_right;
        let rows = (s.out_h() - 1) * st + k;
        let layouts = [8, MAX_LANES].map(|n| row_layout(pw, k, st, n));
        let buffer_len = [8, MAX_LANES]
            .iter()
            .zip(&layouts)
            .map(|(n, (rl, _))| rows * rl + n)
            .max()
            .unwrap_or(0);
        Some(Geometry {
            in_h: s.in_h,
            in_w: s.in_w,
            pad_top: s.pad_top,
            pad_left: s.pad_left,
            pw,
            out_h: s.out_h(),
            out_w: s.out_w(),
            kernel: k,
            stride: st,
            rows,
            layouts,
            buffer_len,
        })
    }
}

/// The widest vector any instantiation uses (AVX-512).
const MAX_LANES: usize = 16;

/// Floats of one buffered row for `n`-lane vectors (8 or 16), and the offset of the odd
/// columns at stride 2 (0 at stride 1).
fn row_layout(pw: usize, k: usize, stride: usize, n: usize) -> (usize, usize) {
    if stride == 1 {
        (pw.max(n + k - 1), 0)
    } else {
        // Room for the even half's last store, which starts up to a vector before its end.
        let half = (pw.div_ceil(2) + n).max(n + k / 2).next_multiple_of(n);
        (2 * half, half)
    }
}

/// One plane (see [`super::DepthwiseKernel`]); `Wide` lanes for rows at least that wide,
/// `Narrow` ones otherwise.
///
/// Safety: the CPU has the features of both lane types; `buf` has `g.buffer_len` floats.
#[inline(always)]
pub(crate) unsafe fn plane<Wide: Lanes, Narrow: Lanes>(
    g: &Geometry,
    p: &Plane,
    x: &[f32],
    w: &[f32],
    out: &mut [f32],
    buf: &mut [f32],
) {
    let fused = Wide::fuses(p.act) && Narrow::fuses(p.act);
    let act = if fused { p.act } else { Activation::None };
    // SAFETY: forwarded contract.
    unsafe {
        if g.out_w >= Wide::N {
            plane_with::<Wide>(g, x, w, p.bias, act, out, buf);
        } else {
            plane_with::<Narrow>(g, x, w, p.bias, act, out, buf);
        }
    }
    if !fused {
        // SAFETY: the caller guarantees the CPU features of the table the kernel came from.
        unsafe { (p.act_kernel)(out, p.act) };
    }
}

/// [`plane`] with one lane type.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn plane_with<L: Lanes>(
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    bias: f32,
    act: Activation,
    out: &mut [f32],
    buf: &mut [f32],
) {
    let (rl, odd) = g.layouts[usize::from(L::N > 8)];
    let rows = g.rows;
    // SAFETY: forwarded contract; `buf` holds the rows and a vector of slack.
    unsafe {
        fill::<L>(g, x, buf, rl, odd);
        by_kernel::<L>(g, &buf[..rows * rl], rl, odd, w, bias, act, out);
    }
}

/// Copies the `rows` input rows the outputs need into `buf`, zero-padded; at stride 2 the
/// even padded columns go to `0..odd` and the odd ones to `odd..`, split in registers.
/// Whole vectors only, no library calls (a 7x7 plane must cost tens of cycles), and no
/// reloads of what was just stored (store forwarding fails on misaligned reloads). Stores
/// may spill up to a vector past a row, into the next one (filled later) or the slack;
/// entries past the padded width are left unspecified (only lanes that are dropped read
/// them).
///
/// Safety: the CPU has `L`'s features; `buf` has `g.rows * rl + L::N` floats.
#[inline(always)]
unsafe fn fill<L: Lanes>(g: &Geometry, x: &[f32], buf: &mut [f32], rl: usize, odd: usize) {
    let (h, iw, pl, pw, rows) = (g.in_h, g.in_w, g.pad_left, g.pw, g.rows);
    let n = L::N;
    let p = buf.as_mut_ptr();
    // SAFETY (all): row starts are below rows * rl, every loop stores at most a vector past
    // its bound (<= rl), which the next row or the slack absorbs; loads from `x` stay
    // inside its row (`load_partial` for the ragged end).
    unsafe {
        let zero = L::splat(0.0);
        let zeros = |at: *mut f32, from: usize, to: usize| {
            let mut c = from;
            while c < to {
                zero.store(at.add(c));
                c += n;
            }
        };
        let load = |src: *const f32, c: usize| {
            if c + n <= iw {
                L::load(src.add(c))
            } else if c < iw {
                L::load_partial(src.add(c), iw - c)
            } else {
                zero
            }
        };
        for r in 0..rows {
            let row = p.add(r * rl);
            let iy = r as isize - g.pad_top as isize;
            if iy < 0 || iy >= h as isize {
                zeros(row, 0, rl);
                continue;
            }
            let src = x[iy as usize * iw..][..iw].as_ptr();
            if g.stride == 1 {
                zeros(row, 0, pl);
                zeros(row, pl + iw, pw);
                let mut c = 0;
                while c < iw {
                    load(src, c).store(row.add(pl + c));
                    c += n;
                }
            } else {
                // Input column 2m goes to padded column 2m + pl: with pl = 2q it is even
                // entry q + m, with pl = 2q + 1 odd entry q + m (and 2m + 1 even q + 1 + m).
                let (q, flip) = (pl / 2, pl % 2 == 1);
                let (evens, odds) = (row, row.add(odd));
                let (first, second) = if flip {
                    (odds, evens.add(1))
                } else {
                    (evens, odds)
                };
                // The right padding starts at padded column pl + iw: even entry
                // ceil((pl + iw) / 2), odd entry floor((pl + iw) / 2).
                let end = pl + iw;
                zeros(evens, 0, q + 1);
                zeros(odds, 0, q + 1);
                zeros(evens, end.div_ceil(2), pw.div_ceil(2));
                zeros(odds, end / 2, pw / 2 + 1);
                let mut m = 0;
                while 2 * m < iw {
                    let (e, o) = L::deinterleave(load(src, 2 * m), load(src, 2 * m + n));
                    e.store(first.add(q + m));
                    o.store(second.add(q + m));
                    m += n;
                }
            }
        }
    }
}

/// Dispatches on the kernel size and stride; `R` rows per pass keep `R` accumulators and the
/// taps in registers (16 of AVX2's 16 at most for 3x3).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn by_kernel<L: Lanes>(
    g: &Geometry,
    buf: &[f32],
    rl: usize,
    odd: usize,
    w: &[f32],
    bias: f32,
    act: Activation,
    out: &mut [f32],
) {
    // SAFETY: forwarded contract.
    unsafe {
        match (g.kernel, g.stride) {
            (3, 1) => rows::<L, 3, 1, 4>(g, buf, rl, odd, w, bias, act, out),
            (3, 2) => rows::<L, 3, 2, 4>(g, buf, rl, odd, w, bias, act, out),
            (5, 1) => rows::<L, 5, 1, 2>(g, buf, rl, odd, w, bias, act, out),
            (5, 2) => rows::<L, 5, 2, 2>(g, buf, rl, odd, w, bias, act, out),
            _ => unreachable!("`Geometry::new` admits 3x3 and 5x5 at stride 1 and 2"),
        }
    }
}

/// Every output row: `R` at a time, the last few one at a time.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn rows<L: Lanes, const K: usize, const S: usize, const R: usize>(
    g: &Geometry,
    buf: &[f32],
    rl: usize,
    odd: usize,
    w: &[f32],
    bias: f32,
    act: Activation,
    out: &mut [f32],
) {
    let (oh, ow) = (g.out_h, g.out_w);
    // Input column of tap j for output 0, in the buffered row.
    let mut cols = [0usize; K];
    for (j, c) in cols.iter_mut().enumerate() {
        *c = if S == 1 { j } else { (j % 2) * odd + j / 2 };
    }
    let mut taps = [[L::splat(0.0); K]; K];
    for (i, row) in taps.iter_mut().enumerate() {
        for (j, t) in row.iter_mut().enumerate() {
            *t = L::splat(w[i * K + j]);
        }
    }
    let b = L::splat(bias);
    let mut oy = 0;
    // SAFETY (both loops): rows oy..oy + R of the output exist, the buffer holds the
    // (R - 1) * S + K input rows they read (`buffer_len`), and `pass` keeps columns inside.
    unsafe {
        while oy + R <= oh {
            let src = buf.as_ptr().add(oy * S * rl);
            pass::<L, K, S, R>(
                src,
                rl,
                &cols,
                &taps,
                b,
                act,
                out.as_mut_ptr().add(oy * ow),
                ow,
            );
            oy += R;
        }
        while oy < oh {
            let src = buf.as_ptr().add(oy * S * rl);
            pass::<L, K, S, 1>(
                src,
                rl,
                &cols,
                &taps,
                b,
                act,
                out.as_mut_ptr().add(oy * ow),
                ow,
            );
            oy += 1;
        }
    }
}

/// `R` output rows of `ow` floats at `out` (row stride `ow`) from the buffered rows at `src`:
/// whole vectors, then one more that overlaps the previous (rewriting the same values); rows
/// narrower than a vector go through a stack copy (the buffered rows are long enough for a
/// whole vector, see `row_layout`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pass<L: Lanes, const K: usize, const S: usize, const R: usize>(
    src: *const f32,
    rl: usize,
    cols: &[usize; K],
    taps: &[[L; K]; K],
    bias: L,
    act: Activation,
    out: *mut f32,
    ow: usize,
) {
    let n = L::N;
    // SAFETY: every read is within the R-row window of the buffer (row_layout leaves room
    // for a whole vector past any output column), every write inside the R output rows.
    unsafe {
        if ow < n {
            let mut tmp = [0f32; MAX_LANES * 4];
            let acc = vector::<L, K, S, R>(src, 0, rl, cols, taps, bias, act);
            for (t, a) in acc.iter().enumerate() {
                a.store(tmp.as_mut_ptr().add(t * n));
                std::ptr::copy_nonoverlapping(tmp.as_ptr().add(t * n), out.add(t * ow), ow);
            }
            return;
        }
        let mut c = 0;
        while c + n <= ow {
            let acc = vector::<L, K, S, R>(src, c, rl, cols, taps, bias, act);
            for (t, a) in acc.iter().enumerate() {
                a.store(out.add(t * ow + c));
            }
            c += n;
        }
        if c < ow {
            let c = ow - n;
            let acc = vector::<L, K, S, R>(src, c, rl, cols, taps, bias, act);
            for (t, a) in acc.iter().enumerate() {
                a.store(out.add(t * ow + c));
            }
        }
    }
}

/// One vector of outputs at column `c` in each of the `R` rows.
// Index loops over the const-sized windows read as the math.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn vector<L: Lanes, const K: usize, const S: usize, const R: usize>(
    src: *const f32,
    c: usize,
    rl: usize,
    cols: &[usize; K],
    taps: &[[L; K]; K],
    bias: L,
    act: Activation,
) -> [L; R] {
    let mut acc = [bias; R];
    // SAFETY: see `pass`.
    unsafe {
        for r in 0..(R - 1) * S + K {
            let row = src.add(r * rl + c);
            for j in 0..K {
                let v = L::load(row.add(cols[j]));
                for t in 0..R {
                    if r >= t * S && r - t * S < K {
                        acc[t] = v.mul_add(taps[r - t * S][j], acc[t]);
                    }
                }
            }
        }
        L::activate(&mut acc, act);
    }
    acc
}
