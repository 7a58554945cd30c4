//! Hostile and broken model files: each must give a clear error naming the culprit, never a
//! panic or a huge allocation.

use bytes::Bytes;
use edgeopt_onnx::proto::tensor_proto::DataLocation;
use edgeopt_onnx::proto::type_proto::{self, Value as TV};
use edgeopt_onnx::proto::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use edgeopt_onnx::{load_model, load_model_bytes, LoadOptions};
use prost::Message;

fn tensor_type(shape: &[i64]) -> TypeProto {
    use edgeopt_onnx::proto::tensor_shape_proto::{dimension, Dimension};
    TypeProto {
        denotation: None,
        value: Some(TV::TensorType(type_proto::Tensor {
            elem_type: Some(1),
            shape: Some(TensorShapeProto {
                dim: shape
                    .iter()
                    .map(|&d| Dimension {
                        denotation: None,
                        value: Some(dimension::Value::DimValue(d)),
                    })
                    .collect(),
            }),
        })),
    }
}

fn vi(name: &str, shape: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(tensor_type(shape)),
        ..Default::default()
    }
}

fn node(name: &str, op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        name: Some(name.into()),
        op_type: Some(op.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model(
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    inits: Vec<TensorProto>,
) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: nodes,
            input: inputs,
            output: outputs,
            initializer: inits,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn relu_model() -> ModelProto {
    model(
        vec![node("r", "Relu", &["x"], &["y"])],
        vec![vi("x", &[2, 3])],
        vec![vi("y", &[2, 3])],
        vec![],
    )
}

fn load_err(m: &ModelProto) -> String {
    load_model_bytes(m.encode_to_vec(), &LoadOptions::default())
        .expect_err("should be refused")
        .to_string()
}

#[test]
fn a_valid_model_loads() {
    let m = load_model_bytes(relu_model().encode_to_vec(), &LoadOptions::default()).unwrap();
    assert_eq!(m.graph.nodes.len(), 1);
}

#[test]
fn truncated_protobuf_is_refused() {
    let bytes = relu_model().encode_to_vec();
    for cut in [bytes.len() - 1, bytes.len() / 2, 3] {
        let e = load_model_bytes(bytes[..cut].to_vec(), &LoadOptions::default())
            .expect_err("truncated");
        let msg = e.to_string();
        assert!(
            msg.contains("truncated") || msg.contains("no graph") || msg.contains("never produced"),
            "{msg}"
        );
    }
}

#[test]
fn corrupt_bytes_are_refused() {
    let e = load_model_bytes(vec![0xff; 64], &LoadOptions::default())
        .expect_err("garbage")
        .to_string();
    assert!(e.contains("not a valid ONNX model"), "{e}");
    let e = load_model_bytes(Vec::new(), &LoadOptions::default())
        .expect_err("empty")
        .to_string();
    assert!(e.contains("no graph"), "{e}");
}

#[test]
fn wrong_dtype_data_names_the_tensor() {
    // Declared f32, but the values sit in int64_data.
    let w = TensorProto {
        name: Some("w".into()),
        dims: vec![2],
        data_type: Some(1),
        int64_data: vec![1, 2],
        ..Default::default()
    };
    let m = model(
        vec![node("r", "Relu", &["w"], &["y"])],
        vec![],
        vec![vi("y", &[2])],
        vec![w],
    );
    let e = load_err(&m);
    assert!(e.contains("'w'") && e.contains("needs 2 elements"), "{e}");
    // A dtype code that does not exist.
    let w = TensorProto {
        name: Some("w".into()),
        dims: vec![1],
        data_type: Some(99),
        ..Default::default()
    };
    let m = model(
        vec![node("r", "Relu", &["w"], &["y"])],
        vec![],
        vec![vi("y", &[1])],
        vec![w],
    );
    let e = load_err(&m);
    assert!(
        e.contains("'w'") && e.contains("unsupported data type 99"),
        "{e}"
    );
}

#[test]
fn inconsistent_shapes_name_the_node() {
    let m = model(
        vec![node("r", "Relu", &["x"], &["y"])],
        vec![vi("x", &[2, 3])],
        vec![vi("y", &[3, 2])],
        vec![],
    );
    let e = load_err(&m);
    assert!(
        e.contains("'r'") && e.contains("'y'") && e.contains("[3, 2]"),
        "{e}"
    );
}

#[test]
fn huge_tensor_declaration_is_refused_without_allocating() {
    let big = TensorProto {
        name: Some("big".into()),
        dims: vec![1_000_000, 1_000_000],
        data_type: Some(1),
        ..Default::default()
    };
    let m = model(
        vec![node("r", "Relu", &["big"], &["y"])],
        vec![],
        vec![vi("y", &[1_000_000, 1_000_000])],
        vec![big],
    );
    let e = load_err(&m);
    assert!(e.contains("'big'") && e.contains("limit"), "{e}");
    let neg = TensorProto {
        name: Some("neg".into()),
        dims: vec![-4],
        data_type: Some(1),
        ..Default::default()
    };
    let m = model(
        vec![node("r", "Relu", &["neg"], &["y"])],
        vec![],
        vec![vi("y", &[1])],
        vec![neg],
    );
    assert!(load_err(&m).contains("negative dimension"));
}

#[test]
fn cyclic_graph_names_the_nodes() {
    let m = model(
        vec![
            node("a", "Relu", &["b_out"], &["a_out"]),
            node("b", "Relu", &["a_out"], &["b_out"]),
        ],
        vec![],
        vec![vi("a_out", &[1])],
        vec![],
    );
    let e = load_err(&m);
    assert!(
        e.contains("cycle") && e.contains("'a'") && e.contains("'b'"),
        "{e}"
    );
}

#[test]
fn missing_initializer_names_node_and_value() {
    let m = model(
        vec![node("r", "Relu", &["weights"], &["y"])],
        vec![],
        vec![vi("y", &[1])],
        vec![],
    );
    let e = load_err(&m);
    assert!(e.contains("'r'") && e.contains("'weights'"), "{e}");
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("model");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(dir.path().join("secret.bin"), [0u8; 8]).unwrap();
    for loc in ["../secret.bin", "/etc/hostname"] {
        let w = TensorProto {
            name: Some("w".into()),
            dims: vec![2],
            data_type: Some(1),
            data_location: Some(DataLocation::External as i32),
            external_data: vec![StringStringEntryProto {
                key: Some("location".into()),
                value: Some(loc.into()),
            }],
            ..Default::default()
        };
        let m = model(
            vec![node("r", "Relu", &["w"], &["y"])],
            vec![],
            vec![vi("y", &[2])],
            vec![w],
        );
        let path = inner.join("m.onnx");
        std::fs::write(&path, m.encode_to_vec()).unwrap();
        let e = load_model(&path, &LoadOptions::default())
            .expect_err("escape")
            .to_string();
        assert!(e.contains("'w'") && e.contains("refused"), "{loc}: {e}");
    }
}

#[test]
fn external_data_round_trips_through_save() {
    let dir = tempfile::tempdir().unwrap();
    let vals: Vec<u8> = [1f32, -2., 3., -4.]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let w = TensorProto {
        name: Some("w".into()),
        dims: vec![4],
        data_type: Some(1),
        raw_data: Some(Bytes::from(vals)),
        ..Default::default()
    };
    let m = model(
        vec![node("r", "Relu", &["w"], &["y"])],
        vec![],
        vec![vi("y", &[4])],
        vec![w],
    );
    let m = load_model_bytes(m.encode_to_vec(), &LoadOptions::default()).unwrap();
    let path = dir.path().join("out.onnx");
    let opts = edgeopt_onnx::SaveOptions {
        external_data: Some("out.data".into()),
        external_threshold: 1,
        opset: None,
    };
    edgeopt_onnx::save_model(&m, &path, &opts).unwrap();
    assert!(dir.path().join("out.data").exists());
    let back = load_model(&path, &LoadOptions::default()).unwrap();
    let id = back.graph.find("w").unwrap();
    assert_eq!(
        back.graph.initializers[&id].as_slice::<f32>().unwrap(),
        &[1., -2., 3., -4.]
    );
    let outs = edgeopt_ir::exec::run_model(&back, vec![]).unwrap();
    assert_eq!(
        outs[0].as_tensor().unwrap().as_slice::<f32>().unwrap(),
        &[1., 0., 3., 0.]
    );
}

#[test]
fn external_data_past_end_of_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.bin"), [0u8; 4]).unwrap();
    let entry = |k: &str, v: &str| StringStringEntryProto {
        key: Some(k.into()),
        value: Some(v.into()),
    };
    let w = TensorProto {
        name: Some("w".into()),
        dims: vec![4],
        data_type: Some(1),
        data_location: Some(DataLocation::External as i32),
        external_data: vec![
            entry("location", "w.bin"),
            entry("offset", "0"),
            entry("length", "16"),
        ],
        ..Default::default()
    };
    let m = model(
        vec![node("r", "Relu", &["w"], &["y"])],
        vec![],
        vec![vi("y", &[4])],
        vec![w],
    );
    let path = dir.path().join("m.onnx");
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    let e = load_model(&path, &LoadOptions::default())
        .expect_err("short file")
        .to_string();
    assert!(e.contains("'w'") && e.contains("past the end"), "{e}");
}

#[test]
fn all_unsupported_ops_are_listed_at_once() {
    let m = model(
        vec![
            node("n1", "FancyOp", &["x"], &["a"]),
            node("n2", "Relu", &["a"], &["b"]),
            node("n3", "OtherOp", &["b"], &["y"]),
        ],
        vec![vi("x", &[1])],
        vec![vi("y", &[1])],
        vec![],
    );
    let e = load_err(&m);
    assert!(
        e.contains("FancyOp") && e.contains("'n1'") && e.contains("OtherOp") && e.contains("'n3'"),
        "{e}"
    );
}
