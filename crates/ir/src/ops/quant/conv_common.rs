//! Convolution geometry (auto_pad, pads, strides, dilations, group) and a plain integer
//! N-d convolution for ConvInteger and QLinearConv. Values are i64 with sums wrapped to i32 by
//! the callers, like the reference's int32 numpy.

use crate::attr::AttrList;
use crate::registry::BuildCtx;
use crate::{bail, Result};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::Dim;

/// The attributes shared by the Conv family, as given (absent = default).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConvAttrs {
    pub auto_pad: Option<String>,
    pub dilations: Option<Vec<i64>>,
    pub group: Option<i64>,
    pub kernel_shape: Option<Vec<i64>>,
    pub pads: Option<Vec<i64>>,
    pub strides: Option<Vec<i64>>,
}

/// Resolved geometry for one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Geometry {
    pub pads_begin: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub out: Vec<usize>,
}

fn positive(op: &str, name: &str, v: &Option<Vec<i64>>) -> Result<()> {
    if let Some(v) = v {
        if v.iter().any(|&x| x < 1) {
            bail!("{op}: {name} must be positive, got {v:?}");
        }
    }
    Ok(())
}

impl ConvAttrs {
    pub fn parse(ctx: &mut BuildCtx, op: &str) -> Result<ConvAttrs> {
        let a = ConvAttrs {
            auto_pad: ctx.attrs.string("auto_pad")?,
            dilations: ctx.attrs.ints("dilations")?,
            group: ctx.attrs.int("group")?,
            kernel_shape: ctx.attrs.ints("kernel_shape")?,
            pads: ctx.attrs.ints("pads")?,
            strides: ctx.attrs.ints("strides")?,
        };
        if let Some(p) = &a.auto_pad {
            if !matches!(p.as_str(), "NOTSET" | "SAME_UPPER" | "SAME_LOWER" | "VALID") {
                bail!("{op}: unknown auto_pad '{p}'");
            }
        }
        if a.group.is_some_and(|g| g < 1) {
            bail!("{op}: group must be >= 1, got {:?}", a.group);
        }
        positive(op, "strides", &a.strides)?;
        positive(op, "dilations", &a.dilations)?;
        positive(op, "kernel_shape", &a.kernel_shape)?;
        if a.pads.as_ref().is_some_and(|p| p.iter().any(|&x| x < 0)) {
            bail!("{op}: pads must be >= 0, got {:?}", a.pads);
        }
        Ok(a)
    }

    pub fn export(&self, l: AttrList) -> AttrList {
        l.opt_string("auto_pad", self.auto_pad.as_deref())
            .opt_ints("dilations", self.dilations.as_deref())
            .opt_int("group", self.group)
            .opt_ints("kernel_shape", self.kernel_shape.as_deref())
            .opt_ints("pads", self.pads.as_deref())
            .opt_ints("strides", self.strides.as_deref())
    }

    pub fn group(&self) -> usize {
        self.group.unwrap_or(1) as usize
    }

    fn per_axis(
        op: &str,
        name: &str,
        v: &Option<Vec<i64>>,
        n: usize,
        default: i64,
    ) -> Result<Vec<usize>> {
        match v {
            None => Ok(vec![default as usize; n]),
            Some(v) if v.len() == n => Ok(v.iter().map(|&x| x as usize).collect()),
            Some(v) => bail!("{op}: {name} {v:?} should have {n} values"),
        }
    }

