//! Array ops: data movement and shape arithmetic (Shape, Reshape, Gather, Concat, Slice, Pad...).
//! None of them looks at element values except the scatter reductions and Range, so most work
//! on every dtype through [`common::ElemBuf`].

pub mod common;
pub mod concat;
pub mod constant;
pub mod constant_of_shape;
pub mod expand;
pub mod flatten;
pub mod gather;
pub mod gather_elements;
pub mod gather_nd;
pub mod identity;
pub mod pad;
pub mod range;
pub mod reshape;
pub mod reverse_sequence;
pub mod scatter_common;
pub mod scatter_elements;
pub mod scatter_nd;
pub mod shape;
pub mod size;
pub mod slice;
pub mod split;
pub mod squeeze;
pub mod tensor_scatter;
pub mod tile;
pub mod transpose;
pub mod unsqueeze;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "Concat", concat::build);
    r.register("", "Constant", constant::build);
    r.register("", "ConstantOfShape", constant_of_shape::build);
    r.register("", "Expand", expand::build);
    r.register("", "Flatten", flatten::build);
    r.register("", "Gather", gather::build);
    r.register("", "GatherElements", gather_elements::build);
    r.register("", "GatherND", gather_nd::build);
    r.register("", "Identity", identity::build);
    r.register("", "Pad", pad::build);
    r.register("", "Range", range::build);
    r.register("", "Reshape", reshape::build);
    r.register("", "ReverseSequence", reverse_sequence::build);
    r.register("", "Scatter", scatter_elements::build_scatter);
    r.register("", "ScatterElements", scatter_elements::build);
    r.register("", "ScatterND", scatter_nd::build);
    r.register("", "Shape", shape::build);
    r.register("", "Size", size::build);
    r.register("", "Slice", slice::build);
    r.register("", "Split", split::build);
    r.register("", "Squeeze", squeeze::build);
    r.register("", "TensorScatter", tensor_scatter::build);
    r.register("", "Tile", tile::build);
    r.register("", "Transpose", transpose::build);
    r.register("", "Unsqueeze", unsqueeze::build);
}

#[cfg(test)]
mod tests {
    use crate::{Graph, ValueType};
    use edgeopt_tensor::{DType, Dim, Tensor};

    fn node(
        g: &mut Graph,
        op: crate::Result<Box<dyn crate::Op>>,
        ins: &[crate::ValueId],
        out: &str,
    ) -> crate::ValueId {
        let o = g.add_value(out, ValueType::Unknown);
        g.add_node(
            out,
            op.unwrap(),
            ins.iter().map(|&i| Some(i)).collect(),
            vec![Some(o)],
        );
        o
    }

    fn op(
        name: &str,
        attrs: Vec<(&str, crate::Attribute)>,
        n_in: usize,
    ) -> crate::Result<Box<dyn crate::Op>> {
        let mut a = crate::Attrs::default();
        attrs.into_iter().for_each(|(k, v)| a.insert(k, v));
        let mut ctx = crate::BuildCtx {
            opset: 18,
            attrs: &mut a,
            num_inputs: n_in,
            num_outputs: 1,
        };
        crate::Registry::global().build("", name, &mut ctx)
    }

    /// Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as `x.view(x.size(0), -1)` exports.
    fn flatten_chain(x_shape: Vec<Dim>, start: i64) -> ValueType {
        let mut g = Graph::new("g");
        let x = g.add_value("x", ValueType::tensor(DType::F32, x_shape));
        g.inputs.push(x);
        let zero = g.add_initializer("zero", Tensor::scalar(0i64));
        let axes = g.add_initializer("axes", Tensor::vec1(vec![0i64]));
        let minus1 = g.add_initializer("minus1", Tensor::vec1(vec![-1i64]));
        let s = node(
            &mut g,
            op("Shape", vec![("start", crate::Attribute::Int(start))], 1),
            &[x],
            "s",
        );
        let target = if start == 0 {
            let n = node(&mut g, op("Gather", vec![], 2), &[s, zero], "n");
            let n1 = node(&mut g, op("Unsqueeze", vec![], 2), &[n, axes], "n1");
            node(
                &mut g,
                op("Concat", vec![("axis", crate::Attribute::Int(0))], 2),
                &[n1, minus1],
                "t",
            )
        } else {
            node(
                &mut g,
                op("Concat", vec![("axis", crate::Attribute::Int(0))], 2),
                &[minus1, s],
                "t",
            )
        };
        let y = node(&mut g, op("Reshape", vec![], 2), &[x, target], "y");
        crate::infer::infer_types(&mut g, 18).unwrap();
        g.value(y).ty.clone()
    }

    #[test]
    fn static_shape_arithmetic_folds_to_a_static_reshape() {
        let dims = vec![Dim::Known(2), Dim::Known(3), Dim::Known(4)];
        assert_eq!(
            flatten_chain(dims, 0),
            ValueType::known(DType::F32, &[2, 12])
        );
    }

    #[test]
    fn symbolic_batch_survives_partial_shape_folding() {
        let n = Dim::Sym("N".into());
        let dims = vec![n.clone(), Dim::Known(3), Dim::Known(4)];
        let want = ValueType::tensor(DType::F32, vec![n, Dim::Known(3), Dim::Known(4)]);
        assert_eq!(flatten_chain(dims.clone(), 1), want);
        // The batch itself is not a constant, so only the rank is known here.
        assert_eq!(flatten_chain(dims, 0).shape().map(|s| s.len()), Some(2));
    }

    /// Hostile integer inputs (shapes, axes, pads, indices) must give errors, never panics.
    #[test]
    fn hostile_inputs_never_panic() {
        let ints: Vec<Vec<i64>> = vec![
            vec![],
            vec![0],
            vec![-1],
            vec![i64::MIN],
            vec![i64::MAX],
            vec![1 << 40, 1 << 40],
            vec![-1, -1],
            vec![0, 0, 0, 0],
            vec![2, -3, 1, i64::MAX],
        ];
        let datas = [
            Tensor::zeros(DType::F32, vec![]).unwrap(),
            Tensor::zeros(DType::F32, vec![0]).unwrap(),
            Tensor::from_vec(vec![2, 3], (0..6).map(|v| v as f32).collect()).unwrap(),
            Tensor::zeros(DType::String, vec![1, 2, 1]).unwrap(),
            Tensor::from_vec(vec![3, 1], vec![1i64, 2, 3]).unwrap(),
            Tensor::scalar(5i64),
        ];
        let ops = [
            "ConstantOfShape",
            "Expand",
            "Gather",
            "GatherElements",
            "GatherND",
            "Pad",
            "Range",
            "Reshape",
            "ReverseSequence",
            "ScatterElements",
            "ScatterND",
            "Slice",
            "Split",
            "Squeeze",
            "TensorScatter",
            "Tile",
            "Unsqueeze",
            "Flatten",
            "Transpose",
            "Concat",
        ];
        for name in ops {
            for n_in in 1..=5 {
                let Ok(o) = op(name, vec![], n_in) else {
                    continue;
                };
                for d in &datas {
                    for a in &ints {
                        for b in &ints {
                            let mut args = vec![Some(d.clone())];
                            for k in 1..n_in {
                                args.push(Some(Tensor::vec1(if k % 2 == 1 {
                                    a.clone()
                                } else {
                                    b.clone()
                                })));
                            }
                            let _ = crate::ops::testing::eval(o.as_ref(), &args, 2);
                            let _ = crate::ops::testing::infer(o.as_ref(), &args, 2);
                        }
                    }
                }
            }
        }
    }
}
