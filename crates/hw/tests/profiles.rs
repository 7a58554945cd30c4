//! Every shipped profile parses and validates; broken profiles are errors that name the file
//! and the field.

use edgeopt_hw::profile::{Kind, Profile, BUILTIN};

#[test]
fn every_shipped_profile_parses_and_validates() {
    assert!(BUILTIN.len() >= 8);
    for (name, text) in BUILTIN {
        let p = Profile::parse(text, name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&p.device.name, name, "profile name must match its file");
        // Round trip through TOML keeps every field.
        let again = Profile::parse(&p.to_toml().unwrap(), name).unwrap();
        assert_eq!(again, p);
    }
    let kinds: Vec<Kind> = BUILTIN
        .iter()
        .map(|(n, _)| Profile::load(n).unwrap().device.kind)
        .collect();
    for k in [Kind::Cpu, Kind::Mcu, Kind::Gpu, Kind::Systolic, Kind::Fpga] {
        assert!(kinds.contains(&k), "no shipped profile of kind {k:?}");
    }
}

#[test]
fn missing_field_names_file_and_field() {
    let text = BUILTIN[1].1.replace("peak_macs_per_s = 9.6e9\n", "");
    let e = Profile::parse(&text, "profiles/broken.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("profiles/broken.toml"), "{e}");
    assert!(e.contains("peak_macs_per_s"), "{e}");
}

#[test]
fn invalid_values_and_unknown_fields_are_errors() {
    let base = BUILTIN[1].1;
    let bad_eff = base.replacen("efficiency = 0.55", "efficiency = 1.5", 1);
    let e = Profile::parse(&bad_eff, "x.toml").unwrap_err().to_string();
    assert!(e.contains("compute.fp32.efficiency"), "{e}");
    let typo = base.replacen("cores = 4", "cores = 4\ncorse = 4", 1);
    let e = Profile::parse(&typo, "x.toml").unwrap_err().to_string();
    assert!(e.contains("corse"), "{e}");
    let bad_level = base.replacen("weights = \"dram\"", "weights = \"hbm\"", 1);
    let e = Profile::parse(&bad_level, "x.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("placement.weights") && e.contains("hbm"), "{e}");
}

#[test]
fn user_profiles_load_from_a_path_and_unknown_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    let text = BUILTIN[2]
        .1
        .replace("name = \"cortex-a72\"", "name = \"mine\"");
    std::fs::write(&path, text).unwrap();
    let p = Profile::load(path.to_str().unwrap()).unwrap();
    assert_eq!(p.device.name, "mine");
    let e = Profile::load("no-such-device").unwrap_err().to_string();
    assert!(
        e.contains("no-such-device") && e.contains("cortex-a53"),
        "{e}"
    );
}

#[test]
fn host_aliases_name_the_calibrated_host_profile() {
    let host = Profile::load("host-xeon-icelake-avx512").unwrap();
    assert!(host.host_model.is_some());
    for alias in ["host", "host-epyc-avx2"] {
        assert_eq!(Profile::load(alias).unwrap(), host, "{alias}");
        assert!(Profile::load_base(alias).unwrap().host_model.is_none());
    }
    // Every field of the host profile says where it comes from.
    for m in &host.memory {
        assert!(!m.source.is_empty(), "{}", m.name);
    }
    for t in [&host.compute.fp32, &host.compute.fp16, &host.compute.int8] {
        assert!(!t.source.is_empty());
    }
}
