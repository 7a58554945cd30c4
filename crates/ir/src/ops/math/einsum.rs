//! Einsum: sums of products of tensor elements, indexed by an Einstein-summation equation.
//! Spec: <https://onnx.ai/onnx/operators/onnx__Einsum.html>. Since opset 12.
//!
//! Attribute `equation` (string, required), e.g. `"bij,bjk->bik"`: one term of letters per
//! input, optionally `->` and the output term. Letters repeated within a term take a diagonal;
//! letters missing from the output are summed over. `...` stands for the remaining leading dims
//! and broadcasts across inputs numpy-style. Without `->` (implicit mode) the output is the
//! ellipsis dims followed by the letters that occur exactly once, in character-code order.
//! Inputs: 1..N tensors of one numeric type T; output: T.
//! Floats accumulate in f64 (half types round through f32, as the ONNX reference does);
//! integers accumulate in wrapping i64 arithmetic.

use super::common::Scalar;
use super::einsum_equation::{axis_labels, contract, output_labels, plan, Equation, ELL};
use crate::attr::{AttrList, Attribute};
use crate::op::{Cost, CostCtx, EvalCtx, InferCtx, Inputs, Op};
use crate::registry::BuildCtx;
use crate::{bail, dispatch_int, Result, TensorType, Value, ValueType};
use edgeopt_tensor::shape::broadcast_sym;
use edgeopt_tensor::{DType, Dim, Tensor};

#[derive(Clone, Debug)]
pub struct Einsum {
    pub equation: Equation,
}

impl Einsum {
    pub fn new(equation: &str) -> Result<Einsum> {
        Ok(Einsum {
            equation: Equation::parse(equation)?,
        })
    }
}

pub fn build(ctx: &mut BuildCtx) -> Result<Box<dyn Op>> {
    let Some(eq) = ctx.attrs.string("equation")? else {
        bail!("Einsum: required attribute 'equation' is missing")
    };
    let op = Einsum::new(&eq)?;
    if op.equation.inputs.len() != ctx.num_inputs {
        bail!(
            "Einsum: equation '{eq}' has {} terms but the node has {} inputs",
            op.equation.inputs.len(),
            ctx.num_inputs
        );
    }
    Ok(Box::new(op))
}
impl Op for Einsum {
    fn op_type(&self) -> &str {
        "Einsum"
    }

    fn infer(&self, ctx: &InferCtx) -> Result<Vec<ValueType>> {
        let dtype = ctx.inputs.iter().find_map(|t| t.dtype());
        let shapes: Option<Vec<&Vec<Dim>>> = ctx.inputs.iter().map(|t| t.shape()).collect();
        let Some(shapes) = shapes else {
            return Ok(vec![ValueType::Tensor(TensorType { dtype, shape: None })]);
        };
        let ranks: Vec<usize> = shapes.iter().map(|s| s.len()).collect();
        let (labels, ell) = axis_labels(&self.equation, &ranks)?;
        // Letters start with no information; ellipsis dims start as the broadcast identity.
        let mut dims: Vec<Dim> = (0..ELL + ell)
            .map(|l| if l < ELL { Dim::Unknown } else { Dim::Known(1) })
            .collect();
        for (ls, s) in labels.iter().zip(&shapes) {
            for (&l, d) in ls.iter().zip(s.iter()) {
                dims[l] = if l >= ELL {
                    broadcast_sym(std::slice::from_ref(&dims[l]), std::slice::from_ref(d))?[0]
                        .clone()
                } else {
                    // Prefer a dim that is known and not a broadcast 1.
                    match (&dims[l], d) {
                        (Dim::Unknown, _) | (Dim::Known(1), _) => d.clone(),
                        (Dim::Sym(_), Dim::Known(k)) if *k != 1 => d.clone(),
                        (cur, _) => cur.clone(),
                    }
                };
            }
        }
        let shape = output_labels(&self.equation, &labels, ell)
            .into_iter()
            .map(|l| dims[l].clone())
            .collect();
        Ok(vec![ValueType::Tensor(TensorType {
            dtype,
            shape: Some(shape),
        })])
    }

    fn eval(&self, _ctx: &EvalCtx, inputs: &Inputs) -> Result<Vec<Value>> {
        let ts: Vec<&Tensor> = (0..inputs.len())
            .map(|i| inputs.tensor(i))
            .collect::<Result<_>>()?;
        let dt = ts.first().map(|t| t.dtype()).unwrap_or(DType::F32);
        if let Some(t) = ts.iter().find(|t| t.dtype() != dt) {
            bail!(
                "Einsum: inputs must share one dtype, got {dt} and {}",
                t.dtype()
            );
        }
        let shapes: Vec<&[usize]> = ts.iter().map(|t| t.shape()).collect();
        let p = plan(&self.equation, &shapes)?;
        let y = if dt.is_float() {
            let xs: Vec<Vec<f64>> = ts
                .iter()
                .map(|t| t.to_f64_vec())
                .collect::<Result<_, _>>()?;
            let mut v = contract(&p, &xs, 1.0, |a, b| a * b, |a, b| a + b)?;
            if matches!(dt, DType::F16 | DType::BF16) {
                v.iter_mut().for_each(|x| *x = *x as f32 as f64);
            }
            Tensor::from_f64s(dt, p.out_sizes.clone(), &v)?
        } else {
            let xs: Vec<Vec<i64>> = ts
                .iter()
                .map(|t| t.to_i64_vec())
                .collect::<Result<_, _>>()?;
            let v = contract(&p, &xs, 1i64, i64::wrapping_mul, i64::wrapping_add)?;
            let shape = p.out_sizes.clone();
            dispatch_int!(dt, T => {
                let v: Vec<T> = v.iter().map(|&x| T::from_i64_wrapping(x)).collect();
                Tensor::from_vec(shape, v)?
            })
        };
        Ok(vec![y.into()])
    }

