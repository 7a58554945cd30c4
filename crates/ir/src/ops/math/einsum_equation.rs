//! The Einsum equation: parsing, resolving subscripts against input ranks (diagonals,
//! ellipsis broadcasting, implicit output order), and the contraction loop.

use crate::{bail, Result};
use edgeopt_tensor::shape::checked_numel;

/// One subscript: a letter, or the `...` group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sub {
    Letter(u8),
    Ellipsis,
}

/// A parsed equation: one term per input and the explicit output term, if any.
#[derive(Clone, Debug)]
pub struct Equation {
    pub text: String,
    pub(super) inputs: Vec<Vec<Sub>>,
    /// The explicit output term, or `None` in implicit mode.
    pub(super) output: Option<Vec<Sub>>,
}

fn parse_term(t: &str, eq: &str) -> Result<Vec<Sub>> {
    let b = t.as_bytes();
    let mut subs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() {
            subs.push(Sub::Letter(b[i]));
            i += 1;
        } else if b[i..].starts_with(b"...") && !subs.contains(&Sub::Ellipsis) {
            subs.push(Sub::Ellipsis);
            i += 3;
        } else {
            bail!(
                "Einsum: bad term '{t}' in equation '{eq}' (letters and at most one '...' allowed)"
            );
        }
    }
    Ok(subs)
}
impl Equation {
    pub fn parse(equation: &str) -> Result<Equation> {
        let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
        let (lhs, rhs) = match eq.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (eq.as_str(), None),
        };
        let inputs = lhs
            .split(',')
            .map(|t| parse_term(t, equation))
            .collect::<Result<Vec<_>>>()?;
        let output = rhs.map(|r| parse_term(r, equation)).transpose()?;
        if let Some(out) = &output {
            for (i, s) in out.iter().enumerate() {
                if out[..i].contains(s) {
                    bail!("Einsum: output subscript {s:?} repeats in '{equation}'");
                }
                if !inputs.iter().any(|t| t.contains(s)) {
                    bail!("Einsum: output subscript {s:?} of '{equation}' appears in no input");
                }
            }
        }
        Ok(Equation {
            text: equation.to_string(),
            inputs,
            output,
        })
    }
}
/// Label ids: letters by character code (so implicit output order is numpy's), ellipsis dims
/// from 128 on, right-aligned across inputs.
pub(super) const ELL: usize = 128;

/// Per input, the label of each axis, and the number of ellipsis dims overall.
pub(super) fn axis_labels(eq: &Equation, ranks: &[usize]) -> Result<(Vec<Vec<usize>>, usize)> {
    if ranks.len() != eq.inputs.len() {
        bail!(
            "Einsum: equation '{}' has {} terms, got {} inputs",
            eq.text,
            eq.inputs.len(),
            ranks.len()
        );
    }
    let mut ell = 0;
    for (t, &r) in eq.inputs.iter().zip(ranks) {
        let letters = t.iter().filter(|s| **s != Sub::Ellipsis).count();
        let has_ell = t.contains(&Sub::Ellipsis);
        if r < letters || (!has_ell && r != letters) {
            bail!(
                "Einsum: term {:?} of '{}' does not match an input of rank {r}",
                t,
                eq.text
            );
        }
        ell = ell.max(r - letters);
    }
    let labels = eq
        .inputs
        .iter()
        .zip(ranks)
        .map(|(t, &r)| {
            let e = if t.contains(&Sub::Ellipsis) {
                r - (t.len() - 1)
            } else {
                0
            };
            t.iter()
                .flat_map(|s| match s {
                    Sub::Letter(c) => vec![*c as usize],
                    Sub::Ellipsis => (ELL + ell - e..ELL + ell).collect(),
                })
                .collect()
        })
        .collect();
    Ok((labels, ell))
}

/// Output labels, explicit or implicit.
pub(super) fn output_labels(eq: &Equation, labels: &[Vec<usize>], ell: usize) -> Vec<usize> {
    match &eq.output {
        Some(out) => out
            .iter()
            .flat_map(|s| match s {
                Sub::Letter(c) => vec![*c as usize],
                Sub::Ellipsis => (ELL..ELL + ell).collect(),
            })
            .collect(),
        None => {
            let mut count = [0usize; ELL];
            labels
                .iter()
                .flatten()
                .filter(|&&l| l < ELL)
                .for_each(|&l| count[l] += 1);
            (ELL..ELL + ell)
                .chain((0..ELL).filter(|&l| count[l] == 1))
                .collect()
        }
    }
}

