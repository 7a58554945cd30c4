//! The quantized element-wise add of every table against the naive twin, exactly.

use proptest::prelude::*;

use super::reference as naive;
use super::tests::{values, zero_point};
use super::*;

fn params(signed: bool) -> impl Strategy<Value = QParams> {
    (prop_oneof![1e-3f32..0.5, Just(0.02f32)], zero_point(signed))
        .prop_map(|(scale, zero_point)| QParams { scale, zero_point })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn add_matches_reference(
        (signed, a, b, pa, pb, py, clamp) in any::<bool>().prop_flat_map(|s| {
            (0usize..80).prop_flat_map(move |n| (
                Just(s), values(n, s), values(n, s), params(s), params(s), params(s),
                prop::option::of((-140i32..260, -140i32..260)),
            ))
        })
    ) {
        let (tmin, tmax) = if signed { (-128, 127) } else { (0, 255) };
        let (lo, hi) = clamp.map_or((tmin, tmax), |(l, h)| (l.clamp(tmin, tmax), h.clamp(tmin, tmax)));
        let want: Vec<i32> = a.iter().zip(&b).map(|(&x, &z)| {
            let q = naive::add_one(x, (pa.scale, pa.zero_point), z, (pb.scale, pb.zero_point),
                (py.scale, py.zero_point), tmin, tmax);
            q.max(lo).min(hi)
        }).collect();
        for table in Int8Kernels::available() {
            let got: Vec<i32> = if signed {
                let (x, z): (Vec<i8>, Vec<i8>) = (a.iter().map(|&v| v as i8).collect(), b.iter().map(|&v| v as i8).collect());
                let mut y = vec![0i8; a.len()];
                add(table, (&x, pa), (&z, pb), (&mut y, py), clamp).unwrap();
                y.into_iter().map(i32::from).collect()
            } else {
                let (x, z): (Vec<u8>, Vec<u8>) = (a.iter().map(|&v| v as u8).collect(), b.iter().map(|&v| v as u8).collect());
                let mut y = vec![0u8; a.len()];
                add(table, (&x, pa), (&z, pb), (&mut y, py), clamp).unwrap();
                y.into_iter().map(i32::from).collect()
            };
            prop_assert_eq!(&got, &want, "table {}", table.name());
        }
    }
}

#[test]
fn add_rejects_bad_operands() {
    let t = Int8Kernels::native();
    let p = QParams {
        scale: 0.1,
        zero_point: 0,
    };
    let mut y = [0u8; 2];
    assert!(add(
        t,
        (&[1u8, 2][..], p),
        (&[1u8][..], p),
        (&mut y[..], p),
        None
    )
    .is_err());
    let bad = QParams {
        scale: 0.0,
        zero_point: 0,
    };
    assert!(add(
        t,
        (&[1u8, 2][..], bad),
        (&[1u8, 2][..], p),
        (&mut y[..], p),
        None
    )
    .is_err());
}