    /// Geometry for spatial input dims `input` and kernel dims `kernel`.
    pub fn geometry(&self, op: &str, input: &[usize], kernel: &[usize]) -> Result<Geometry> {
        let n = input.len();
        if let Some(ks) = &self.kernel_shape {
            if ks.len() != n || ks.iter().zip(kernel).any(|(&a, &b)| a as usize != b) {
                bail!(
                    "{op}: kernel_shape {ks:?} differs from the weights' spatial shape {kernel:?}"
                );
            }
        }
        let strides = Self::per_axis(op, "strides", &self.strides, n, 1)?;
        let dilations = Self::per_axis(op, "dilations", &self.dilations, n, 1)?;
        let mode = self.auto_pad.as_deref().unwrap_or("NOTSET");
        let (mut pads_begin, mut out) = (vec![0; n], vec![0; n]);
        for i in 0..n {
            // Saturating: huge attributes must end in an error, not an overflow.
            let eff = kernel[i]
                .saturating_sub(1)
                .saturating_mul(dilations[i])
                .saturating_add(1);
            let (pb, pe) = match mode {
                "SAME_UPPER" | "SAME_LOWER" => {
                    let o = input[i].div_ceil(strides[i]);
                    let total = o
                        .saturating_sub(1)
                        .saturating_mul(strides[i])
                        .saturating_add(eff)
                        .saturating_sub(input[i]);
                    let small = total / 2;
                    if mode == "SAME_UPPER" {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    }
                }
                "VALID" => (0, 0),
                _ => match &self.pads {
                    None => (0, 0),
                    Some(p) if p.len() == 2 * n => (p[i] as usize, p[i + n] as usize),
                    Some(p) => bail!("{op}: pads {p:?} should have {} values", 2 * n),
                },
            };
            let padded = input[i].saturating_add(pb).saturating_add(pe);
            if padded < eff {
                bail!(
                    "{op}: kernel extent {eff} exceeds padded input {padded} on spatial axis {i}"
                );
            }
            pads_begin[i] = pb;
            out[i] = (padded - eff) / strides[i] + 1;
        }
        Ok(Geometry {
            pads_begin,
            strides,
            dilations,
            out,
        })
    }

    /// Symbolic output spatial dims (unknown where an input dim is not known).
    pub fn infer_spatial(&self, op: &str, input: &[Dim], kernel: &[usize]) -> Result<Vec<Dim>> {
        match input.iter().map(Dim::known).collect::<Option<Vec<usize>>>() {
            Some(i) => Ok(self
                .geometry(op, &i, kernel)?
                .out
                .into_iter()
                .map(Dim::Known)
                .collect()),
            None => Ok(vec![Dim::Unknown; input.len()]),
        }
    }
}

/// Batch, input channels, output channels, spatial input dims, kernel dims.
type ConvDims<'a> = (usize, usize, usize, &'a [usize], &'a [usize]);

/// Checks ranks and channel counts.
pub fn check_shapes<'a>(
    op: &str,
    x: &'a [usize],
    w: &'a [usize],
    group: usize,
) -> Result<ConvDims<'a>> {
    if x.len() < 3 || w.len() != x.len() {
        bail!("{op}: X {x:?} must be N x C x spatial... and W {w:?} of the same rank");
    }
    let (n, c, m) = (x[0], x[1], w[0]);
    if w[1].checked_mul(group) != Some(c) || m % group != 0 {
        bail!("{op}: X {x:?} and W {w:?} do not match group {group}");
    }
    Ok((n, c, m, &x[2..], &w[2..]))
}

/// N-d grouped convolution of `x` [N, C, ...] with `w` [M, C/group, ...] plus `bias` [M].
pub fn conv(
    op: &str,
    x: &[i64],
    xs: &[usize],
    w: &[i64],
    ws: &[usize],
    bias: Option<&[i64]>,
    a: &ConvAttrs,
) -> Result<(Vec<i64>, Vec<usize>)> {
    let group = a.group();
    let (n, c, m, xsp, ksp) = check_shapes(op, xs, ws, group)?;
    let g = a.geometry(op, xsp, ksp)?;
    let (in_sz, k_sz, out_sz) = (
        xsp.iter().product::<usize>(),
        ksp.iter().product::<usize>(),
        g.out.iter().product(),
    );
    let mut out_shape = vec![n, m];
    out_shape.extend(&g.out);
    checked_numel(&out_shape)?;
    let table = gather_table(xsp, ksp, &g, checked_numel(&[out_sz, k_sz])?);
    let (cg, mg) = (c / group, m / group);
    let mut y = vec![0i64; n * m * out_sz];
    for b in 0..n {
        for oc in 0..m {
            let gi = oc / mg;
            let yo = &mut y[(b * m + oc) * out_sz..(b * m + oc + 1) * out_sz];
            let init = bias.map(|v| v[oc]).unwrap_or(0);
            yo.iter_mut().for_each(|v| *v = init);
            for icg in 0..cg {
                let xo = &x[(b * c + gi * cg + icg) * in_sz..][..in_sz];
                let wo = &w[(oc * cg + icg) * k_sz..][..k_sz];
                for (o, acc) in yo.iter_mut().enumerate() {
                    for (kk, &wv) in wo.iter().enumerate() {
                        let idx = table[o * k_sz + kk];
                        if idx >= 0 {
                            *acc += xo[idx as usize] * wv;
                        }
                    }
                }
            }
        }
    }
    Ok((y, out_shape))
}

