//! Cast: converts a tensor to the dtype `to`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Cast.html>
//!
//! Attributes: `to` (required; a dtype code, or a type name such as "FLOAT" in opset 1),
//! `saturate` (opset 19+, default 1: out-of-range values and infinities become the largest
//! finite 8-bit float instead of NaN/Inf), `round_mode` (opset 24+, "up" | "nearest" | "down",
//! default "up", used only toward FLOAT8E8M0).
//! Input: `input`. Output: `output` of dtype `to`, same shape.
//! Opsets 1, 6, 9, 13, 19, 21, 23, 24, 25 only widened the type list (strings since 9, 8-bit
//! floats since 19, 4-bit since 21, E2M1 since 23, E8M0 since 24, 2-bit since 25).

use super::convert::RoundMode;
use super::kernel::{cast_tensor, CastOpts};
use crate::attr::{AttrList, Attribute};
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, Result, TensorType, Value, ValueType};
use edgeopt_tensor::DType;

#[derive(Clone, Debug)]
pub struct Cast {
    pub to: DType,
    /// As given; absent means 1.
    pub saturate: Option<i64>,
    /// As given; absent means "up".
    pub round_mode: Option<RoundMode>,
}

/// Opset 1 spelled `to` as a TensorProto.DataType name.
fn dtype_from_name(name: &str) -> Option<DType> {
    let code = match name.to_ascii_uppercase().as_str() {
        "FLOAT" => 1,
        "UINT8" => 2,
        "INT8" => 3,
        "UINT16" => 4,
        "INT16" => 5,
        "INT32" => 6,
        "INT64" => 7,
        "STRING" => 8,
        "BOOL" => 9,
        "FLOAT16" => 10,
        "DOUBLE" => 11,
        "UINT32" => 12,
        "UINT64" => 13,
        "BFLOAT16" => 16,
        _ => return None,
    };
    DType::from_onnx_code(code)
}

/// Reads the required `to` attribute of `op` (Cast, BitCast).
pub fn parse_to(ctx: &mut BuildCtx, op: &str) -> Result<DType> {
    match ctx.attrs.take("to") {
        Some(Attribute::Int(code)) => {
            match i32::try_from(code).ok().and_then(DType::from_onnx_code) {
                Some(d) => Ok(d),
                None => bail!("{op}: attribute 'to' = {code} is not a supported data type"),
            }
        }
        Some(Attribute::String(name)) => {
            let name = String::from_utf8_lossy(&name).into_owned();
            dtype_from_name(&name).ok_or_else(|| {
                crate::IrError::Op(format!("{op}: unknown type name 'to' = '{name}'"))
            })
        }
        Some(a) => bail!("{op}: attribute 'to' should be an int, found {}", a.kind()),
        None => bail!("{op}: required attribute 'to' is missing"),
    }
}

/// Reads `saturate` and `round_mode` (shared with CastLike).
pub fn parse_opts(ctx: &mut BuildCtx, op: &str) -> Result<(Option<i64>, Option<RoundMode>)> {
    let saturate = ctx.attrs.int("saturate")?;
    let round_mode = match ctx.attrs.string("round_mode")? {
        None => None,
        Some(s) => match RoundMode::parse(&s) {
            Some(m) => Some(m),
            None => bail!("{op}: round_mode must be 'up', 'nearest' or 'down', got '{s}'"),
        },
    };
    Ok((saturate, round_mode))
}

pub fn opts_of(saturate: Option<i64>, round_mode: Option<RoundMode>) -> CastOpts {
    CastOpts {
        saturate: saturate.unwrap_or(1) != 0,
        round_mode: round_mode.unwrap_or_default(),
    }
}

pub fn export_opts(l: AttrList, saturate: Option<i64>, round_mode: Option<RoundMode>) -> AttrList {
    l.opt_int("saturate", saturate)
        .opt_string("round_mode", round_mode.map(|m| m.name()))
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let to = parse_to(ctx, "Cast")?;
    let (saturate, round_mode) = parse_opts(ctx, "Cast")?;
    Ok(Box::new(Cast {
        to,
        saturate,
        round_mode,
    }))
}

impl Op for Cast {
    fn op_type(&self) -> &str {
        "Cast"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let shape = ctx.tensor(0).shape;
        Ok(vec![ValueType::Tensor(TensorType {
            dtype: Some(self.to),
            shape,
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let y = cast_tensor(x, self.to, opts_of(self.saturate, self.round_mode))?;
        Ok(vec![y.into()])
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        export_opts(
            AttrList::default().int("to", self.to.onnx_code() as i64),
            self.saturate,
            self.round_mode,
        )
        .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attrs;
    use crate::ops::testing::{eval1, infer};
    use edgeopt_tensor::Tensor;

    fn op(attrs: Vec<(&str, Attribute)>) -> Result<Box<dyn Op>> {
        let mut a = Attrs::new(attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        build(&mut BuildCtx {
            opset: 21,
            attrs: &mut a,
            num_inputs: 1,
            num_outputs: 1,
        })
    }

    #[test]
    fn no_saturate_float_to_e4m3fn() {
        // test_cast_no_saturate_FLOAT_to_FLOAT8E4M3FN: 1e6 -> NaN (0x7F), -inf -> 0xFF.
        let c = op(vec![
            ("to", Attribute::Int(17)),
            ("saturate", Attribute::Int(0)),
        ])
        .unwrap();
        let y = eval1(
            c.as_ref(),
            &[Some(Tensor::vec1(vec![1e6f32, f32::NEG_INFINITY, 0.5]))],
        )
        .unwrap();
        assert_eq!(y.dtype(), DType::F8E4M3FN);
        assert_eq!(y.as_bytes(), &[0x7F, 0xFF, 0x30]);
        assert_eq!(c.attributes().len(), 2);
    }

    #[test]
    fn e8m0_round_modes() {
        // onnx.numpy_helper.to_float8e8m0([1.1, 0.0], round_mode=...) -> up: [128, 0], down: [127, 0]
        let x = Tensor::vec1(vec![1.1f32, 0.0]);
        for (mode, want) in [
            ("up", [128u8, 0]),
            ("down", [127, 0]),
            ("nearest", [127, 0]),
        ] {
            let c = op(vec![
                ("to", Attribute::Int(24)),
                ("round_mode", Attribute::String(mode.into())),
            ])
            .unwrap();
            assert_eq!(
                eval1(c.as_ref(), &[Some(x.clone())]).unwrap().as_bytes(),
                &want,
                "{mode}"
            );
        }
    }

    #[test]
    fn opset1_type_names_and_errors() {
        let c = op(vec![("to", Attribute::String(b"DOUBLE".to_vec()))]).unwrap();
        let t = infer(c.as_ref(), &[Some(Tensor::vec1(vec![1i32]))], 1).unwrap();
        assert_eq!(t[0], ValueType::known(DType::F64, &[1]));
        assert!(op(vec![("to", Attribute::Int(14))]).is_err());
        assert!(op(vec![]).is_err());
        assert!(op(vec![
            ("to", Attribute::Int(1)),
            ("round_mode", Attribute::String(b"sideways".to_vec()))
        ])
        .is_err());
    }
}
