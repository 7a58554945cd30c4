//! ReduceMean / ReduceSum / ReduceMax and LayerNormalization lowerings against the IR's
//! reference eval on seeded random shapes. Tolerance: 1e-4 relative to the largest magnitude
//! (f32 sums in lanes vs the reference's f64); max is exact.

mod common;

use common::{assert_all_fast, check};
use edgeopt_ir::Attribute;
use edgeopt_passes::testing::{ints, random_tensor, ModelBuilder};
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

#[test]
fn reductions_over_contiguous_axes_match_reference() {
    let mut p = Pick(0xbeef);
    for case in 0..24 {
        let shape = [p.int(1, 3), p.int(1, 5), p.int(1, 9), p.int(1, 19)];
        let first = p.int(0, 3);
        let last = p.int(first, 3);
        let mut axes: Vec<i64> = (first as i64..=last as i64).collect();
        if case % 3 == 0 {
            axes = axes.iter().map(|a| a - 4).collect();
        }
        let op = ["ReduceMean", "ReduceSum", "ReduceMax"][case % 3];
        let keep = (case / 3 % 2) as i64;
        let mut b = ModelBuilder::new(13);
        b.input("x", &shape);
        // Opset 13: ReduceSum takes axes as an input, the others as an attribute.
        if op == "ReduceSum" {
            b.init("axes", Tensor::from_vec(vec![axes.len()], axes).unwrap())
                .node(
                    op,
                    &["x", "axes"],
                    &["y"],
                    vec![("keepdims", Attribute::Int(keep))],
                );
        } else {
            b.node(
                op,
                &["x"],
                &["y"],
                vec![("axes", ints(&axes)), ("keepdims", Attribute::Int(keep))],
            );
        }
        b.output("y");
        let sess = check(
            &b.build(),
            &[random_tensor(&shape, case as u64)],
            0,
            1,
            1e-4,
        );
        assert_all_fast(&sess, op);
    }
}

#[test]
fn layer_norm_matches_reference() {
    let mut p = Pick(0x1a7);
    for case in 0..12 {
        let shape = [p.int(1, 3), p.int(1, 6), p.int(1, 40)];
        let axis = [-1i64, 1, 2][case % 3];
        let norm: Vec<usize> = shape[(axis.rem_euclid(3)) as usize..].to_vec();
        let mut b = ModelBuilder::new(17);
        b.input("x", &shape).weight("scale", &norm);
        let mut ins = vec!["x", "scale"];
        if case % 2 == 0 {
            b.weight("bias", &norm);
            ins.push("bias");
        }
        b.node(
            "LayerNormalization",
            &ins,
            &["y"],
            vec![
                ("axis", Attribute::Int(axis)),
                ("epsilon", Attribute::Float(1e-3)),
            ],
        )
        .output("y");
        let sess = check(
            &b.build(),
            &[random_tensor(&shape, case as u64)],
            0,
            1,
            1e-4,
        );
        assert_all_fast(&sess, "LayerNormalization");
    }
}

/// `x` through GELU (x * 0.5 * (1 + erf(x / sqrt 2))) then `2 - tanh(.)` and a LeakyRelu: the
/// optimizer fuses the chain into one FusedElementwise node, lowered to tiles. The input is
/// larger than one tile and not a multiple of it.
#[test]
fn fused_elementwise_chain_matches_reference() {
    for (case, shape) in [[1usize, 3, 17, 29], [2, 1, 1, 7], [1, 8, 16, 16]]
        .iter()
        .enumerate()
    {
        let scalar = |v: f32| Tensor::from_vec(vec![1], vec![v]).unwrap();
        let mut b = ModelBuilder::new(13);
        b.input("x", shape)
            .init("sqrt2", scalar(std::f32::consts::SQRT_2))
            .init("one", scalar(1.0))
            .init("half", scalar(0.5))
            .init("two", scalar(2.0))
            .node("Div", &["x", "sqrt2"], &["a"], vec![])
            .node("Erf", &["a"], &["e"], vec![])
            .node("Add", &["e", "one"], &["p"], vec![])
            .node("Mul", &["x", "p"], &["m"], vec![])
            .node("Mul", &["m", "half"], &["g"], vec![])
            .node("Tanh", &["g"], &["t"], vec![])
            .node("Sub", &["two", "t"], &["s"], vec![])
            .node(
                "LeakyRelu",
                &["s"],
                &["y"],
                vec![("alpha", Attribute::Float(0.3))],
            )
            .output("y");
        let sess = check(&b.build(), &[random_tensor(shape, case as u64)], 2, 1, 1e-4);
        assert_all_fast(&sess, "FusedElementwise");
        let fused = sess
            .optimized_model()
            .unwrap()
            .graph
            .nodes
            .iter()
            .filter(|n| n.op_type() == "FusedElementwise")
            .count();
        assert_eq!(fused, 1);
    }
}
