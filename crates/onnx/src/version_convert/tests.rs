//! Each rule on a small opset-11 model: the converted model (run by the reference executor, and
//! after export -> import) gives the original's outputs. ONNX Runtime checks the same on real
//! models in `tests/version_convert_ort.rs`.

use super::*;
use edgeopt_ir::exec::run_model;
use edgeopt_ir::Value;
use edgeopt_tensor::DType;

struct B {
    m: Model,
}

impl B {
    fn new(opset: i64, x: &[usize]) -> B {
        let mut m = Model {
            opsets: vec![(String::new(), opset)],
            ir_version: 7,
            ..Default::default()
        };
        let id = m.graph.value_named("x");
        m.graph.value_mut(id).ty = ValueType::known(DType::F32, x);
        m.graph.inputs.push(id);
        B { m }
    }

    fn node(mut self, op: &str, ins: &[&str], outs: &[&str], attrs: Vec<(&str, Attribute)>) -> B {
        let opset = self.m.opset();
        let op_box = build_op(op, attrs_map(attrs), ins.len(), outs.len(), opset).unwrap();
        let g = &mut self.m.graph;
        let ins = ins.iter().map(|n| Some(g.value_named(n))).collect();
        let outs = outs.iter().map(|n| Some(g.value_named(n))).collect();
        let name = format!("{op}_{}", g.nodes.len());
        g.add_node(&name, op_box, ins, outs);
        self
    }

    fn outputs(mut self, names: &[&str]) -> Model {
        for n in names {
            let id = self.m.graph.value_named(n);
            self.m.graph.outputs.push(id);
        }
        self.m.graph.topo_sort().unwrap();
        let opset = self.m.opset();
        edgeopt_ir::infer::infer_types(&mut self.m.graph, opset).unwrap();
        self.m
    }
}

fn input(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.17)
        .collect();
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn run(m: &Model, x: &Tensor) -> Vec<Vec<f64>> {
    run_model(m, vec![Value::Tensor(x.clone())])
        .unwrap()
        .into_iter()
        .map(|v| v.as_tensor().unwrap().to_f64_vec().unwrap())
        .collect()
}

/// Converts `m` to `to` and checks outputs (also after an export/import round trip).
fn check(m: Model, to: i64, x_shape: &[usize]) -> ConvertReport {
    let x = input(x_shape);
    let want = run(&m, &x);
    let mut c = m.clone();
    let report = upgrade_opset(&mut c, to).unwrap();
    assert_eq!(c.opset(), to);
    let got = run(&c, &x);
    assert_eq!(want, got, "converted outputs differ");
    let bytes = crate::encode_model(&c, &Default::default()).unwrap();
    let back = crate::load_model_bytes(bytes, &Default::default()).unwrap();
    assert_eq!(back.opset(), to);
    assert_eq!(run(&back, &x), want, "re-imported outputs differ");
    report
}

#[test]
fn squeeze_unsqueeze_axes_become_inputs() {
    let m = B::new(11, &[2, 1, 3])
        .node(
            "Squeeze",
            &["x"],
            &["s"],
            vec![("axes", Attribute::Ints(vec![1]))],
        )
        .node(
            "Unsqueeze",
            &["s"],
            &["u"],
            vec![("axes", Attribute::Ints(vec![0, -1]))],
        )
        .outputs(&["u"]);
    let r = check(m, 13, &[2, 1, 3]);
    assert_eq!(r.rewritten.len(), 2);
}

#[test]
fn reduce_sum_at_13_and_mean_at_18() {
    let m = B::new(12, &[2, 3, 4])
        .node(
            "ReduceSum",
            &["x"],
            &["s"],
            vec![
                ("axes", Attribute::Ints(vec![1])),
                ("keepdims", Attribute::Int(0)),
            ],
        )
        .node(
            "ReduceMean",
            &["s"],
            &["m"],
            vec![("axes", Attribute::Ints(vec![-1]))],
        )
        .node("ReduceMax", &["x"], &["all"], vec![])
        .outputs(&["m", "all"]);
    check(m.clone(), 13, &[2, 3, 4]);
    let r = check(m, 18, &[2, 3, 4]);
    assert_eq!(r.rewritten.len(), 3);
}

#[test]
fn split_attribute_becomes_input_and_equal_split_counts_outputs() {
    let m = B::new(11, &[2, 6])
        .node(
            "Split",
            &["x"],
            &["a", "b"],
            vec![
                ("axis", Attribute::Int(1)),
                ("split", Attribute::Ints(vec![2, 4])),
            ],
        )
        .node(
            "Split",
            &["b"],
            &["c", "d"],
            vec![("axis", Attribute::Int(1))],
        )
        .outputs(&["a", "c", "d"]);
    check(m.clone(), 13, &[2, 6]);
    check(m, 18, &[2, 6]);
}

#[test]
fn softmax_on_an_inner_axis_keeps_its_2d_coercion() {
    for op in ["Softmax", "LogSoftmax", "Hardmax"] {
        let m = B::new(11, &[2, 3, 4])
            .node(op, &["x"], &["y"], vec![])
            .node(op, &["x"], &["z"], vec![("axis", Attribute::Int(2))])
            .outputs(&["y", "z"]);
        let r = check(m, 13, &[2, 3, 4]);
        assert_eq!(r.rewritten.len(), 2, "{op}");
    }
}

#[test]
fn type_only_changes_rebuild_without_rewriting() {
    let m = B::new(11, &[1, 4])
        .node("Relu", &["x"], &["r"], vec![])
        .node("Add", &["r", "x"], &["a"], vec![])
        .node("Sigmoid", &["a"], &["d"], vec![])
        .outputs(&["d"]);
    let r = check(m, 13, &[1, 4]);
    assert!(r.rewritten.is_empty());
    assert_eq!(r.rebuilt, 3);
}

#[test]
fn refuses_unknown_changes_and_downgrades_leaving_the_model_alone() {
    let m = B::new(6, &[1, 4])
        .node("Clip", &["x"], &["u"], vec![("max", Attribute::Float(0.5))])
        .outputs(&["u"]);
    let mut c = m.clone();
    let e = upgrade_opset(&mut c, 13).unwrap_err().to_string();
    assert!(e.contains("Clip (changes at opset 11)"), "{e}");
    assert_eq!(c.opset(), 6);
    let mut c = B::new(13, &[1])
        .node("Relu", &["x"], &["r"], vec![])
        .outputs(&["r"]);
    assert!(upgrade_opset(&mut c, 11).is_err());
}
