//! Run-time values and their static types.

use edgeopt_tensor::{shape::fmt_sym, DType, Dim, SymShape, Tensor};
use std::fmt;

/// A value flowing along a graph edge at run time.
#[derive(Clone, Debug)]
pub enum Value {
    Tensor(Tensor),
    Sequence(Vec<Tensor>),
    /// An optional (ONNX `optional(...)`): `None` is the empty optional.
    Optional(Option<Box<Value>>),
}

impl Value {
    pub fn as_tensor(&self) -> Option<&Tensor> {
        match self {
            Value::Tensor(t) => Some(t),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::Tensor(_) => "tensor",
            Value::Sequence(_) => "sequence",
            Value::Optional(_) => "optional",
        }
    }
}

impl From<Tensor> for Value {
    fn from(t: Tensor) -> Self {
        Value::Tensor(t)
    }
}

/// Static type of a tensor value: dtype and shape, each possibly unknown.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TensorType {
    pub dtype: Option<DType>,
    pub shape: Option<SymShape>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: SymShape) -> Self {
        TensorType {
            dtype: Some(dtype),
            shape: Some(shape),
        }
    }

    pub fn known(dtype: DType, shape: &[usize]) -> Self {
        TensorType::new(dtype, shape.iter().map(|&d| Dim::Known(d)).collect())
    }

    pub fn of(t: &Tensor) -> Self {
        TensorType::known(t.dtype(), t.shape())
    }

    /// Concrete shape when every dim is known.
    pub fn concrete_shape(&self) -> Option<Vec<usize>> {
        self.shape
            .as_deref()
            .and_then(edgeopt_tensor::shape::concrete)
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }
}

/// Static type of a graph value.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum ValueType {
    Tensor(TensorType),
    Sequence(Box<ValueType>),
    Optional(Box<ValueType>),
    #[default]
    Unknown,
}

impl ValueType {
    pub fn tensor(dtype: DType, shape: SymShape) -> Self {
        ValueType::Tensor(TensorType::new(dtype, shape))
    }

    pub fn known(dtype: DType, shape: &[usize]) -> Self {
        ValueType::Tensor(TensorType::known(dtype, shape))
    }

    /// A tensor of known dtype and unknown shape.
    pub fn dtype_only(dtype: DType) -> Self {
        ValueType::Tensor(TensorType {
            dtype: Some(dtype),
            shape: None,
        })
    }

    pub fn as_tensor(&self) -> Option<&TensorType> {
        match self {
            ValueType::Tensor(t) => Some(t),
            _ => None,
        }
    }

    pub fn dtype(&self) -> Option<DType> {
        self.as_tensor().and_then(|t| t.dtype)
    }

    pub fn shape(&self) -> Option<&SymShape> {
        self.as_tensor().and_then(|t| t.shape.as_ref())
    }

    pub fn of_value(v: &Value) -> Self {
        match v {
            Value::Tensor(t) => ValueType::Tensor(TensorType::of(t)),
            Value::Sequence(s) => ValueType::Sequence(Box::new(
                s.first()
                    .map(|t| ValueType::dtype_only(t.dtype()))
                    .unwrap_or_default(),
            )),
            Value::Optional(o) => ValueType::Optional(Box::new(
                o.as_ref()
                    .map(|v| ValueType::of_value(v))
                    .unwrap_or_default(),
            )),
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::Tensor(t) => {
                match t.dtype {
                    Some(d) => write!(f, "{d}")?,
                    None => f.write_str("?")?,
                }
                match &t.shape {
                    Some(s) => f.write_str(&fmt_sym(s)),
                    None => f.write_str("[..]"),
                }
            }
            ValueType::Sequence(e) => write!(f, "seq<{e}>"),
            ValueType::Optional(e) => write!(f, "opt<{e}>"),
            ValueType::Unknown => f.write_str("?"),
        }
    }
}
