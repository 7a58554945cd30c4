//! StringSplit: splits each string of a tensor on a delimiter, padding with empty strings.
//! Spec: <https://onnx.ai/onnx/operators/onnx__StringSplit.html>
//!
//! Attributes: `delimiter` (absent or empty: split on runs of whitespace, ignoring leading and
//! trailing whitespace, like Python's `str.split()`; otherwise every occurrence splits, so
//! consecutive delimiters give empty strings), `maxsplit` (optional: at most this many splits
//! from the left; the rest stays in the last piece). Input: string tensor X. Outputs:
//! `Y` = X.shape + [max pieces] (short rows padded with ""), `Z` = piece counts (int64, X.shape).
//! Opset 20 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::checked_numel;
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct StringSplit {
    pub delimiter: Option<String>,
    pub maxsplit: Option<i64>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let delimiter = ctx.attrs.string("delimiter")?;
    let maxsplit = ctx.attrs.int("maxsplit")?;
    Ok(Box::new(StringSplit {
        delimiter,
        maxsplit,
    }))
}

/// Python's `s.split(None, max)`.
fn split_whitespace(s: &str, max: Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if max.is_some_and(|m| out.len() == m) {
            out.push(rest.to_string());
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    out
}

impl StringSplit {
    fn split(&self, s: &str) -> Vec<String> {
        // A negative maxsplit means no limit, as in Python.
        let max = self.maxsplit.and_then(|m| usize::try_from(m).ok());
        match self.delimiter.as_deref() {
            None | Some("") => split_whitespace(s, max),
            Some(d) => match max {
                Some(m) => s
                    .splitn(m.saturating_add(1), d)
                    .map(str::to_string)
                    .collect(),
                None => s.split(d).map(str::to_string).collect(),
            },
        }
    }
}

impl Op for StringSplit {
    fn op_type(&self) -> &str {
        "StringSplit"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let s = ctx.tensor(0).shape;
        let y = s.clone().map(|mut s| {
            s.push(Dim::Unknown);
            s
        });
        Ok(vec![
            ValueType::Tensor(TensorType {
                dtype: Some(DType::String),
                shape: y,
            }),
            ValueType::Tensor(TensorType {
                dtype: Some(DType::I64),
                shape: s,
            }),
        ])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        if x.dtype() != DType::String {
            bail!("StringSplit: input must be strings, got {}", x.dtype());
        }
        let pieces: Vec<Vec<String>> = x.as_strings()?.iter().map(|s| self.split(s)).collect();
        let width = pieces.iter().map(Vec::len).max().unwrap_or(0);
        let shape = [x.shape(), &[width]].concat();
        let mut flat = Vec::with_capacity(checked_numel(&shape)?);
        for p in &pieces {
            flat.extend(p.iter().cloned());
            flat.extend(std::iter::repeat_n(String::new(), width - p.len()));
        }
        let counts: Vec<i64> = pieces.iter().map(|p| p.len() as i64).collect();
        Ok(vec![
            Tensor::from_strings(shape, flat)?.into(),
            Tensor::from_vec(x.shape().to_vec(), counts)?.into(),
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .opt_string("delimiter", self.delimiter.as_deref())
            .opt_int("maxsplit", self.maxsplit)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval;

    fn run(op: &StringSplit, v: &[&str]) -> (Vec<usize>, Vec<String>, Vec<i64>) {
        let x =
            Tensor::from_strings(vec![v.len()], v.iter().map(|s| s.to_string()).collect()).unwrap();
        let out = eval(op, &[Some(x)], 2).unwrap();
        let y = out[0].as_tensor().unwrap();
        (
            y.shape().to_vec(),
            y.as_strings().unwrap().to_vec(),
            out[1].as_tensor().unwrap().to_vec().unwrap(),
        )
    }

    #[test]
    fn delimiter_and_maxsplit() {
        // Python: "1,,2".split(",") == ["1", "", "2"]; "a,b,c".split(",", 1) == ["a", "b,c"].
        let op = StringSplit {
            delimiter: Some(",".into()),
            maxsplit: None,
        };
        let (s, y, z) = run(&op, &["1,,2", "x"]);
        assert_eq!(
            (s, y, z),
            (
                vec![2, 3],
                ["1", "", "2", "x", "", ""]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                vec![3, 1]
            )
        );
        let op = StringSplit {
            delimiter: Some(",".into()),
            maxsplit: Some(1),
        };
        assert_eq!(run(&op, &["a,b,c"]).1, vec!["a", "b,c"]);
    }

    #[test]
    fn whitespace_mode() {
        // Python: "  hello   world ! ".split() == ["hello", "world", "!"];
        // " a b c ".split(None, 1) == ["a", "b c "]; "".split() == [].
        let op = StringSplit {
            delimiter: None,
            maxsplit: None,
        };
        assert_eq!(
            run(&op, &["  hello   world ! "]).1,
            vec!["hello", "world", "!"]
        );
        assert_eq!(split_whitespace(" a b c ", Some(1)), vec!["a", "b c "]);
        let (s, _, z) = run(&op, &[""]);
        assert_eq!((s, z), (vec![1, 0], vec![0]));
    }
}
