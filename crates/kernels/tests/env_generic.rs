//! `EDGEOPT_KERNELS=generic` forces the portable table. A test binary of its own, so that no
//! other test has picked the process table before the variable is set.

#[test]
fn env_var_forces_the_generic_table() {
    std::env::set_var("EDGEOPT_KERNELS", "generic");
    assert_eq!(edgeopt_kernels::kernels().name(), "generic");
}
