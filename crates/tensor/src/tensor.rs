//! The concrete tensor: a dtype, a static shape and shared, immutable storage.

use crate::shape::checked_numel;
use crate::{DType, Elem, Numeric, Result, TensorError};
use bytes::Bytes;
use half::{bf16, f16};
use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
enum Storage {
    /// Little-endian elements, aligned for the dtype. May be a view into a memory-mapped file.
    Pod(Bytes),
    Strings(Arc<[String]>),
}

/// An immutable n-dimensional array. Cloning is cheap (storage is shared).
#[derive(Clone)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    storage: Storage,
}

struct VecOwner<T: bytemuck::NoUninit>(Vec<T>);

impl<T: bytemuck::NoUninit> AsRef<[u8]> for VecOwner<T> {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

fn pod_bytes<T: Elem + bytemuck::NoUninit>(data: Vec<T>) -> Bytes {
    Bytes::from_owner(VecOwner(data))
}

/// Copies `bytes` into storage aligned for `align`.
fn aligned_copy(bytes: &[u8], align: usize) -> Bytes {
    match align {
        8 => {
            let mut v = vec![0u64; bytes.len().div_ceil(8)];
            bytemuck::cast_slice_mut::<u64, u8>(&mut v)[..bytes.len()].copy_from_slice(bytes);
            Bytes::from_owner(VecOwner(v)).slice(0..bytes.len())
        }
        4 => {
            let mut v = vec![0u32; bytes.len().div_ceil(4)];
            bytemuck::cast_slice_mut::<u32, u8>(&mut v)[..bytes.len()].copy_from_slice(bytes);
            Bytes::from_owner(VecOwner(v)).slice(0..bytes.len())
        }
        2 => {
            let mut v = vec![0u16; bytes.len().div_ceil(2)];
            bytemuck::cast_slice_mut::<u16, u8>(&mut v)[..bytes.len()].copy_from_slice(bytes);
            Bytes::from_owner(VecOwner(v)).slice(0..bytes.len())
        }
        _ => Bytes::copy_from_slice(bytes),
    }
}

impl Tensor {
    /// Builds a tensor from a vector of elements.
    pub fn from_vec<T: Elem + bytemuck::NoUninit>(
        shape: Vec<usize>,
        data: Vec<T>,
    ) -> Result<Tensor> {
        let n = checked_numel(&shape)?;
        if n != data.len() {
            return Err(TensorError::ElementCount {
                shape,
                expected: n,
                got: data.len(),
            });
        }
        Ok(Tensor {
            dtype: T::DTYPE,
            shape,
            storage: Storage::Pod(pod_bytes(data)),
        })
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Elem + bytemuck::NoUninit>(v: T) -> Tensor {
        Tensor {
            dtype: T::DTYPE,
            shape: vec![],
            storage: Storage::Pod(pod_bytes(vec![v])),
        }
    }

    /// A 1-D tensor.
    pub fn vec1<T: Elem + bytemuck::NoUninit>(data: Vec<T>) -> Tensor {
        Tensor {
            dtype: T::DTYPE,
            shape: vec![data.len()],
            storage: Storage::Pod(pod_bytes(data)),
        }
    }

    /// Zero-filled (empty strings for string tensors).
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor> {
        let n = checked_numel(&shape)?;
        if dtype == DType::String {
            return Tensor::from_strings(shape, vec![String::new(); n]);
        }
        let bytes = aligned_copy(&vec![0u8; n * dtype.size_of()], dtype.size_of());
        Ok(Tensor {
            dtype,
            shape,
            storage: Storage::Pod(bytes),
        })
    }

    /// Builds from little-endian element bytes (one byte per element for encoded types). Views
    /// `bytes` without copying when it is aligned; validates bools.
    pub fn from_bytes(dtype: DType, shape: Vec<usize>, bytes: Bytes) -> Result<Tensor> {
        if dtype == DType::String {
            return Err(TensorError::BadBuffer {
                dtype,
                len: bytes.len(),
            });
        }
        let n = checked_numel(&shape)?;
        let size = dtype.size_of();
        if bytes.len() != n * size {
            return Err(TensorError::ElementCount {
                shape,
                expected: n,
                got: bytes.len() / size.max(1),
            });
        }
        if dtype == DType::Bool {
            if let Some(&b) = bytes.iter().find(|&&b| b > 1) {
                return Err(TensorError::BadBool(b));
            }
        }
        let bytes = if (bytes.as_ptr() as usize) % size == 0 {
            bytes
        } else {
            aligned_copy(&bytes, size)
        };
        Ok(Tensor {
            dtype,
            shape,
            storage: Storage::Pod(bytes),
        })
    }

    pub fn from_strings(shape: Vec<usize>, data: Vec<String>) -> Result<Tensor> {
        let n = checked_numel(&shape)?;
        if n != data.len() {
            return Err(TensorError::ElementCount {
                shape,
                expected: n,
                got: data.len(),
            });
        }
        Ok(Tensor {
            dtype: DType::String,
            shape,
            storage: Storage::Strings(data.into()),
        })
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Typed view of the elements.
    pub fn as_slice<T: Elem>(&self) -> Result<&[T]> {
        if T::DTYPE != self.dtype {
            return Err(TensorError::DTypeMismatch {
                expected: T::DTYPE,
                actual: self.dtype,
            });
        }
        match &self.storage {
            Storage::Pod(b) => {
                debug_assert_eq!(b.as_ptr() as usize % std::mem::align_of::<T>(), 0);
                // SAFETY: constructors guarantee length, alignment and (for bool) valid values.
                Ok(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const T, self.len()) })
            }
            Storage::Strings(_) => unreachable!("string tensors never match a Pod Elem"),
        }
    }

