//! The dot-product (quads layout) tables on the shapes that reach their fast paths: full
//! 32-column panels of contiguous activations (the vector packer), depths that are not a
//! multiple of four, one column (the GEMV), transposed activations, both activation types,
//! asymmetric and unsigned weights. Every table usable here runs (VNNI ones only where the CPU
//! has VNNI; `generic_dot` everywhere), each against the naive twin, exactly.

use proptest::prelude::*;

use super::tests::{check_gemm, gemm_case_sized};
use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn wide_gemm_matches_reference(
        c in gemm_case_sized(1..40, 1..300, prop_oneof![Just(32usize), Just(64), 33usize..100].boxed())
    ) {
        for table in Int8Kernels::available() {
            check_gemm(table, &c)?;
        }
    }

    #[test]
    fn gemv_matches_reference(c in gemm_case_sized(1..70, 1..600, Just(1usize).boxed())) {
        for table in Int8Kernels::available() {
            check_gemm(table, &c)?;
        }
    }
}

#[test]
fn tables_cover_both_layouts_and_skip_what_the_cpu_lacks() {
    let names: Vec<&str> = Int8Kernels::available().iter().map(|t| t.name()).collect();
    assert_eq!(names[..2], ["generic", "generic_dot"]);
    assert!(Int8Kernels::by_name("generic_dot").is_some_and(|t| t.is_dot()));
    #[cfg(target_arch = "x86_64")]
    {
        let vnni = ["avx512f", "avx512bw", "avx512vl", "avx512vnni"];
        let has = [
            is_x86_feature_detected!("avx512f"),
            is_x86_feature_detected!("avx512bw"),
            is_x86_feature_detected!("avx512vl"),
            is_x86_feature_detected!("avx512vnni"),
        ];
        let want_vnni = has.iter().all(|&h| h);
        assert_eq!(
            names.contains(&"x86_64_vnni512"),
            want_vnni,
            "{names:?}, features {vnni:?} = {has:?}"
        );
        assert_eq!(
            names.contains(&"x86_64_avx2"),
            is_x86_feature_detected!("avx2")
        );
        if !want_vnni {
            eprintln!("note: no AVX512-VNNI on this CPU, VNNI tables not tested");
        }
    }
    assert_eq!(Int8Kernels::native().name(), *names.last().unwrap());
}
