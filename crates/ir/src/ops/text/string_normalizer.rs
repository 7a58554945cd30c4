//! StringNormalizer: removes stop words from a string tensor, then changes case.
//! Spec: <https://onnx.ai/onnx/operators/onnx__StringNormalizer.html>
//!
//! Attributes: `case_change_action` ("LOWER", "UPPER", default "NONE"), `is_case_sensitive`
//! (default 0: stop words match regardless of case), `locale` (kept for export; case mapping
//! here is Unicode's, locale independent), `stopwords` (elements equal to one are dropped).
//! Input: string tensor [C] or [1, C]. Output: the kept elements, [C'] or [1, C']; when every
//! element is dropped, a single empty string ([1] or [1, 1]). Opset 10 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Result, Value, ValueType};
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseChange {
    None,
    Lower,
    Upper,
}

#[derive(Clone, Debug)]
pub struct StringNormalizer {
    pub case_change: CaseChange,
    pub case_sensitive: bool,
    pub locale: Option<String>,
    pub stopwords: Vec<String>,
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let case_change = match ctx.attrs.string_or("case_change_action", "NONE")?.as_str() {
        "NONE" => CaseChange::None,
        "LOWER" => CaseChange::Lower,
        "UPPER" => CaseChange::Upper,
        other => bail!(
            "StringNormalizer: case_change_action must be NONE, LOWER or UPPER, got '{other}'"
        ),
    };
    let case_sensitive = ctx.attrs.int_or("is_case_sensitive", 0)? != 0;
    let locale = ctx.attrs.string("locale")?;
    let stopwords = ctx.attrs.strings("stopwords")?.unwrap_or_default();
    Ok(Box::new(StringNormalizer {
        case_change,
        case_sensitive,
        locale,
        stopwords,
    }))
}

impl StringNormalizer {
    fn is_stopword(&self, w: &str) -> bool {
        if self.case_sensitive {
            self.stopwords.iter().any(|s| s == w)
        } else {
            let w = w.to_lowercase();
            self.stopwords.iter().any(|s| s.to_lowercase() == w)
        }
    }

    fn change_case(&self, w: &str) -> String {
        match self.case_change {
            CaseChange::None => w.to_string(),
            CaseChange::Lower => w.to_lowercase(),
            CaseChange::Upper => w.to_uppercase(),
        }
    }
}

impl Op for StringNormalizer {
    fn op_type(&self) -> &str {
        "StringNormalizer"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let n = if self.stopwords.is_empty() {
            None
        } else {
            Some(Dim::Unknown)
        };
        let shape = ctx.tensor(0).shape.map(|s| match (s.len(), &n) {
            (2, Some(d)) => vec![s[0].clone(), d.clone()],
            (1, Some(d)) => vec![d.clone()],
            _ => s,
        });
        Ok(vec![ValueType::Tensor(crate::TensorType {
            dtype: Some(DType::String),
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let two_d = match x.shape() {
            [_] => false,
            [1, _] => true,
            s => bail!("StringNormalizer: input must have shape [C] or [1, C], got {s:?}"),
        };
        let kept: Vec<String> = x
            .as_strings()?
            .iter()
            .filter(|w| !self.is_stopword(w))
            .map(|w| self.change_case(w))
            .collect();
        let kept = if kept.is_empty() {
            vec![String::new()]
        } else {
            kept
        };
        let shape = if two_d {
            vec![1, kept.len()]
        } else {
            vec![kept.len()]
        };
        Ok(vec![Tensor::from_strings(shape, kept)?.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        let case = match self.case_change {
            CaseChange::None => "NONE",
            CaseChange::Lower => "LOWER",
            CaseChange::Upper => "UPPER",
        };
        let mut a = AttrList::default()
            .string("case_change_action", case)
            .int("is_case_sensitive", self.case_sensitive as i64)
            .opt_string("locale", self.locale.as_deref());
        if !self.stopwords.is_empty() {
            a = a.strings("stopwords", &self.stopwords);
        }
        a.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn op(case_change: CaseChange, case_sensitive: bool) -> StringNormalizer {
        StringNormalizer {
            case_change,
            case_sensitive,
            locale: None,
            stopwords: strs(&["monday"]),
        }
    }

    #[test]
    fn onnx_examples() {
        // From the ONNX StringNormalizer backend tests.
        let x = Tensor::from_strings(
            vec![1, 6],
            strs(&[
                "Monday",
                "tuesday",
                "wednesday",
                "Monday",
                "tuesday",
                "wednesday",
            ]),
        );
        let y = eval1(&op(CaseChange::Upper, false), &[Some(x.unwrap())]).unwrap();
        assert_eq!(y.shape(), &[1, 4]);
        assert_eq!(
            y.as_strings().unwrap(),
            &strs(&["TUESDAY", "WEDNESDAY", "TUESDAY", "WEDNESDAY"])[..]
        );
        let x = Tensor::from_strings(vec![3], strs(&["monday", "tuesday", "Monday"])).unwrap();
        let y = eval1(&op(CaseChange::Lower, true), &[Some(x)]).unwrap();
        assert_eq!(y.as_strings().unwrap(), &strs(&["tuesday", "monday"])[..]);
        let x = Tensor::from_strings(vec![2], strs(&["monday", "monday"])).unwrap();
        let y = eval1(&op(CaseChange::None, true), &[Some(x)]).unwrap();
        assert_eq!(
            (y.shape(), y.as_strings().unwrap()),
            (&[1usize][..], &strs(&[""])[..])
        );
    }

    #[test]
    fn refuses_bad_shapes() {
        let x = Tensor::from_strings(vec![2, 1], strs(&["a", "b"])).unwrap();
        assert!(eval1(&op(CaseChange::None, true), &[Some(x)]).is_err());
    }
}
