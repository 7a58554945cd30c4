//! Attribute-free element-wise functions of one input, table-driven:
//! Abs, Neg, Sign, Relu (any numeric type); Floor, Ceil, Round, Sqrt, Reciprocal, Exp, Log,
//! trig and hyperbolic functions, Erf, Sigmoid, Tanh, Softsign, Softplus (float types).
//! Spec: <https://onnx.ai/onnx/operators/> (each op under its name).

use super::common::Scalar;
use crate::op::{EvalCtx, InferCtx, Inputs, Op};
use crate::ops::util::same_as;
use crate::registry::Registry;
use crate::{dispatch_float, dispatch_num, Result, Value, ValueType};
use edgeopt_tensor::{Numeric, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryKind {
    Abs,
    Neg,
    Sign,
    Relu,
    Floor,
    Ceil,
    Round,
    Sqrt,
    Reciprocal,
    Exp,
    Log,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Erf,
    Sigmoid,
    Tanh,
    Softsign,
    Softplus,
}

use UnaryKind::*;

const TABLE: &[(&str, UnaryKind)] = &[
    ("Abs", Abs),
    ("Neg", Neg),
    ("Sign", Sign),
    ("Relu", Relu),
    ("Floor", Floor),
    ("Ceil", Ceil),
    ("Round", Round),
    ("Sqrt", Sqrt),
    ("Reciprocal", Reciprocal),
    ("Exp", Exp),
    ("Log", Log),
    ("Sin", Sin),
    ("Cos", Cos),
    ("Tan", Tan),
    ("Asin", Asin),
    ("Acos", Acos),
    ("Atan", Atan),
    ("Sinh", Sinh),
    ("Cosh", Cosh),
    ("Asinh", Asinh),
    ("Acosh", Acosh),
    ("Atanh", Atanh),
    ("Erf", Erf),
    ("Sigmoid", Sigmoid),
    ("Tanh", Tanh),
    ("Softsign", Softsign),
    ("Softplus", Softplus),
];

#[derive(Clone, Debug)]
pub struct Unary {
    pub kind: UnaryKind,
    name: &'static str,
}

impl Unary {
    pub fn new(kind: UnaryKind) -> Self {
        let name = TABLE
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(n, _)| *n)
            .unwrap_or("?");
        Unary { kind, name }
    }

    /// The function on one f64 value (ints go through f64 exactly for Abs/Neg/Sign/Relu).
    pub fn apply(self_kind: UnaryKind, x: f64) -> f64 {
        match self_kind {
            Abs => x.abs(),
            Neg => -x,
            Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x
                }
            }
            Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Floor => x.floor(),
            Ceil => x.ceil(),
            Round => x.round_ties_even(),
            Sqrt => x.sqrt(),
            Reciprocal => 1.0 / x,
            Exp => x.exp(),
            Log => x.ln(),
            Sin => x.sin(),
            Cos => x.cos(),
            Tan => x.tan(),
            Asin => x.asin(),
            Acos => x.acos(),
            Atan => x.atan(),
            Sinh => x.sinh(),
            Cosh => x.cosh(),
            Asinh => x.asinh(),
            Acosh => x.acosh(),
            Atanh => x.atanh(),
            Erf => erf(x),
            Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Tanh => x.tanh(),
            Softsign => x / (1.0 + x.abs()),
            Softplus => {
                if x > 30.0 {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
        }
    }

    fn int_ok(&self) -> bool {
        matches!(self.kind, Abs | Neg | Sign | Relu)
    }
}

