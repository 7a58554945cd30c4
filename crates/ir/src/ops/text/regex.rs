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

use crate::{bail, Result};

/// Most instructions one compiled pattern may have (counted repeats are expanded).
const MAX_PROGRAM: usize = 100_000;
/// Largest repeat count, as in RE2.
const MAX_REPEAT: u32 = 1000;

#[derive(Clone, Debug)]
enum ClassItem {
    Range(char, char),
    /// A Perl class (`w`, `d`, `s`), possibly negated.
    Perl(char, bool),
}

#[derive(Clone, Debug)]
struct Class {
    items: Vec<ClassItem>,
    negated: bool,
}

fn perl(kind: char, c: char) -> bool {
    match kind {
        'w' => c.is_ascii_alphanumeric() || c == '_',
        'd' => c.is_ascii_digit(),
        _ => matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b'),
    }
}

impl Class {
    fn matches(&self, c: char) -> bool {
        let hit = self.items.iter().any(|it| match *it {
            ClassItem::Range(a, b) => a <= c && c <= b,
            ClassItem::Perl(k, neg) => perl(k, c) != neg,
        });
        hit != self.negated
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Assert {
    Start,
    End,
    Word,
    NotWord,
}

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Char(char),
    Class(Class),
    Assert(Assert),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
    pattern: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn err<T>(&self, what: &str) -> Result<T> {
        bail!(
            "RegexFullMatch: {what} at position {} of pattern {:?}",
            self.i,
            self.pattern
        )
    }

    fn alt(&mut self) -> Result<Node> {
        let mut alts = vec![self.concat()?];
        while self.eat('|') {
            alts.push(self.concat()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(alts)
        })
    }

    fn concat(&mut self) -> Result<Node> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(items))
    }

    fn quantified(&mut self, mut atom: Node) -> Result<Node> {
        loop {
            let (min, max, len) = match self.peek() {
                Some('*') => (0, None, 1),
                Some('+') => (1, None, 1),
                Some('?') => (0, Some(1), 1),
                Some('{') => match self.counts() {
                    Some(r) => r,
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            self.i += len;
            if matches!(atom, Node::Empty | Node::Assert(_)) {
                return self.err("nothing to repeat");
            }
            if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                return self.err("bad repeat count");
            }
            self.eat('?');
            atom = Node::Repeat(Box::new(atom), min, max);
        }
    }

    /// Reads `{n}`, `{n,}` or `{n,m}` at the cursor as (min, max, length in chars), or `None`
    /// when it is not a valid repeat (then `{` is a literal, as in RE2).
    fn counts(&self) -> Option<(u32, Option<u32>, usize)> {
        let close = self.s[self.i..].iter().position(|&c| c == '}')?;
        let body: String = self.s[self.i + 1..self.i + close].iter().collect();
        let num = |t: &str| {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                // Saturate so an absurd count is refused as too large rather than as literal text.
                Some(t.parse::<u32>().unwrap_or(u32::MAX))
            }
        };
        let (min, max) = match body.split_once(',') {
            None => num(&body).map(|n| (n, Some(n))),
            Some((a, "")) => num(a).map(|n| (n, None)),
            Some((a, b)) => num(a).zip(num(b)).map(|(n, m)| (n, Some(m))),
        }?;
        Some((min, max, close + 1))
    }

    fn atom(&mut self) -> Result<Node> {
        let Some(c) = self.peek() else {
            return self.err("unexpected end");
        };
        self.i += 1;
        Ok(match c {
            '(' => {
                if self.eat('?') {
                    if self.eat('P') || self.peek() == Some('<') {
                        if !self.eat('<') {
                            return self.err("bad group name");
                        }
                        while self.peek().is_some_and(|c| c != '>') {
                            self.i += 1;
                        }
                        if !self.eat('>') {
                            return self.err("unterminated group name");
                        }
                    } else if !self.eat(':') {
                        return self.err("unsupported group flag or lookaround");
                    }
                }
                let inner = self.alt()?;
                if !self.eat(')') {
                    return self.err("missing )");
                }
                inner
            }
            ')' => return self.err("unmatched )"),
            '[' => Node::Class(self.class()?),
            '.' => Node::Class(Class {
                items: vec![ClassItem::Range('\n', '\n')],
                negated: true,
            }),
            '^' => Node::Assert(Assert::Start),
            '$' => Node::Assert(Assert::End),
            '*' | '+' | '?' => return self.err("nothing to repeat"),
            '\\' => self.escape(false)?,
            c => Node::Char(c),
        })
    }

    /// Parses the escape after a backslash; `in_class` refuses anchors.
    fn escape(&mut self, in_class: bool) -> Result<Node> {
        let Some(c) = self.peek() else {
            return self.err("trailing backslash");
        };
        self.i += 1;
        let class = |k: char, neg: bool| {
            Node::Class(Class {
                items: vec![ClassItem::Perl(k, neg)],
                negated: false,
            })
        };
        Ok(match c {
            'w' | 'd' | 's' => class(c, false),
            'W' | 'D' | 'S' => class(c.to_ascii_lowercase(), true),
            'b' if !in_class => Node::Assert(Assert::Word),
            'B' if !in_class => Node::Assert(Assert::NotWord),
            'A' if !in_class => Node::Assert(Assert::Start),
            'z' if !in_class => Node::Assert(Assert::End),
            'n' => Node::Char('\n'),
            't' => Node::Char('\t'),
            'r' => Node::Char('\r'),
            'f' => Node::Char('\x0c'),
            'v' => Node::Char('\x0b'),
            '0'..='9' => return self.err("backreferences and octal escapes are not supported"),
            c if c.is_ascii_alphanumeric() => return self.err("unsupported escape"),
            c => Node::Char(c),
        })
    }

    fn class(&mut self) -> Result<Class> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return self.err("missing ]");
            };
            if c == ']' && !first {
                self.i += 1;
                return Ok(Class { items, negated });
            }
            first = false;
            self.i += 1;
            let lo = match c {
                '\\' => match self.escape(true)? {
                    Node::Char(c) => c,
                    Node::Class(k) => {
                        items.extend(k.items);
                        continue;
                    }
                    _ => return self.err("bad escape in class"),
                },
                c => c,
            };
            if self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|&c| c != ']') {
                self.i += 1;
                let hi = match self.peek() {
                    Some('\\') => {
                        self.i += 1;
                        match self.escape(true)? {
                            Node::Char(c) => c,
                            _ => return self.err("bad class range"),
                        }
                    }
                    Some(h) => {
                        self.i += 1;
                        h
                    }
                    None => return self.err("missing ]"),
                };
                if hi < lo {
                    return self.err("bad class range");
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
    }
}

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
