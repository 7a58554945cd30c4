//! LabelEncoder (ai.onnx.ml): maps each input element through a key -> value table.
//! Spec: <https://onnx.ai/onnx/operators/onnx_aionnxml_LabelEncoder.html>
//!
//! Attributes (opset 2+): keys as one of `keys_strings`, `keys_int64s`, `keys_floats`,
//! `keys_tensor` (opset 4); values as one of `values_strings`, `values_int64s`,
//! `values_floats`, `values_tensor` (opset 4), of the same length; the default for missing keys
//! as `default_string` ("_Unused"), `default_int64` (-1), `default_float` (-0.0) or
//! `default_tensor` (opset 4; one element), picked by the values' type. Input: a tensor of the
//! keys' type. Output: the values' type, the input's shape. Float keys match NaN to NaN.
//! The opset 1 form (`classes_strings`) is refused.

use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::sequence::common::gather_flat;
use crate::registry::BuildCtx;
use crate::{bail, Attribute, Result, TensorType, Value, ValueType};
use edgeopt_tensor::{DType, Tensor};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    S(String),
    I(i64),
    /// f64 bits, with every NaN folded to one pattern.
    F(u64),
}

/// The elements of `t` as lookup keys.
fn keys_of(t: &Tensor) -> Result<Vec<Key>> {
    Ok(match t.dtype() {
        DType::String => t.as_strings()?.iter().map(|s| Key::S(s.clone())).collect(),
        d if d.is_int() => t.to_i64_vec()?.into_iter().map(Key::I).collect(),
        d if d.is_float() => t
            .to_f64_vec()?
            .into_iter()
            .map(|v| {
                Key::F(if v.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    v.to_bits()
                })
            })
            .collect(),
        d => bail!("LabelEncoder: keys of type {d} are not supported"),
    })
}

#[derive(Clone, Debug)]
pub struct LabelEncoder {
    /// The attributes as given, exported unchanged.
    pub attrs: Vec<(String, Attribute)>,
    keys: Tensor,
    map: HashMap<Key, usize>,
    /// The values followed by the default, so a miss gathers the last element.
    table: Tensor,
}

/// Reads one of the list forms or the tensor form of an attribute family.
fn list_or_tensor(
    ctx: &mut BuildCtx,
    base: &str,
    used: &mut Vec<(String, Attribute)>,
) -> Result<Option<Tensor>> {
    let mut found = Vec::new();
    for suffix in ["strings", "int64s", "floats", "tensor"] {
        let name = format!("{base}_{suffix}");
        let Some(a) = ctx.attrs.take(&name) else {
            continue;
        };
        used.push((name.clone(), a.clone()));
        found.push(match a {
            Attribute::Strings(v) => Tensor::from_strings(
                vec![v.len()],
                v.into_iter()
                    .map(|s| String::from_utf8_lossy(&s).into_owned())
                    .collect(),
            )?,
            Attribute::Ints(v) => Tensor::vec1(v),
            Attribute::Floats(v) => Tensor::vec1(v),
            Attribute::Tensor(t) => t.reshape(vec![t.len()])?,
            a => bail!(
                "LabelEncoder: attribute {name} has the wrong kind ({})",
                a.kind()
            ),
        });
    }
    if found.len() > 1 {
        bail!("LabelEncoder: only one {base}_* attribute may be given");
    }
    Ok(found.pop())
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    if ctx.attrs.has("classes_strings") {
        bail!("LabelEncoder: the opset 1 form (classes_strings) is not supported");
    }
    let mut attrs = Vec::new();
    let keys = list_or_tensor(ctx, "keys", &mut attrs)?;
    let values = list_or_tensor(ctx, "values", &mut attrs)?;
    let (Some(keys), Some(values)) = (keys, values) else {
        bail!("LabelEncoder: keys_* and values_* are required")
    };
    if keys.len() != values.len() {
        bail!(
            "LabelEncoder: {} keys but {} values",
            keys.len(),
            values.len()
        );
    }
    let default = match values.dtype() {
        DType::String => {
            let s = ctx.attrs.string("default_string")?;
            if let Some(s) = &s {
                attrs.push((
                    "default_string".into(),
                    Attribute::String(s.clone().into_bytes()),
                ));
            }
            Tensor::from_strings(vec![1], vec![s.unwrap_or_else(|| "_Unused".into())])?
        }
        DType::I64 if ctx.attrs.has("default_int64") => {
            let v = ctx.attrs.req_int("default_int64")?;
            attrs.push(("default_int64".into(), Attribute::Int(v)));
            Tensor::vec1(vec![v])
        }
        DType::F32 if ctx.attrs.has("default_float") => {
            let v = ctx.attrs.float_or("default_float", -0.0)?;
            attrs.push(("default_float".into(), Attribute::Float(v)));
            Tensor::vec1(vec![v])
        }
        d => Tensor::from_f64s(d, vec![1], &[if d.is_float() { -0.0 } else { -1.0 }])?,
    };
    let default = match ctx.attrs.tensor("default_tensor")? {
        Some(t) if t.len() == 1 && t.dtype() == values.dtype() => {
            attrs.push(("default_tensor".into(), Attribute::Tensor(t.clone())));
            t.reshape(vec![1])?
        }
        Some(t) => bail!(
            "LabelEncoder: default_tensor must be one {} element, got {} {:?}",
            values.dtype(),
            t.dtype(),
            t.shape()
        ),
        None => default,
    };
    // Other default_* attributes belong to other value types; keep them for export.
    for name in ["default_string", "default_int64", "default_float"] {
        if let Some(a) = ctx.attrs.take(name) {
            attrs.push((name.into(), a));
        }
    }
    let mut map = HashMap::new();
    for (i, k) in keys_of(&keys)?.into_iter().enumerate() {
        map.entry(k).or_insert(i);
    }
    let table = crate::ops::sequence::common::concat(&[values, default], 0)?;
    Ok(Box::new(LabelEncoder {
        attrs,
        keys,
        map,
        table,
    }))
}