    /// Copy of the elements.
    pub fn to_vec<T: Elem>(&self) -> Result<Vec<T>> {
        Ok(self.as_slice::<T>()?.to_vec())
    }

    /// Raw element bytes (one byte per element for encoded types). Empty for strings.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Pod(b) => b,
            Storage::Strings(_) => &[],
        }
    }

    /// The shared byte storage, for zero-copy hand-off (export, mapping).
    pub fn bytes(&self) -> Option<&Bytes> {
        match &self.storage {
            Storage::Pod(b) => Some(b),
            Storage::Strings(_) => None,
        }
    }

    pub fn as_strings(&self) -> Result<&[String]> {
        match &self.storage {
            Storage::Strings(s) => Ok(s),
            Storage::Pod(_) => Err(TensorError::DTypeMismatch {
                expected: DType::String,
                actual: self.dtype,
            }),
        }
    }

    /// Same storage, new shape with the same number of elements.
    pub fn reshape(&self, shape: Vec<usize>) -> Result<Tensor> {
        let n = checked_numel(&shape)?;
        if n != self.len() {
            return Err(TensorError::Reshape {
                from: self.shape.clone(),
                to: shape,
            });
        }
        Ok(Tensor {
            dtype: self.dtype,
            shape,
            storage: self.storage.clone(),
        })
    }

    /// The elements as f64, for numeric dtypes (bool as 0/1). Encoded types are refused.
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        fn conv<T: Numeric>(t: &Tensor) -> Result<Vec<f64>> {
            Ok(t.as_slice::<T>()?.iter().map(|v| v.as_f64()).collect())
        }
        match self.dtype {
            DType::F32 => conv::<f32>(self),
            DType::F64 => conv::<f64>(self),
            DType::F16 => conv::<f16>(self),
            DType::BF16 => conv::<bf16>(self),
            DType::I8 => conv::<i8>(self),
            DType::U8 => conv::<u8>(self),
            DType::I16 => conv::<i16>(self),
            DType::U16 => conv::<u16>(self),
            DType::I32 => conv::<i32>(self),
            DType::U32 => conv::<u32>(self),
            DType::I64 => conv::<i64>(self),
            DType::U64 => conv::<u64>(self),
            DType::Bool => Ok(self
                .as_slice::<bool>()?
                .iter()
                .map(|&b| b as u8 as f64)
                .collect()),
            d => Err(TensorError::Other(format!(
                "to_f64_vec: {d} is not a plain numeric type"
            ))),
        }
    }

    /// Builds a numeric tensor of `dtype` from f64 values (saturating for ints, nonzero is true).
    pub fn from_f64s(dtype: DType, shape: Vec<usize>, v: &[f64]) -> Result<Tensor> {
        fn conv<T: Numeric + bytemuck::NoUninit>(shape: Vec<usize>, v: &[f64]) -> Result<Tensor> {
            Tensor::from_vec(shape, v.iter().map(|&x| T::from_f64(x)).collect())
        }
        match dtype {
            DType::F32 => conv::<f32>(shape, v),
            DType::F64 => conv::<f64>(shape, v),
            DType::F16 => conv::<f16>(shape, v),
            DType::BF16 => conv::<bf16>(shape, v),
            DType::I8 => conv::<i8>(shape, v),
            DType::U8 => conv::<u8>(shape, v),
            DType::I16 => conv::<i16>(shape, v),
            DType::U16 => conv::<u16>(shape, v),
            DType::I32 => conv::<i32>(shape, v),
            DType::U32 => conv::<u32>(shape, v),
            DType::I64 => conv::<i64>(shape, v),
            DType::U64 => conv::<u64>(shape, v),
            DType::Bool => {
                Tensor::from_vec(shape, v.iter().map(|&x| x != 0.0).collect::<Vec<bool>>())
            }
            d => Err(TensorError::Other(format!(
                "from_f64s: {d} is not a plain numeric type"
            ))),
        }
    }

    /// Integer-valued tensor (any int dtype) as i64, e.g. shapes, axes, indices.
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        match self.dtype {
            DType::I64 => self.to_vec::<i64>(),
            DType::I32 => Ok(self.as_slice::<i32>()?.iter().map(|&v| v as i64).collect()),
            DType::I16 => Ok(self.as_slice::<i16>()?.iter().map(|&v| v as i64).collect()),
            DType::I8 => Ok(self.as_slice::<i8>()?.iter().map(|&v| v as i64).collect()),
            DType::U8 => Ok(self.as_slice::<u8>()?.iter().map(|&v| v as i64).collect()),
            DType::U16 => Ok(self.as_slice::<u16>()?.iter().map(|&v| v as i64).collect()),
            DType::U32 => Ok(self.as_slice::<u32>()?.iter().map(|&v| v as i64).collect()),
            DType::U64 => Ok(self.as_slice::<u64>()?.iter().map(|&v| v as i64).collect()),
            DType::Bool => Ok(self.as_slice::<bool>()?.iter().map(|&v| v as i64).collect()),
            d => Err(TensorError::DTypeMismatch {
                expected: DType::I64,
                actual: d,
            }),
        }
    }

    /// Bitwise equality of dtype, shape and contents (NaNs with equal bits compare equal).
    pub fn bit_eq(&self, other: &Tensor) -> bool {
        self.dtype == other.dtype
            && self.shape == other.shape
            && match (&self.storage, &other.storage) {
                (Storage::Pod(a), Storage::Pod(b)) => a == b,
                (Storage::Strings(a), Storage::Strings(b)) => a == b,
                _ => false,
            }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}>{:?}", self.dtype, self.shape)?;
        let preview = match self.dtype {
            DType::String => self
                .as_strings()
                .map(|s| format!("{:?}", &s[..s.len().min(8)]))
                .ok(),
            _ => self
                .to_f64_vec()
                .ok()
                .map(|v| format!("{:?}", &v[..v.len().min(8)])),
        };
        if let Some(p) = preview {
            write!(f, " {p}{}", if self.len() > 8 { "..." } else { "" })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_view() {
        let t = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        assert_eq!(t.as_slice::<f32>().unwrap()[4], 5.);
        assert!(t.as_slice::<i32>().is_err());
        assert!(Tensor::from_vec(vec![2, 2], vec![1f32]).is_err());
        assert_eq!(t.reshape(vec![3, 2]).unwrap().shape(), &[3, 2]);
        assert!(t.reshape(vec![4]).is_err());
    }

    #[test]
    fn misaligned_bytes_are_copied_to_alignment() {
        let raw = Bytes::from(vec![0u8, 0, 0, 128, 63, 0, 0, 0, 64]);
        let t = Tensor::from_bytes(DType::F32, vec![2], raw.slice(1..9)).unwrap();
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 2.0]);
    }

    #[test]
    fn invalid_bools_are_refused() {
        assert!(Tensor::from_bytes(DType::Bool, vec![2], Bytes::from(vec![1u8, 7])).is_err());
    }

    #[test]
    fn f64_round_trip() {
        let t = Tensor::from_f64s(DType::I8, vec![3], &[-200.0, 1.0, 300.0]).unwrap();
        assert_eq!(t.as_slice::<i8>().unwrap(), &[-128, 1, 127]);
    }
}
