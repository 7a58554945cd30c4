//! Constant: <https://onnx.ai/onnx/operators/onnx__Constant.html>
//!
//! No inputs; output `output` is the constant given by exactly one attribute:
//! `value` (tensor), `sparse_value` (sparse tensor, densified on import), `value_float`,
//! `value_floats`, `value_int`, `value_ints`, `value_string`, `value_strings` (scalars or 1-D).
//! Opset differences: v1/v9 only `value`; v11 adds `sparse_value`; v12 adds the `value_*` forms;
//! later versions only add dtypes. The attribute form is remembered so export reproduces it.

use crate::attr::Attribute;
use crate::op::{CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Cost, Result, Value, ValueType};
use edgeopt_tensor::Tensor;

/// Which attribute held the constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstForm {
    Value,
    SparseValue,
    Float,
    Floats,
    Int,
    Ints,
    String,
    Strings,
}

const FORMS: [(&str, ConstForm); 8] = [
    ("value", ConstForm::Value),
    ("sparse_value", ConstForm::SparseValue),
    ("value_float", ConstForm::Float),
    ("value_floats", ConstForm::Floats),
    ("value_int", ConstForm::Int),
    ("value_ints", ConstForm::Ints),
    ("value_string", ConstForm::String),
    ("value_strings", ConstForm::Strings),
];

#[derive(Clone, Debug)]
pub struct Constant {
    pub value: Tensor,
    pub form: ConstForm,
}

fn utf8(v: Vec<u8>) -> String {
    String::from_utf8_lossy(&v).into_owned()
}

/// The tensor an attribute of `form` denotes, or `None` when the attribute has the wrong kind.
fn to_tensor(form: ConstForm, a: Attribute) -> Result<Option<Tensor>> {
    use ConstForm as F;
    Ok(Some(match (form, a) {
        (F::Value, Attribute::Tensor(t)) => t,
        (F::SparseValue, Attribute::SparseTensor(t) | Attribute::Tensor(t)) => t,
        (F::Float, Attribute::Float(v)) => Tensor::scalar(v),
        (F::Floats, Attribute::Floats(v)) => Tensor::vec1(v),
        (F::Int, Attribute::Int(v)) => Tensor::scalar(v),
        (F::Ints, Attribute::Ints(v)) => Tensor::vec1(v),
        (F::String, Attribute::String(v)) => Tensor::from_strings(vec![], vec![utf8(v)])?,
        (F::Strings, Attribute::Strings(v)) => {
            let s: Vec<String> = v.into_iter().map(utf8).collect();
            Tensor::from_strings(vec![s.len()], s)?
        }
        _ => return Ok(None),
    }))
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let present: Vec<&str> = FORMS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| ctx.attrs.has(n))
        .collect();
    if present.len() != 1 {
        bail!(
            "Constant: exactly one of the value attributes must be set, found {:?}",
            present
        );
    }
    let (name, form) = FORMS
        .iter()
        .copied()
        .find(|(n, _)| *n == present[0])
        .unwrap_or(FORMS[0]);
    let Some(a) = ctx.attrs.take(name) else {
        bail!("Constant: attribute '{name}' vanished")
    };
    let kind = a.kind();
    match to_tensor(form, a)? {
        Some(value) => Ok(Box::new(Constant { value, form })),
        None => bail!("Constant: attribute '{name}' has the wrong kind ({kind})"),
    }
}

impl Constant {
    fn strings(&self) -> Vec<Vec<u8>> {
        self.value
            .as_strings()
            .map(|s| s.iter().map(|x| x.as_bytes().to_vec()).collect())
            .unwrap_or_default()
    }
}

impl Op for Constant {
    fn op_type(&self) -> &str {
        "Constant"
    }

