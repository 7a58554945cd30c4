//! The write-back half shared by ScatterND and ScatterElements (and Scatter): copy `data`,
//! then combine slices of `updates` into it with an optional reduction.

use crate::ops::array::common::ElemBuf;
use crate::{bail, dispatch_pod, Result};
use edgeopt_tensor::{bf16, f16, DType, Elem, Tensor};

/// The `reduction` attribute (v16 add/mul, v18 max/min).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

impl Reduction {
    pub fn parse(op: &str, s: &str) -> Result<Self> {
        Ok(match s {
            "none" => Reduction::None,
            "add" => Reduction::Add,
            "mul" => Reduction::Mul,
            "max" => Reduction::Max,
            "min" => Reduction::Min,
            _ => bail!("{op}: unknown reduction '{s}' (expected none, add, mul, max or min)"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Add => "add",
            Reduction::Mul => "mul",
            Reduction::Max => "max",
            Reduction::Min => "min",
        }
    }
}

/// Element arithmetic the reductions need: wrapping for integers (numpy's behavior), logical
/// or/and for bool add/mul.
trait Combine: Elem + PartialOrd + bytemuck::NoUninit {
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}

macro_rules! combine_int {
    ($($t:ty),*) => { $(impl Combine for $t {
        fn add(self, o: Self) -> Self { self.wrapping_add(o) }
        fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
    })* };
}
combine_int!(i8, u8, i16, u16, i32, u32, i64, u64);

macro_rules! combine_float {
    ($($t:ty),*) => { $(impl Combine for $t {
        fn add(self, o: Self) -> Self { self + o }
        fn mul(self, o: Self) -> Self { self * o }
    })* };
}
combine_float!(f32, f64, f16, bf16);

impl Combine for bool {
    fn add(self, o: Self) -> Self {
        self | o
    }
    fn mul(self, o: Self) -> Self {
        self & o
    }
}

fn combine<T: Combine>(r: Reduction, a: T, b: T) -> T {
    // `b != b` is NaN: np.maximum/np.minimum propagate it.
    #[allow(clippy::eq_op)]
    let nan = b != b;
    match r {
        Reduction::None => b,
        Reduction::Add => a.add(b),
        Reduction::Mul => a.mul(b),
        Reduction::Max => {
            if b > a || nan {
                b
            } else {
                a
            }
        }
        Reduction::Min => {
            if b < a || nan {
                b
            } else {
                a
            }
        }
    }
}

fn reduce_typed<T: Combine>(
    data: &Tensor,
    upd: &Tensor,
    pairs: &[(usize, usize)],
    len: usize,
    r: Reduction,
) -> Result<Tensor> {
    let mut out = data.to_vec::<T>()?;
    let u = upd.as_slice::<T>()?;
    for &(dst, src) in pairs {
        if dst + len > out.len() || src + len > u.len() {
            bail!("internal error: scatter slice out of bounds");
        }
        for j in 0..len {
            out[dst + j] = combine(r, out[dst + j], u[src + j]);
        }
    }
    Ok(Tensor::from_vec(data.shape().to_vec(), out)?)
}

/// A copy of `data` where, for each `(dst, src)` pair in order, the `len` elements of `data`
/// from `dst` are combined with those of `updates` from `src`.
pub fn scatter(
    op: &str,
    data: &Tensor,
    updates: &Tensor,
    pairs: &[(usize, usize)],
    len: usize,
    r: Reduction,
) -> Result<Tensor> {
    if data.dtype() != updates.dtype() {
        bail!(
            "{op}: updates are {} but data is {}",
            updates.dtype(),
            data.dtype()
        );
    }
    if r == Reduction::None {
        let mut buf = ElemBuf::copy_of(data);
        for &(dst, src) in pairs {
            for j in 0..len {
                buf.set(dst + j, updates, src + j);
            }
        }
        return buf.finish(data.shape().to_vec());
    }
    let dt = data.dtype();
    if dt == DType::String || dt.is_encoded() {
        bail!("{op}: reduction '{}' is not supported for {dt}", r.name());
    }
    dispatch_pod!(dt, T => reduce_typed::<T>(data, updates, pairs, len, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_combine_in_order() {
        let d = Tensor::vec1(vec![1i32, 2, 3]);
        let u = Tensor::vec1(vec![10i32, 20]);
        let pairs = [(0, 0), (0, 1)];
        let run = |r| {
            scatter("T", &d, &u, &pairs, 1, r)
                .unwrap()
                .to_vec::<i32>()
                .unwrap()
        };
        assert_eq!(run(Reduction::None), vec![20, 2, 3]);
        assert_eq!(run(Reduction::Add), vec![31, 2, 3]);
        assert_eq!(run(Reduction::Mul), vec![200, 2, 3]);
        assert_eq!(run(Reduction::Max), vec![20, 2, 3]);
        assert_eq!(run(Reduction::Min), vec![1, 2, 3]);
    }

    #[test]
    fn bools_floats_and_bad_dtypes() {
        let d = Tensor::vec1(vec![false, true]);
        let u = Tensor::vec1(vec![true, false]);
        let y = scatter("T", &d, &u, &[(0, 0), (1, 1)], 1, Reduction::Mul).unwrap();
        assert_eq!(y.as_slice::<bool>().unwrap(), &[false, false]);
        let d = Tensor::vec1(vec![1f32]);
        let y = scatter(
            "T",
            &d,
            &Tensor::vec1(vec![f32::NAN]),
            &[(0, 0)],
            1,
            Reduction::Max,
        )
        .unwrap();
        assert!(y.as_slice::<f32>().unwrap()[0].is_nan());
        assert!(scatter(
            "T",
            &d,
            &Tensor::vec1(vec![1i32]),
            &[(0, 0)],
            1,
            Reduction::Add
        )
        .is_err());
        assert!(Reduction::parse("T", "sum").is_err());
    }
}
