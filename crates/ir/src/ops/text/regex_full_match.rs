//! RegexFullMatch: whether each string of a tensor fully matches an RE2 pattern.
//! Spec: <https://onnx.ai/onnx/operators/onnx__RegexFullMatch.html>
//!
//! Attributes: `pattern` (RE2 syntax; the supported subset is described in `regex.rs`).
//! Input: string tensor X. Output: bool tensor of X's shape. Opset 20 only.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::text::regex::Regex;
use crate::registry::BuildCtx;
use crate::{bail, AttrList, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};

#[derive(Clone, Debug)]
pub struct RegexFullMatch {
    pub pattern: String,
    regex: Regex,
}

impl RegexFullMatch {
    pub fn new(pattern: &str) -> Result<Self> {
        Ok(RegexFullMatch {
            pattern: pattern.to_string(),
            regex: Regex::new(pattern)?,
        })
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let Some(pattern) = ctx.attrs.string("pattern")? else {
        bail!("RegexFullMatch: attribute 'pattern' is required")
    };
    Ok(Box::new(RegexFullMatch::new(&pattern)?))
}

impl Op for RegexFullMatch {
    fn op_type(&self) -> &str {
        "RegexFullMatch"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(DType::Bool),
            shape: ctx.tensor(0).shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        if x.dtype() != DType::String {
            bail!("RegexFullMatch: input must be strings, got {}", x.dtype());
        }
        let y: Vec<bool> = x
            .as_strings()?
            .iter()
            .map(|s| self.regex.full_match(s))
            .collect();
        Ok(vec![Tensor::from_vec(x.shape().to_vec(), y)?.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default().string("pattern", &self.pattern).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    #[test]
    fn onnx_basic_example() {
        // test_regex_full_match_basic: expected [true, true, false].
        let op = RegexFullMatch::new(r"www\.[\w.-]+\.\bcom\b").unwrap();
        let v = ["www.google.com", "www.facebook.com", "www.bbc.co.uk"];
        let x = Tensor::from_strings(vec![3], v.iter().map(|s| s.to_string()).collect()).unwrap();
        assert_eq!(
            eval1(&op, &[Some(x)]).unwrap().to_vec::<bool>().unwrap(),
            vec![true, true, false]
        );
        assert!(RegexFullMatch::new("(").is_err());
    }
}
