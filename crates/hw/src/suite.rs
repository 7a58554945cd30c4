//! The calibration suite: small models, one layer shape each, covering every kernel class at
//! the sizes edge CNNs use (MobileNet/ResNet stages, classifier heads). Convolutions carry a
//! bias and a ReLU, as deployed models do after fusion.

use edgeopt_ir::{Attribute, Model};
use edgeopt_passes::testing::{ints, ModelBuilder};

/// One calibration model and what it exercises.
pub struct Case {
    pub name: String,
    pub model: Model,
}

fn conv(c: usize, m: usize, hw: usize, k: usize, stride: usize, group: usize) -> Case {
    let pad = k / 2;
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, c, hw, hw])
        .weight("w", &[m, c / group, k, k])
        .weight("b", &[m])
        .node(
            "Conv",
            &["x", "w", "b"],
            &["c"],
            vec![
                ("pads", ints(&[pad as i64; 4])),
                ("strides", ints(&[stride as i64; 2])),
                ("group", Attribute::Int(group as i64)),
            ],
        )
        .node("Relu", &["c"], &["y"], vec![])
        .output("y");
    Case {
        name: format!("conv c{c} m{m} hw{hw} k{k} s{stride} g{group}"),
        model: b.build(),
    }
}

fn gemm(m: usize, k: usize, n: usize) -> Case {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[m, k])
        .weight("w", &[k, n])
        .weight("b", &[n])
        .node("Gemm", &["x", "w", "b"], &["y"], vec![])
        .output("y");
    Case {
        name: format!("gemm m{m} k{k} n{n}"),
        model: b.build(),
    }
}

fn unary(op: &str, shape: &[usize]) -> Case {
    let mut b = ModelBuilder::new(13);
    b.input("x", shape)
        .node(op, &["x"], &["y"], vec![])
        .output("y");
    Case {
        name: format!("{op} {shape:?}"),
        model: b.build(),
    }
}

fn binary(op: &str, shape: &[usize]) -> Case {
    let mut b = ModelBuilder::new(13);
    b.input("x", shape)
        .input("z", shape)
        .node(op, &["x", "z"], &["y"], vec![])
        .output("y");
    Case {
        name: format!("{op} {shape:?}"),
        model: b.build(),
    }
}

fn pool(op: &str, c: usize, hw: usize) -> Case {
    let mut b = ModelBuilder::new(13);
    let attrs = if op == "MaxPool" || op == "AveragePool" {
        vec![
            ("kernel_shape", ints(&[3, 3])),
            ("strides", ints(&[2, 2])),
            ("pads", ints(&[1, 1, 1, 1])),
        ]
    } else {
        vec![]
    };
    b.input("x", &[1, c, hw, hw])
        .node(op, &["x"], &["y"], attrs)
        .output("y");
    Case {
        name: format!("{op} c{c} hw{hw}"),
        model: b.build(),
    }
}

fn concat(c: usize, hw: usize) -> Case {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, c, hw, hw])
        .input("z", &[1, c, hw, hw])
        .node(
            "Concat",
            &["x", "z"],
            &["y"],
            vec![("axis", Attribute::Int(1))],
        )
        .output("y");
    Case {
        name: format!("Concat c{c} hw{hw}"),
        model: b.build(),
    }
}

fn transpose(c: usize, hw: usize) -> Case {
    let mut b = ModelBuilder::new(13);
    b.input("x", &[1, c, hw, hw])
        .node(
            "Transpose",
            &["x"],
            &["y"],
            vec![("perm", ints(&[0, 2, 3, 1]))],
        )
        .output("y");
    Case {
        name: format!("Transpose c{c} hw{hw}"),
        model: b.build(),
    }
}

/// The suite; `quick` keeps about a third of it (for tests and fast runs).
pub fn cases(quick: bool) -> Vec<Case> {
    let mut v = Vec::new();
    // 1x1 convolutions: MobileNet expansions/projections, ResNet bottlenecks.
    for &(c, m, hw) in &[
        (16, 32, 56),
        (32, 64, 28),
        (24, 144, 56),
        (144, 24, 56),
        (96, 24, 28),
        (64, 128, 14),
        (160, 960, 7),
        (320, 1280, 7),
        (256, 256, 14),
        (8, 16, 112),
        (512, 512, 7),
        (32, 192, 28),
    ] {
        v.push(conv(c, m, hw, 1, 1, 1));
    }
    // KxK dense convolutions.
    for &(c, m, hw, k, s) in &[
        (3, 32, 224, 3, 2),
        (3, 64, 224, 7, 2),
        (16, 16, 56, 3, 1),
        (32, 32, 28, 3, 1),
        (64, 64, 56, 3, 1),
        (64, 128, 56, 3, 2),
        (128, 128, 28, 3, 1),
        (256, 256, 14, 3, 1),
        (512, 512, 7, 3, 1),
        (1, 8, 28, 5, 1),
        (8, 16, 14, 5, 1),
        (3, 16, 64, 3, 1),
    ] {
        v.push(conv(c, m, hw, k, s, 1));
    }
    // Depthwise 3x3 (and 5x5).
    for &(c, hw, k, s) in &[
        (32, 112, 3, 1),
        (96, 112, 3, 2),
        (144, 56, 3, 1),
        (144, 56, 3, 2),
        (192, 28, 3, 1),
        (384, 14, 3, 1),
        (576, 14, 3, 2),
        (960, 7, 3, 1),
        (64, 32, 5, 1),
        (16, 64, 3, 1),
    ] {
        v.push(conv(c, c, hw, k, s, c));
    }
    for &(m, k, n) in &[
        (1, 1280, 1000),
        (1, 512, 1000),
        (1, 784, 128),
        (1, 128, 10),
        (1, 2048, 512),
        (1, 256, 256),
        (8, 512, 512),
        (64, 64, 64),
    ] {
        v.push(gemm(m, k, n));
    }
    for shape in [
        vec![1, 16, 112, 112],
        vec![1, 32, 56, 56],
        vec![1, 64, 28, 28],
        vec![1, 256, 7, 7],
    ] {
        v.push(binary("Add", &shape));
        v.push(unary("Relu", &shape));
        v.push(unary("Sigmoid", &shape));
    }
    for &(c, hw) in &[
        (64, 112),
        (32, 56),
        (128, 28),
        (1280, 7),
        (512, 7),
        (16, 28),
    ] {
        v.push(pool("MaxPool", c, hw));
        v.push(pool("GlobalAveragePool", c, hw));
    }
    for &(c, hw) in &[(32, 56), (64, 28), (128, 14), (16, 112)] {
        v.push(concat(c, hw));
        v.push(transpose(c, hw));
    }
    if quick {
        v = v.into_iter().step_by(3).collect();
    }
    v
}