    fn cost(&self, ctx: &CostCtx) -> Cost {
        let shapes: Option<Vec<Vec<usize>>> =
            (0..ctx.inputs.len()).map(|i| ctx.input_shape(i)).collect();
        let macs = shapes
            .and_then(|s| {
                plan(
                    &self.equation,
                    &s.iter().map(|v| v.as_slice()).collect::<Vec<_>>(),
                )
                .ok()
            })
            .map(|p| p.out_sizes.iter().chain(&p.sum_sizes).product::<usize>() as u64)
            .unwrap_or(0);
        Cost {
            macs,
            ..ctx.movement()
        }
    }

    fn attributes(&self) -> Vec<(String, Attribute)> {
        AttrList::default()
            .string("equation", &self.equation.text)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{eval1, infer};

    fn run(eq: &str, xs: Vec<Tensor>) -> Tensor {
        let xs: Vec<Option<Tensor>> = xs.into_iter().map(Some).collect();
        eval1(&Einsum::new(eq).unwrap(), &xs).unwrap()
    }

    fn m(shape: &[usize]) -> Tensor {
        let n = shape.iter().product::<usize>();
        Tensor::from_vec(shape.to_vec(), (0..n).map(|v| v as f32).collect()).unwrap()
    }

    #[test]
    fn matmul_transpose_sum() {
        let y = run("ij,jk->ik", vec![m(&[2, 3]), m(&[3, 2])]);
        assert_eq!(y.to_vec::<f32>().unwrap(), [10., 13., 28., 40.]);
        let y = run("ij->ji", vec![m(&[2, 3])]);
        assert_eq!(
            (y.shape(), y.to_vec::<f32>().unwrap()),
            (&[3usize, 2][..], vec![0., 3., 1., 4., 2., 5.])
        );
        let y = run("ij->i", vec![m(&[2, 3])]);
        assert_eq!(y.to_vec::<f32>().unwrap(), [3., 12.]);
        // Implicit mode: 'ji' keeps letters in alphabetical order, so it transposes.
        let y = run("ji", vec![m(&[2, 3])]);
        assert_eq!(y.shape(), &[3, 2]);
        let y = run("i,i", vec![m(&[3]), m(&[3])]);
        assert_eq!((y.shape(), y.to_vec::<f32>().unwrap()), (&[][..], vec![5.]));
    }

    #[test]
    fn diagonals_and_ellipsis() {
        // test_einsum_batch_diagonal: '...ii->...i'.
        let y = run("...ii ->...i", vec![m(&[2, 3, 3])]);
        assert_eq!(
            (y.shape(), y.to_vec::<f32>().unwrap()),
            (&[2usize, 3][..], vec![0., 4., 8., 9., 13., 17.])
        );
        let y = run("ii", vec![m(&[3, 3])]);
        assert_eq!(y.to_vec::<f32>().unwrap(), [12.]);
        // Ellipsis dims broadcast across inputs: [2,1,2,2] x [3,2,2] -> [2,3,2,2].
        let y = run("...ij,...jk", vec![m(&[2, 1, 2, 2]), m(&[3, 2, 2])]);
        assert_eq!(y.shape(), &[2, 3, 2, 2]);
        assert_eq!(&y.to_vec::<f32>().unwrap()[..4], &[2., 3., 6., 11.]);
    }

    #[test]
    fn ints_infer_and_errors() {
        let a = Tensor::from_vec(vec![2, 2], vec![1i32, 2, 3, 4]).unwrap();
        let y = eval1(
            &Einsum::new("ij,jk").unwrap(),
            &[Some(a.clone()), Some(a.clone())],
        )
        .unwrap();
        assert_eq!(y.to_vec::<i32>().unwrap(), [7, 10, 15, 22]);
        let t = infer(
            &Einsum::new("bij,bjk->bik").unwrap(),
            &[Some(m(&[5, 2, 3])), Some(m(&[5, 3, 4]))],
            1,
        );
        assert_eq!(t.unwrap()[0], ValueType::known(DType::F32, &[5, 2, 4]));
        assert!(Einsum::new("ij->k").is_err());
        assert!(Einsum::new("i.j").is_err());
        assert!(eval1(
            &Einsum::new("ij,jk").unwrap(),
            &[Some(m(&[2, 3])), Some(m(&[2, 3]))]
        )
        .is_err());
        assert!(eval1(&Einsum::new("ijk").unwrap(), &[Some(m(&[2, 3]))]).is_err());
    }
}
