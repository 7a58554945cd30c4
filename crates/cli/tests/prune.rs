//! `edgeopt prune` with fine-tuning end to end through the built binary, on a zoo CNN and a
//! tiny IDX dataset written here: gradual magnitude pruning with masked fine-tuning reaches
//! the sparsity and resumes from its checkpoint; structured pruning with the Taylor criterion
//! fine-tunes the shrunk model; the Taylor criterion without labelled data is refused.

use std::path::Path;
use std::process::Command;

fn edgeopt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_edgeopt"))
        .args(args)
        .output()
        .expect("the edgeopt binary runs")
}

fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// IDX files `{prefix}-images-idx3-ubyte` / `-labels-idx1-ubyte`: `n` 28x28 images of 10
/// classes (a bright row at the class's position plus a seeded speckle).
fn write_idx(dir: &Path, prefix: &str, n: usize, seed: u32) {
    let mut img = vec![0u8, 0, 8, 3];
    for d in [n as u32, 28, 28] {
        img.extend_from_slice(&d.to_be_bytes());
    }
    let mut lab = vec![0u8, 0, 8, 1];
    lab.extend_from_slice(&(n as u32).to_be_bytes());
    let mut s = seed | 1;
    for i in 0..n {
        let class = i % 10;
        for r in 0..28 {
            for _ in 0..28 {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let speckle = (s % 60) as u8;
                img.push(if r == 2 + 2 * class { 255 } else { speckle });
            }
        }
        lab.push(class as u8);
    }
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), img).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), lab).unwrap();
}

#[test]
fn prune_with_fine_tuning_gradual_and_resume() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let model = d.join("cnn.onnx");
    let m = model.to_str().unwrap();
    ok(
        &edgeopt(&["zoo", "cnn", "-o", m, "--batch", "1"]),
        "zoo cnn",
    );
    write_idx(d, "train", 40, 1);
    write_idx(d, "t10k", 20, 2);
    let data = d.to_str().unwrap();
    let out = d.join("sparse.onnx");
    let ck = d.join("ck");
    let args = [
        "prune",
        m,
        "--method",
        "magnitude",
        "--sparsity",
        "0.8",
        "--finetune",
        data,
        "--schedule",
        "gradual",
        "--steps",
        "2",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--json",
        "-o",
        out.to_str().unwrap(),
    ];
    let first = edgeopt(&args);
    let report: serde_json::Value = serde_json::from_str(&ok(&first, "gradual prune")).unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("step 2/2: pruned to 80.0%"), "{stderr}");
    assert!(out.exists());
    let (params, nonzero) = (
        report["before"]["params"].as_f64().unwrap(),
        report["after"]["nonzero"].as_f64().unwrap(),
    );
    // 80% of the conv/gemm weights are zero (biases are not pruned).
    assert!(nonzero < 0.25 * params, "{nonzero} of {params} nonzero");
    let acc = &report["accuracy"];
    assert!(
        acc["before"].is_number() && acc["after"].is_number(),
        "{acc}"
    );
    // The same command again resumes from the finished checkpoint.
    let again = edgeopt(&args);
    ok(&again, "resumed prune");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("resumed from the checkpoint: 2 step(s) done"),
        "{stderr}"
    );

    // Structured pruning with the Taylor criterion fine-tunes the shrunk model.
    let shrunk = d.join("shrunk.onnx");
    let text = ok(
        &edgeopt(&[
            "prune",
            m,
            "--method",
            "channel",
            "--criterion",
            "taylor",
            "--sparsity",
            "0.5",
            "--finetune",
            data,
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "-o",
            shrunk.to_str().unwrap(),
        ]),
        "taylor channel prune",
    );
    assert!(text.contains("MACs") && text.contains("accuracy"), "{text}");
    assert!(std::fs::metadata(&shrunk).unwrap().len() < std::fs::metadata(&model).unwrap().len());

    // Taylor needs labels.
    let refused = edgeopt(&["prune", m, "--method", "channel", "--criterion", "taylor"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--data"), "{err}");
}