/// Error function to ~1e-15: Maclaurin series near zero, continued fraction for the tail
/// (std has no erf).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let r = if ax < 2.5 {
        // Maclaurin series converges quickly here.
        let mut sum = ax;
        let mut term = ax;
        let x2 = ax * ax;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() || n > 200.0 {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else if ax < 6.0 {
        // Continued fraction for erfc.
        let x2 = ax * ax;
        let mut f = 0.0;
        for k in (1..60).rev() {
            f = (k as f64 / 2.0) / (ax + f);
        }
        1.0 - (-x2).exp() / (ax + f) / std::f64::consts::PI.sqrt()
    } else {
        1.0
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

fn map<T: Numeric + bytemuck::NoUninit>(t: &Tensor, kind: UnaryKind) -> Result<Tensor> {
    let x = t.as_slice::<T>()?;
    Ok(Tensor::from_vec(
        t.shape().to_vec(),
        x.iter()
            .map(|&v| T::from_f64(Unary::apply(kind, v.as_f64())))
            .collect(),
    )?)
}

/// Abs, Neg, Sign, Relu on integers, exactly (through f64 an i64 above 2^53 would round) and
/// wrapping like numpy (`-i8::MIN == i8::MIN`).
fn map_int<T: Scalar>(t: &Tensor, kind: UnaryKind) -> Result<Tensor> {
    let zero = T::default();
    let one = T::from_i64_wrapping(1);
    let f = |v: T| match kind {
        Abs if v < zero => zero.sub(v),
        Neg => zero.sub(v),
        Sign if v > zero => one,
        Sign if v < zero => zero.sub(one),
        Relu if v < zero => zero,
        _ => v,
    };
    let y: Vec<T> = t.as_slice::<T>()?.iter().map(|&v| f(v)).collect();
    Ok(Tensor::from_vec(t.shape().to_vec(), y)?)
}

fn map_f32(t: &Tensor, kind: UnaryKind) -> Result<Tensor> {
    let x = t.as_slice::<f32>()?;
    let y: Vec<f32> = match kind {
        Relu => x.iter().map(|&v| v.max(0.0)).collect(),
        Neg => x.iter().map(|&v| -v).collect(),
        Abs => x.iter().map(|&v| v.abs()).collect(),
        Sigmoid => x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect(),
        Tanh => x.iter().map(|&v| v.tanh()).collect(),
        Exp => x.iter().map(|&v| v.exp()).collect(),
        Sqrt => x.iter().map(|&v| v.sqrt()).collect(),
        _ => x
            .iter()
            .map(|&v| Unary::apply(kind, v as f64) as f32)
            .collect(),
    };
    Ok(Tensor::from_vec(t.shape().to_vec(), y)?)
}

impl Op for Unary {
    fn op_type(&self) -> &str {
        self.name
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        Ok(vec![same_as(ctx.inputs, 0)])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let x = inputs.tensor(0)?;
        let dt = x.dtype();
        let y = if dt == edgeopt_tensor::DType::F32 {
            map_f32(x, self.kind)?
        } else if dt.is_float() || !self.int_ok() {
            dispatch_float!(dt, T => map::<T>(x, self.kind)?)
        } else {
            dispatch_num!(dt, T => map_int::<T>(x, self.kind)?)
        };
        Ok(vec![y.into()])
    }
}

pub fn register(r: &mut Registry) {
    macro_rules! reg {
        ($($name:ident),*) => {
            $(r.register("", stringify!($name), |_| Ok(Box::new(Unary::new($name))));)*
        };
    }
    reg!(
        Abs, Neg, Sign, Relu, Floor, Ceil, Round, Sqrt, Reciprocal, Exp, Log, Sin, Cos, Tan, Asin,
        Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Erf, Sigmoid, Tanh, Softsign, Softplus
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::eval1;

    fn run(kind: UnaryKind, x: Tensor) -> Tensor {
        eval1(&Unary::new(kind), &[Some(x)]).unwrap()
    }

    #[test]
    fn integers_are_exact_and_wrap() {
        let big = (1i64 << 60) + 1;
        let y = run(Neg, Tensor::vec1(vec![big, i64::MIN]));
        assert_eq!(y.as_slice::<i64>().unwrap(), &[-big, i64::MIN]);
        let y = run(Abs, Tensor::vec1(vec![-big, 3]));
        assert_eq!(y.as_slice::<i64>().unwrap(), &[big, 3]);
        let y = run(Sign, Tensor::vec1(vec![-7i8, 0, 9]));
        assert_eq!(y.as_slice::<i8>().unwrap(), &[-1, 0, 1]);
        let y = run(Abs, Tensor::vec1(vec![200u8]));
        assert_eq!(y.as_slice::<u8>().unwrap(), &[200]);
    }

    #[test]
    fn erf_matches_reference_values() {
        // Reference values from scipy.special.erf.
        for (x, want) in [
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (3.0, 0.9999779095030014),
        ] {
            assert!((erf(x) - want).abs() < 1e-14, "erf({x})");
            assert!((erf(-x) + want).abs() < 1e-14);
        }
    }

    #[test]
    fn relu_on_ints_and_floats() {
        let y = run(Relu, Tensor::vec1(vec![-2i32, 0, 3]));
        assert_eq!(y.as_slice::<i32>().unwrap(), &[0, 0, 3]);
        let y = run(Relu, Tensor::vec1(vec![-2f32, 0.5]));
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0.0, 0.5]);
    }

    #[test]
    fn round_is_half_to_even() {
        let y = run(Round, Tensor::vec1(vec![0.5f32, 1.5, 2.5, -0.5]));
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0.0, 2.0, 2.0, -0.0]);
    }
}