/// For each (output position, kernel position): the input offset, or -1 inside padding.
fn gather_table(xsp: &[usize], ksp: &[usize], g: &Geometry, len: usize) -> Vec<isize> {
    let nd = xsp.len();
    let (out_sz, k_sz) = (
        g.out.iter().product::<usize>(),
        ksp.iter().product::<usize>(),
    );
    let mut t = Vec::with_capacity(len);
    let unravel = |mut i: usize, dims: &[usize]| {
        let mut idx = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            idx[d] = i % dims[d];
            i /= dims[d];
        }
        idx
    };
    for o in 0..out_sz {
        let oi = unravel(o, &g.out);
        for k in 0..k_sz {
            let ki = unravel(k, ksp);
            let mut off = 0isize;
            for d in 0..nd {
                let p = (oi[d] * g.strides[d] + ki[d] * g.dilations[d]) as isize
                    - g.pads_begin[d] as isize;
                if p < 0 || p >= xsp[d] as isize {
                    off = -1;
                    break;
                }
                off = off * xsp[d] as isize + p;
            }
            t.push(off);
        }
    }
    t
}

/// MACs of a convolution: each output element sums W's C/group x kernel products.
pub fn conv_macs(w: Option<Vec<usize>>, y: Option<Vec<usize>>) -> u64 {
    match (w, y) {
        (Some(w), Some(y)) if w.len() >= 2 => {
            (y.iter().product::<usize>() * w[1..].iter().product::<usize>()) as u64
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_upper_and_lower_padding() {
        let a = ConvAttrs {
            auto_pad: Some("SAME_UPPER".into()),
            strides: Some(vec![2]),
            ..Default::default()
        };
        let g = a.geometry("C", &[5], &[2]).unwrap();
        assert_eq!((g.out.clone(), g.pads_begin.clone()), (vec![3], vec![0]));
        let a = ConvAttrs {
            auto_pad: Some("SAME_LOWER".into()),
            ..a
        };
        assert_eq!(a.geometry("C", &[5], &[2]).unwrap().pads_begin, vec![1]);
    }

    #[test]
    fn grouped_dilated_conv() {
        // 1-D, two groups of one channel each, kernel [1, 1] dilated by 2: y[i] = x[i] + x[i + 2].
        let a = ConvAttrs {
            group: Some(2),
            dilations: Some(vec![2]),
            ..Default::default()
        };
        let x = [1i64, 2, 3, 4, 10, 20, 30, 40];
        let (y, s) = conv(
            "C",
            &x,
            &[1, 2, 4],
            &[1, 1, 1, 1],
            &[2, 1, 2],
            Some(&[0, 100]),
            &a,
        )
        .unwrap();
        assert_eq!(s, vec![1, 2, 2]);
        assert_eq!(y, vec![4, 6, 140, 160]);
        assert!(conv(
            "C",
            &x,
            &[1, 2, 4],
            &[1, 1],
            &[1, 1, 2],
            None,
            &ConvAttrs::default()
        )
        .is_err());
    }
}
