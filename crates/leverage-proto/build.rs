//! Compiles `proto/leverage/v1/*.proto` with protox (pure Rust, no `protoc` to install),
//! generates the messages and the tonic clients and servers, and writes the file descriptor
//! set (with comments) that the server hands to reflection clients.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    let package_dir = proto_root.join("leverage/v1");

    // Rerun when any proto file is added, removed or edited (the directory itself covers
    // additions and removals; each file covers edits).
    println!("cargo:rerun-if-changed={}", package_dir.display());
    let files = proto_files(&package_dir)?;
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let mut compiler = protox::Compiler::new([&proto_root])?;
    // Comments stay in the descriptors: reflection clients (grpcurl describe, Postman) show
    // them, and the crate's tests check that every element is documented.
    compiler.include_source_info(true);
    // The well-known types go in too, so that a reflection client can resolve every import.
    compiler.include_imports(true);
    compiler.open_files(&files)?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("leverage_v1_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

/// Every `.proto` file of the package, sorted so that the output does not depend on the
/// order the file system lists them in.
fn proto_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "proto") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
