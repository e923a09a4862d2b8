//! Compiles `proto/hello.proto` with protox (no `protoc` to install) and generates the tonic
//! client and server of the hello-world baseline.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_dir = manifest_dir.join("proto");
    let file = proto_dir.join("hello.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let descriptors = protox::compile([&file], [&proto_dir])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // A `Bytes` payload is cloned by reference count, so the sized baseline copies nothing
        // before encoding.
        .bytes(".hello.v1.SizedResponse.payload")
        .compile_fds(descriptors)?;
    Ok(())
}