/// The evaluation plan: sizes of output and summed labels, and per-input strides for each.
pub(super) struct Plan {
    pub out_sizes: Vec<usize>,
    pub sum_sizes: Vec<usize>,
    out_strides: Vec<Vec<usize>>,
    sum_strides: Vec<Vec<usize>>,
}

pub(super) fn plan(eq: &Equation, shapes: &[&[usize]]) -> Result<Plan> {
    let ranks: Vec<usize> = shapes.iter().map(|s| s.len()).collect();
    let (labels, ell) = axis_labels(eq, &ranks)?;
    let mut size = vec![None::<usize>; ELL + ell];
    for (ls, s) in labels.iter().zip(shapes) {
        for (&l, &d) in ls.iter().zip(s.iter()) {
            size[l] = match size[l] {
                None | Some(1) => Some(d),
                Some(p) if p == d || d == 1 => Some(p),
                Some(p) => bail!("Einsum: '{}' gives one label sizes {p} and {d}", eq.text),
            };
        }
    }
    let out = output_labels(eq, &labels, ell);
    let used: Vec<usize> = (0..ELL + ell).filter(|&l| size[l].is_some()).collect();
    let summed: Vec<usize> = used.iter().copied().filter(|l| !out.contains(l)).collect();
    let strides_for = |set: &[usize]| -> Vec<Vec<usize>> {
        labels
            .iter()
            .zip(shapes)
            .map(|(ls, s)| {
                let st = edgeopt_tensor::shape::strides(s);
                set.iter()
                    .map(|&l| {
                        (0..ls.len())
                            .filter(|&a| ls[a] == l && s[a] != 1)
                            .map(|a| st[a])
                            .sum()
                    })
                    .collect()
            })
            .collect()
    };
    let sz = |set: &[usize]| {
        set.iter()
            .map(|&l| size[l].unwrap_or(1))
            .collect::<Vec<_>>()
    };
    Ok(Plan {
        out_sizes: sz(&out),
        sum_sizes: sz(&summed),
        out_strides: strides_for(&out),
        sum_strides: strides_for(&summed),
    })
}

/// Advances an odometer over `sizes`, moving each input's offset by its strides.
fn step(idx: &mut [usize], sizes: &[usize], strides: &[Vec<usize>], offs: &mut [usize]) {
    for d in (0..sizes.len()).rev() {
        idx[d] += 1;
        offs.iter_mut().zip(strides).for_each(|(o, s)| *o += s[d]);
        if idx[d] < sizes[d] {
            return;
        }
        offs.iter_mut()
            .zip(strides)
            .for_each(|(o, s)| *o -= s[d] * sizes[d]);
        idx[d] = 0;
    }
}

pub(super) fn contract<A: Copy + Default>(
    p: &Plan,
    xs: &[Vec<A>],
    one: A,
    mul: impl Fn(A, A) -> A,
    add: impl Fn(A, A) -> A,
) -> Result<Vec<A>> {
    let n_out = checked_numel(&p.out_sizes)?;
    let n_sum: usize = p.sum_sizes.iter().product();
    let mut out = Vec::with_capacity(n_out);
    let (mut oi, mut si) = (vec![0; p.out_sizes.len()], vec![0; p.sum_sizes.len()]);
    let mut base = vec![0usize; xs.len()];
    for _ in 0..n_out {
        let mut acc = A::default();
        let mut offs = base.clone();
        for _ in 0..n_sum {
            acc = add(
                acc,
                xs.iter().zip(&offs).fold(one, |m, (x, &o)| mul(m, x[o])),
            );
            step(&mut si, &p.sum_sizes, &p.sum_strides, &mut offs);
        }
        out.push(acc);
        step(&mut oi, &p.out_sizes, &p.out_strides, &mut base);
    }
    Ok(out)
}
