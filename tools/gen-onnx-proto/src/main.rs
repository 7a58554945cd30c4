//! Regenerates the committed prost types for ONNX. Run from the repo root:
//! `cargo run --manifest-path tools/gen-onnx-proto/Cargo.toml`
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto_dir = root.join("crates/onnx/proto");
    let out_dir = root.join("crates/onnx/src/proto");
    std::fs::create_dir_all(&out_dir)?;
    let fds = protox::compile(["onnx/onnx-ml.proto", "onnx/onnx-data.proto"], [&proto_dir])?;
    prost_build::Config::new()
        // Weight payloads stay views into the (memory-mapped) file instead of copies.
        .bytes([".onnx.TensorProto.raw_data"])
        .out_dir(&out_dir)
        .compile_fds(fds)?;
    println!("wrote {}", out_dir.join("onnx.rs").display());
    Ok(())
}
