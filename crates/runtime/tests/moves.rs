//! Data movement lowerings (the precomputed gather of `lower/gather_map.rs`) against the IR's
//! reference eval on seeded random shapes. They copy elements, so results must be exact
//! (tolerance 0). Opt level 0 keeps each node as written (no folding into neighbours).

mod common;

use common::{assert_all_fast, check};
use edgeopt_ir::{Attribute, Model};
use edgeopt_passes::testing::{random_tensor, ModelBuilder};
use edgeopt_tensor::Tensor;

struct Pick(u64);

impl Pick {
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (self.0 % (hi - lo + 1) as u64) as usize
    }
}

fn i64s(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
}

/// One node `op(x, consts...) -> y` on input `x` of `shape`, checked exactly and all fast.
/// A const named "" is an omitted input.
fn one(op: &str, shape: &[usize], consts: &[(&str, Tensor)], attrs: Vec<(&str, Attribute)>) {
    let mut b = ModelBuilder::new(13);
    b.input("x", shape);
    let mut ins = vec!["x"];
    for (name, t) in consts {
        if !name.is_empty() {
            b.init(name, t.clone());
        }
        ins.push(name);
    }
    b.node(op, &ins, &["y"], attrs).output("y");
    let model: Model = b.build();
    let sess = check(&model, &[random_tensor(shape, 5)], 0, 1, 0.0);
    assert_all_fast(&sess, op);
}

#[test]
fn slice_matches_reference() {
    let mut p = Pick(0x51);
    for _ in 0..20 {
        let shape = [p.int(1, 3), p.int(1, 6), p.int(1, 7), p.int(1, 9)];
        let axis = p.int(0, 3);
        let n = shape[axis] as i64;
        let step = [1i64, 1, 2, -1, -2][p.int(0, 4)];
        let (a, b) = (p.int(0, n as usize) as i64, p.int(0, n as usize) as i64);
        let (start, end) = if step > 0 {
            (a.min(b), a.max(b) + 1)
        } else {
            (a.max(b), a.min(b) - n - 1)
        };
        one(
            "Slice",
            &shape,
            &[
                ("starts", i64s(&[start])),
                ("ends", i64s(&[end])),
                ("axes", i64s(&[axis as i64])),
                ("steps", i64s(&[step])),
            ],
            vec![],
        );
    }
}

#[test]
fn pad_matches_reference() {
    let mut p = Pick(0x9ad);
    for case in 0..12 {
        let shape = [1, p.int(1, 4), p.int(2, 7), p.int(2, 8)];
        let mode = ["constant", "reflect", "edge"][case % 3];
        let pads: Vec<i64> = (0..8)
            .map(|i| if i % 4 < 2 { 0 } else { p.int(0, 1) as i64 })
            .collect();
        let mut consts = vec![("pads", i64s(&pads))];
        if case % 2 == 0 && mode == "constant" {
            consts.push(("value", Tensor::scalar(1.5f32)));
        }
        one(
            "Pad",
            &shape,
            &consts,
            vec![("mode", Attribute::String(mode.as_bytes().to_vec()))],
        );
    }
}

#[test]
fn nearest_resize_tile_expand_gather_depth_to_space_match_reference() {
    let scales = Tensor::from_vec(vec![4], vec![1.0f32, 1.0, 2.0, 2.0]).unwrap();
    one(
        "Resize",
        &[1, 3, 5, 7],
        &[("", scales.clone()), ("scales", scales)],
        vec![],
    );
    let sizes = i64s(&[1, 2, 9, 5]);
    one(
        "Resize",
        &[1, 2, 4, 6],
        &[("", i64s(&[])), ("", i64s(&[])), ("sizes", sizes)],
        vec![(
            "coordinate_transformation_mode",
            Attribute::String(b"asymmetric".to_vec()),
        )],
    );
    one("Tile", &[2, 3, 4], &[("repeats", i64s(&[2, 1, 3]))], vec![]);
    one(
        "Expand",
        &[3, 1, 5],
        &[("shape", i64s(&[2, 3, 4, 5]))],
        vec![],
    );
    let idx = Tensor::from_vec(vec![2, 2], vec![2i64, 0, -1, 1]).unwrap();
    one(
        "Gather",
        &[4, 3, 5],
        &[("indices", idx)],
        vec![("axis", Attribute::Int(1))],
    );
    one(
        "DepthToSpace",
        &[1, 8, 3, 4],
        &[],
        vec![("blocksize", Attribute::Int(2))],
    );
    one(
        "SpaceToDepth",
        &[1, 2, 6, 4],
        &[],
        vec![("blocksize", Attribute::Int(2))],
    );
}