    fn infer(&self, _ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::known(
            self.value.dtype(),
            self.value.shape(),
        )])
    }

    fn eval(&self, _ctx: &EvalCtx, _inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![Value::Tensor(self.value.clone())])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        ctx.movement()
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        use ConstForm as F;
        let v = &self.value;
        let a = match self.form {
            F::Value => Attribute::Tensor(v.clone()),
            F::SparseValue => Attribute::SparseTensor(v.clone()),
            F::Float => Attribute::Float(
                v.to_vec::<f32>()
                    .ok()
                    .and_then(|x| x.first().copied())
                    .unwrap_or(0.0),
            ),
            F::Floats => Attribute::Floats(v.to_vec::<f32>().unwrap_or_default()),
            F::Int => Attribute::Int(
                v.to_vec::<i64>()
                    .ok()
                    .and_then(|x| x.first().copied())
                    .unwrap_or(0),
            ),
            F::Ints => Attribute::Ints(v.to_vec::<i64>().unwrap_or_default()),
            F::String => Attribute::String(self.strings().into_iter().next().unwrap_or_default()),
            F::Strings => Attribute::Strings(self.strings()),
        };
        let name = FORMS
            .iter()
            .find(|(_, f)| *f == self.form)
            .map(|(n, _)| *n)
            .unwrap_or("value");
        vec![(name.to_string(), a)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attrs;
    use crate::ops::testing::eval1;
    use edgeopt_tensor::DType;

    fn make(name: &str, a: Attribute) -> Result<Box<dyn Op>> {
        let mut attrs = Attrs::default();
        attrs.insert(name, a);
        build(&mut BuildCtx {
            opset: 13,
            attrs: &mut attrs,
            num_inputs: 0,
            num_outputs: 1,
        })
    }

    #[test]
    fn every_form_builds_and_round_trips() {
        let cases = [
            ("value", Attribute::Tensor(Tensor::vec1(vec![1f32, 2.]))),
            (
                "sparse_value",
                Attribute::SparseTensor(Tensor::vec1(vec![0i64, 5])),
            ),
            ("value_float", Attribute::Float(1.5)),
            ("value_floats", Attribute::Floats(vec![1.0, 2.0])),
            ("value_int", Attribute::Int(7)),
            ("value_ints", Attribute::Ints(vec![3, 4, 5])),
            ("value_string", Attribute::String(b"hi".to_vec())),
            (
                "value_strings",
                Attribute::Strings(vec![b"a".to_vec(), b"b".to_vec()]),
            ),
        ];
        for (name, a) in cases {
            let op = make(name, a).unwrap();
            let y = eval1(op.as_ref(), &[]).unwrap();
            let attrs = op.attributes();
            assert_eq!(attrs[0].0, name);
            let again = make(name, attrs[0].1.clone()).unwrap();
            assert!(eval1(again.as_ref(), &[]).unwrap().bit_eq(&y), "{name}");
        }
    }

    #[test]
    fn scalar_forms_have_rank_zero() {
        let y = eval1(make("value_int", Attribute::Int(7)).unwrap().as_ref(), &[]).unwrap();
        assert_eq!((y.dtype(), y.shape()), (DType::I64, &[][..]));
        assert_eq!(y.as_slice::<i64>().unwrap(), &[7]);
        let y = eval1(
            make("value_strings", Attribute::Strings(vec![b"x".to_vec()]))
                .unwrap()
                .as_ref(),
            &[],
        );
        assert_eq!(y.unwrap().shape(), &[1]);
    }

    #[test]
    fn zero_or_two_values_or_wrong_kind_are_errors() {
        let mut attrs = Attrs::default();
        assert!(build(&mut BuildCtx {
            opset: 13,
            attrs: &mut attrs,
            num_inputs: 0,
            num_outputs: 1
        })
        .is_err());
        attrs.insert("value_int", Attribute::Int(1));
        attrs.insert("value_float", Attribute::Float(1.0));
        assert!(build(&mut BuildCtx {
            opset: 13,
            attrs: &mut attrs,
            num_inputs: 0,
            num_outputs: 1
        })
        .is_err());
        assert!(make("value_int", Attribute::Float(1.0)).is_err());
    }
}
