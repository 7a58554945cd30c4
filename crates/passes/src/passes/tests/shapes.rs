//! simplify_shapes on static shapes.

use crate::testing::{check_passes, histogram, random_tensor, ModelBuilder};
use edgeopt_ir::Attribute;
use edgeopt_tensor::Tensor;

#[test]
fn shape_gather_concat_reshape_becomes_constant() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 3, 4])
        .node("Shape", &["x"], &["s"], vec![])
        .init("i0", Tensor::scalar(0i64))
        .node(
            "Gather",
            &["s", "i0"],
            &["n"],
            vec![("axis", Attribute::Int(0))],
        )
        .init("ax", Tensor::vec1(vec![0i64]))
        .node("Unsqueeze", &["n", "ax"], &["n1"], vec![])
        .init("minus1", Tensor::vec1(vec![-1i64]))
        .node(
            "Concat",
            &["n1", "minus1"],
            &["target"],
            vec![("axis", Attribute::Int(0))],
        )
        .node("Reshape", &["x", "target"], &["r"], vec![])
        .node("Relu", &["r"], &["y"], vec![])
        .output("y");
    let inputs = [random_tensor(&[2, 3, 4], 3)];
    let (opt, _) = check_passes(
        &b.build(),
        &["simplify_shapes", "eliminate_dead_nodes"],
        &inputs,
    );
    assert_eq!(histogram(&opt), "Relu:1 Reshape:1");
    let reshape = &opt.graph.nodes[0];
    let shape = opt.graph.initializers[&reshape.inputs[1].unwrap()]
        .to_i64_vec()
        .unwrap();
    assert_eq!(shape, [2, 12]);
}

#[test]
fn dynamic_shapes_stay_until_specialized() {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[2, 3]);
    let x = b.model.graph.inputs[0];
    b.node("Shape", &["x"], &["s"], vec![])
        .node("Reshape", &["x", "s"], &["y"], vec![])
        .output("y");
    // A symbolic batch dim, as exporters write it.
    let sym = edgeopt_ir::ValueType::tensor(
        edgeopt_tensor::DType::F32,
        vec![
            edgeopt_tensor::Dim::Sym("N".into()),
            edgeopt_tensor::Dim::Known(3),
        ],
    );
    b.model.graph.value_mut(x).ty = sym;
    let mut m = b.build();
    let inputs = [random_tensor(&[2, 3], 3)];
    let (opt, _) = check_passes(&m, &["simplify_shapes"], &inputs);
    assert_eq!(histogram(&opt), "Reshape:1 Shape:1");
    crate::specialize_inputs(&mut m, &[("x", &[2, 3])]).unwrap();
    let (opt, _) = check_passes(&m, &["simplify_shapes", "eliminate_identities"], &inputs);
    assert_eq!(opt.graph.nodes.len(), 1, "{}", histogram(&opt));
    assert!(crate::specialize_inputs(&mut m, &[("nope", &[1])]).is_err());
    assert!(crate::specialize_inputs(&mut m, &[("x", &[1])]).is_err());
}
