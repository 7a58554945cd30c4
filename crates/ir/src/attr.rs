//! Node attributes, independent of the ONNX protobuf types, and a typed reader for op builders.

use crate::{Graph, IrError, Result, ValueType};
use edgeopt_tensor::Tensor;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub enum Attribute {
    Float(f32),
    Int(i64),
    String(Vec<u8>),
    Tensor(Tensor),
    Graph(Box<Graph>),
    Type(ValueType),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Vec<u8>>),
    Tensors(Vec<Tensor>),
    Graphs(Vec<Graph>),
    /// A sparse tensor attribute, densified on import.
    SparseTensor(Tensor),
}

impl Attribute {
    pub fn kind(&self) -> &'static str {
        match self {
            Attribute::Float(_) => "float",
            Attribute::Int(_) => "int",
            Attribute::String(_) => "string",
            Attribute::Tensor(_) => "tensor",
            Attribute::Graph(_) => "graph",
            Attribute::Type(_) => "type",
            Attribute::Floats(_) => "floats",
            Attribute::Ints(_) => "ints",
            Attribute::Strings(_) => "strings",
            Attribute::Tensors(_) => "tensors",
            Attribute::Graphs(_) => "graphs",
            Attribute::SparseTensor(_) => "sparse_tensor",
        }
    }
}

/// The attributes of one node while its op is being built. Each getter removes what it reads,
/// so the builder can tell which attributes were never understood.
#[derive(Debug, Default)]
pub struct Attrs {
    map: BTreeMap<String, Attribute>,
}

fn wrong(name: &str, want: &str, got: &Attribute) -> IrError {
    IrError::Op(format!(
        "attribute '{name}' should be {want}, found {}",
        got.kind()
    ))
}

impl Attrs {
    pub fn new(map: BTreeMap<String, Attribute>) -> Self {
        Attrs { map }
    }

    pub fn insert(&mut self, name: &str, a: Attribute) {
        self.map.insert(name.to_string(), a);
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn take(&mut self, name: &str) -> Option<Attribute> {
        self.map.remove(name)
    }

    /// Names of the attributes no getter consumed.
    pub fn leftover(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    pub fn int(&mut self, name: &str) -> Result<Option<i64>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::Int(v)) => Ok(Some(v)),
            Some(a) => Err(wrong(name, "an int", &a)),
        }
    }

    pub fn int_or(&mut self, name: &str, default: i64) -> Result<i64> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    pub fn req_int(&mut self, name: &str) -> Result<i64> {
        self.int(name)?
            .ok_or_else(|| IrError::Op(format!("required attribute '{name}' is missing")))
    }

    pub fn float(&mut self, name: &str) -> Result<Option<f32>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::Float(v)) => Ok(Some(v)),
            Some(Attribute::Int(v)) => Ok(Some(v as f32)),
            Some(a) => Err(wrong(name, "a float", &a)),
        }
    }

    pub fn float_or(&mut self, name: &str, default: f32) -> Result<f32> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    pub fn string(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::String(v)) => Ok(Some(String::from_utf8_lossy(&v).into_owned())),
            Some(a) => Err(wrong(name, "a string", &a)),
        }
    }

    pub fn string_or(&mut self, name: &str, default: &str) -> Result<String> {
        Ok(self.string(name)?.unwrap_or_else(|| default.to_string()))
    }

    pub fn ints(&mut self, name: &str) -> Result<Option<Vec<i64>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::Ints(v)) => Ok(Some(v)),
            Some(Attribute::Int(v)) => Ok(Some(vec![v])),
            Some(a) => Err(wrong(name, "ints", &a)),
        }
    }

    pub fn floats(&mut self, name: &str) -> Result<Option<Vec<f32>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::Floats(v)) => Ok(Some(v)),
            Some(Attribute::Float(v)) => Ok(Some(vec![v])),
            Some(a) => Err(wrong(name, "floats", &a)),
        }
    }

    pub fn strings(&mut self, name: &str) -> Result<Option<Vec<String>>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::Strings(v)) => Ok(Some(
                v.into_iter()
                    .map(|s| String::from_utf8_lossy(&s).into_owned())
                    .collect(),
            )),
            Some(a) => Err(wrong(name, "strings", &a)),
        }
    }

    pub fn tensor(&mut self, name: &str) -> Result<Option<Tensor>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::Tensor(t)) | Some(Attribute::SparseTensor(t)) => Ok(Some(t)),
            Some(a) => Err(wrong(name, "a tensor", &a)),
        }
    }

    pub fn graph(&mut self, name: &str) -> Result<Option<Graph>> {
        match self.take(name) {
            None => Ok(None),
            Some(Attribute::Graph(g)) => Ok(Some(*g)),
            Some(a) => Err(wrong(name, "a graph", &a)),
        }
    }

    pub fn req_graph(&mut self, name: &str) -> Result<Graph> {
        self.graph(name)?
            .ok_or_else(|| IrError::Op(format!("required graph attribute '{name}' is missing")))
    }
}

/// Builds the attribute list an op exports, skipping `None`s.
#[derive(Default)]
pub struct AttrList(pub Vec<(String, Attribute)>);

impl AttrList {
    pub fn int(mut self, name: &str, v: i64) -> Self {
        self.0.push((name.into(), Attribute::Int(v)));
        self
    }
    pub fn float(mut self, name: &str, v: f32) -> Self {
        self.0.push((name.into(), Attribute::Float(v)));
        self
    }
    pub fn string(mut self, name: &str, v: &str) -> Self {
        self.0
            .push((name.into(), Attribute::String(v.as_bytes().to_vec())));
        self
    }
    pub fn ints(mut self, name: &str, v: &[i64]) -> Self {
        self.0.push((name.into(), Attribute::Ints(v.to_vec())));
        self
    }
    pub fn floats(mut self, name: &str, v: &[f32]) -> Self {
        self.0.push((name.into(), Attribute::Floats(v.to_vec())));
        self
    }
    pub fn strings(mut self, name: &str, v: &[String]) -> Self {
        self.0.push((
            name.into(),
            Attribute::Strings(v.iter().map(|s| s.as_bytes().to_vec()).collect()),
        ));
        self
    }
    pub fn tensor(mut self, name: &str, v: &Tensor) -> Self {
        self.0.push((name.into(), Attribute::Tensor(v.clone())));
        self
    }
    pub fn graph(mut self, name: &str, g: &Graph) -> Self {
        self.0
            .push((name.into(), Attribute::Graph(Box::new(g.clone()))));
        self
    }
    pub fn opt_int(self, name: &str, v: Option<i64>) -> Self {
        match v {
            Some(v) => self.int(name, v),
            None => self,
        }
    }
    pub fn opt_float(self, name: &str, v: Option<f32>) -> Self {
        match v {
            Some(v) => self.float(name, v),
            None => self,
        }
    }
    pub fn opt_ints(self, name: &str, v: Option<&[i64]>) -> Self {
        match v {
            Some(v) => self.ints(name, v),
            None => self,
        }
    }
    pub fn opt_string(self, name: &str, v: Option<&str>) -> Self {
        match v {
            Some(v) => self.string(name, v),
            None => self,
        }
    }
    pub fn build(self) -> Vec<(String, Attribute)> {
        self.0
    }
}