impl Op for LabelEncoder {
    fn op_type(&self) -> &str {
        "LabelEncoder"
    }

    fn domain(&self) -> &str {
        "ai.onnx.ml"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(self.table.dtype()),
            shape: ctx.tensor(0).shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        if (x.dtype() == DType::String) != (self.keys.dtype() == DType::String) {
            bail!(
                "LabelEncoder: input is {} but the keys are {}",
                x.dtype(),
                self.keys.dtype()
            );
        }
        let miss = self.table.len() - 1;
        let idx: Vec<usize> = keys_of(x)?
            .iter()
            .map(|k| self.map.get(k).copied().unwrap_or(miss))
            .collect();
        Ok(vec![
            gather_flat(&self.table, &idx, x.shape().to_vec())?.into()
        ])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        self.attrs.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;
    use crate::Attrs;

    fn build_with(attrs: Vec<(&str, Attribute)>) -> Result<Box<dyn Op>> {
        let mut a = Attrs::default();
        for (n, v) in attrs {
            a.insert(n, v);
        }
        build(&mut BuildCtx {
            opset: 4,
            attrs: &mut a,
            num_inputs: 1,
            num_outputs: 1,
        })
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn string_to_int_with_default() {
        // test_ai_onnx_ml_label_encoder_string_int: [a, b, d, c, g] -> [0, 1, 42, 2, 42].
        let op = build_with(vec![
            ("keys_strings", Attribute::Strings(strs(&["a", "b", "c"]))),
            ("values_int64s", Attribute::Ints(vec![0, 1, 2])),
            ("default_int64", Attribute::Int(42)),
        ])
        .unwrap();
        let x = Tensor::from_strings(
            vec![5],
            ["a", "b", "d", "c", "g"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        assert_eq!(
            eval1(op.as_ref(), &[Some(x.unwrap())])
                .unwrap()
                .to_vec::<i64>()
                .unwrap(),
            vec![0, 1, 42, 2, 42]
        );
        assert_eq!(op.attributes().len(), 3);
    }

    #[test]
    fn float_keys_tensor_values_and_errors() {
        let op = build_with(vec![
            ("keys_floats", Attribute::Floats(vec![f32::NAN, 1.5])),
            (
                "values_tensor",
                Attribute::Tensor(Tensor::vec1(vec![7i32, 8])),
            ),
        ])
        .unwrap();
        let y = eval1(
            op.as_ref(),
            &[Some(Tensor::vec1(vec![1.5f32, f32::NAN, 0.0]))],
        )
        .unwrap();
        assert_eq!(y.to_vec::<i32>().unwrap(), vec![8, 7, -1]);
        assert!(build_with(vec![
            ("keys_int64s", Attribute::Ints(vec![1])),
            ("values_int64s", Attribute::Ints(vec![]))
        ])
        .is_err());
    }
}
