//! A small regular-expression engine for RegexFullMatch, written here because the workspace has
//! no regex dependency. It covers the RE2 syntax ONNX models use in practice: literals and
//! escapes, `.`, classes (`[a-z_]`, `[^...]`, `\w \d \s` and their negations, also inside
//! classes), anchors `^ $ \A \z \b \B`, groups `(...)`, `(?:...)`, `(?P<name>...)`,
//! alternation, and the quantifiers `* + ? {n} {n,} {n,m}` (with lazy `?` suffixes, which do not
//! change whether a match exists). Perl classes are ASCII, as in RE2. Flags, lookaround and
//! backreferences are refused with an error.
//!
//! Patterns compile to a Thompson NFA run as a Pike VM, so matching is linear in the input and
//! never backtracks exponentially.

mod parse;

use crate::{bail, Result};
use parse::{perl, Assert, Class, Node, Parser};

/// Most instructions one compiled pattern may have (counted repeats are expanded).
const MAX_PROGRAM: usize = 100_000;

#[derive(Clone, Debug)]
enum Inst {
    Class(Class),
    Char(char),
    Assert(Assert),
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Regex {
    prog: Vec<Inst>,
}

fn emit(prog: &mut Vec<Inst>, node: &Node) -> Result<()> {
    if prog.len() > MAX_PROGRAM {
        bail!("RegexFullMatch: the pattern is too large once repeats are expanded");
    }
    match node {
        Node::Empty => {}
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::Class(k) => prog.push(Inst::Class(k.clone())),
        Node::Assert(a) => prog.push(Inst::Assert(*a)),
        Node::Concat(v) => v.iter().try_for_each(|n| emit(prog, n))?,
        Node::Alt(v) => {
            let mut jumps = Vec::new();
            for (k, n) in v.iter().enumerate() {
                if k + 1 < v.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(prog, n)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    emit(prog, n)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat(n, min, max) => {
            for _ in 0..*min {
                emit(prog, n)?;
            }
            match max {
                None => {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(prog, n)?;
                    prog.push(Inst::Jmp(split));
                    let end = prog.len();
                    prog[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(prog.len() + 1, 0));
                        emit(prog, n)?;
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
}

fn is_word(c: Option<&char>) -> bool {
    c.is_some_and(|&c| perl('w', c))
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Parser {
            s: &chars,
            i: 0,
            pattern,
        };
        let ast = p.alt()?;
        if p.i < chars.len() {
            return p.err("unmatched )");
        }
        let mut prog = Vec::new();
        emit(&mut prog, &ast)?;
        prog.push(Inst::Match);
        Ok(Regex { prog })
    }

    /// Adds the threads reachable from `pc` at position `pos` without consuming input.
    /// Returns whether `Match` is reachable.
    fn add(
        &self,
        list: &mut Vec<usize>,
        seen: &mut [bool],
        pc: usize,
        s: &[char],
        pos: usize,
    ) -> bool {
        let mut stack = vec![pc];
        let mut matched = false;
        while let Some(pc) = stack.pop() {
            if std::mem::replace(&mut seen[pc], true) {
                continue;
            }
            match &self.prog[pc] {
                Inst::Jmp(t) => stack.push(*t),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Assert(a) => {
                    let ok = match a {
                        Assert::Start => pos == 0,
                        Assert::End => pos == s.len(),
                        Assert::Word | Assert::NotWord => {
                            let at = is_word(pos.checked_sub(1).and_then(|p| s.get(p)))
                                != is_word(s.get(pos));
                            at == (*a == Assert::Word)
                        }
                    };
                    if ok {
                        stack.push(pc + 1);
                    }
                }
                Inst::Match => matched = true,
                _ => list.push(pc),
            }
        }
        matched
    }

    /// Whether the whole of `text` matches.
    pub fn full_match(&self, text: &str) -> bool {
        let s: Vec<char> = text.chars().collect();
        let mut seen = vec![false; self.prog.len()];
        let mut list = Vec::new();
        let mut matched = self.add(&mut list, &mut seen, 0, &s, 0);
        for pos in 0..s.len() {
            if list.is_empty() {
                return false;
            }
            seen.iter_mut().for_each(|v| *v = false);
            let mut next = Vec::new();
            matched = false;
            for &pc in &list {
                let ok = match &self.prog[pc] {
                    Inst::Char(c) => *c == s[pos],
                    Inst::Class(k) => k.matches(s[pos]),
                    _ => false,
                };
                if ok {
                    matched |= self.add(&mut next, &mut seen, pc + 1, &s, pos + 1);
                }
            }
            list = next;
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().full_match(t)
    }

    #[test]
    fn onnx_test_patterns() {
        // Patterns and expectations from the ONNX RegexFullMatch backend tests (Python re agrees).
        let p = r"www\.[\w.-]+\.\bcom\b";
        assert!(m(p, "www.google.com") && m(p, "www.facebook.com") && !m(p, "www.bbc.co.uk"));
        let p = r"(\W|^)[\w.\-]{0,25}@(yahoo|gmail)\.com(\W|$)";
        assert!(m(p, "account@gmail.com") && !m(p, "account@hotmail.com"));
        assert!(!m(p, "not email") && m(p, "account2@yahoo.com"));
    }

    #[test]
    fn basics() {
        assert!(m("a*b+c?", "aaabb") && !m("a*b+c?", "aaa"));
        assert!(m("(ab|cd){2}", "abcd") && !m("(ab|cd){2}", "ab"));
        assert!(m("x{2,}", "xxx") && !m("x{2,3}", "xxxx"));
        assert!(m("[^0-9]+", "abc") && !m("[^0-9]+", "a1"));
        assert!(m(r"\d{3}-\d{4}", "555-1234"));
        assert!(m("a{,2}", "a{,2}"), "an invalid repeat is literal");
        assert!(m("(?:a|)+", "aaa") && m("(a*)*", ""));
        assert!(m("", "") && !m("", "x"));
        assert!(m(".*", "héllo") && !m(".", "\n"));
        assert!(m("a(?P<x>b)c", "abc"));
    }

    #[test]
    fn refuses_bad_or_unsupported_patterns() {
        for p in [
            "(a", "a)", "*a", "[a", r"(?=a)", r"(a)\1", "a{2000}", "[b-a]", "\\",
        ] {
            assert!(Regex::new(p).is_err(), "{p}");
        }
        assert!(Regex::new("(a{1000}){1000}").is_err(), "too large");
    }
}
