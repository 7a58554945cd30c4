//! The pattern parser of the regex engine: RE2-syntax text to an AST.

use crate::{bail, Result};

/// Largest repeat count, as in RE2.
pub const MAX_REPEAT: u32 = 1000;

#[derive(Clone, Debug)]
pub enum ClassItem {
    Range(char, char),
    /// A Perl class (`w`, `d`, `s`), possibly negated.
    Perl(char, bool),
}

#[derive(Clone, Debug)]
pub struct Class {
    pub items: Vec<ClassItem>,
    pub negated: bool,
}

pub fn perl(kind: char, c: char) -> bool {
    match kind {
        'w' => c.is_ascii_alphanumeric() || c == '_',
        'd' => c.is_ascii_digit(),
        _ => matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b'),
    }
}

impl Class {
    pub fn matches(&self, c: char) -> bool {
        let hit = self.items.iter().any(|it| match *it {
            ClassItem::Range(a, b) => a <= c && c <= b,
            ClassItem::Perl(k, neg) => perl(k, c) != neg,
        });
        hit != self.negated
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Assert {
    Start,
    End,
    Word,
    NotWord,
}

#[derive(Clone, Debug)]
pub enum Node {
    Empty,
    Char(char),
    Class(Class),
    Assert(Assert),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

pub struct Parser<'a> {
    pub s: &'a [char],
    pub i: usize,
    pub pattern: &'a str,
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

    pub fn err<T>(&self, what: &str) -> Result<T> {
        bail!(
            "RegexFullMatch: {what} at position {} of pattern {:?}",
            self.i,
            self.pattern
        )
    }

    pub fn alt(&mut self) -> Result<Node> {
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
