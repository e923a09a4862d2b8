//! The generated web client (`web/client`, the npm package `@leverage/client`) and the page's
//! bundle (`web/dist/app.js`):
//!
//! - what is committed is what `proto/` and the pinned toolchain build (`npm run verify`:
//!   buf + protoc-gen-es, esbuild), so the page embedded in the server never drifts from the API;
//! - the page's sources hold no protocol code of their own: they speak to the server only
//!   through the generated client;
//! - another app installs the packed client, type-checks against it with `tsc --strict` and
//!   calls a real server with it (gzip on), getting what tonic gets.
//!
//! They need node and `web/node_modules` (`npm ci` in `web/`, as `.ci/run` does); without them
//! they fail when `CI` is set and otherwise say why they skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use serde_json::Value;

mod common;
use common::page::{self, start_server};
use common::{skip_or_fail, succeeded, workspace};

fn web() -> PathBuf {
    workspace().join("web")
}

/// Whether node and web/node_modules are here (else the test skips, outside CI).
fn tools(test: &str) -> bool {
    let node = Command::new("node").arg("--version").output();
    let why = match node {
        Err(e) => format!("node cannot be run ({e})"),
        Ok(out) if !out.status.success() => "node --version failed".to_owned(),
        Ok(_) if !web().join("node_modules/.bin/esbuild").exists() => {
            "web/node_modules is missing".to_owned()
        }
        Ok(_) => return true,
    };
    skip_or_fail(test, &why, page::HELP);
    false
}

#[test]
fn the_committed_client_and_page_bundle_are_what_proto_and_the_pinned_tools_build() {
    if !tools("the_committed_client_and_page_bundle_are_what_proto_and_the_pinned_tools_build") {
        return;
    }
    let out = Command::new("node")
        .current_dir(web())
        .args(["scripts/build.mjs", "verify"])
        .output()
        .expect("run scripts/build.mjs verify");
    let stdout = succeeded(&out);
    assert!(stdout.contains("build: up to date"), "{stdout}");
}

/// Every file under `dir` whose name ends with one of `extensions`.
fn sources(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a web directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, extensions, out);
        } else if extensions
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
        {
            out.push(path);
        }
    }
}

/// The modules a script imports (`… from "m"`, `import "m"`, `import("m")`), statements that
/// span lines included.
fn imported_modules(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for opener in ["from \"", "import \"", "import(\""] {
        let mut rest = text;
        while let Some(at) = rest.find(opener) {
            rest = &rest[at + opener.len()..];
            if let Some(end) = rest.find('"') {
                out.push(&rest[..end]);
            }
        }
    }
    out
}

#[test]
fn the_page_speaks_to_the_server_only_through_the_generated_client() {
    let web = web();
    assert!(
        !web.join("grpc-web.js").exists() && !web.join("src/grpc-web.js").exists(),
        "the hand-written gRPC-Web client is gone"
    );
    let mut files = Vec::new();
    sources(&web.join("src"), &["js", "mjs", "ts"], &mut files);
    files.push(web.join("index.html"));
    assert!(files.len() > 3, "the page's sources: {files:?}");
    // What a hand-written protocol layer needs and a page on the generated client never does:
    // its own HTTP requests, gRPC framing or headers, bytes and protobuf wire types.
    let protocol = [
        "fetch(",
        "XMLHttpRequest",
        "application/grpc",
        "grpc-status",
        "grpc-web",
        "Uint8Array",
        "ArrayBuffer",
        "DataView",
        "wireType",
        "varint",
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a page source");
        for token in protocol {
            if text.contains(token) {
                found.push(format!("{}: {token}", file.display()));
            }
        }
        for module in imported_modules(&text) {
            let allowed = module == "@leverage/client"
                || module.starts_with("./")
                || module.starts_with("../");
            if !allowed {
                found.push(format!("{}: imports {module}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "protocol code in the page's sources: {found:#?}"
    );
}

/// The holdings' names over plain gRPC, every page.
async fn holding_names(url: String) -> Vec<String> {
    let mut client = AssetServiceClient::connect(url).await.expect("connect");
    let (mut names, mut page_token) = (Vec::new(), String::new());
    loop {
        let page = client
            .list_holdings(pb::ListHoldingsRequest {
                page_size: 50,
                page_token,
                ..Default::default()
            })
            .await
            .expect("ListHoldings")
            .into_inner();
        names.extend(page.holdings.into_iter().map(|h| h.name));
        if page.next_page_token.is_empty() {
            return names;
        }
        page_token = page.next_page_token;
    }
}

#[test]
fn another_app_installs_the_typescript_client_type_checks_and_gets_what_tonic_gets() {
    if !tools("another_app_installs_the_typescript_client_type_checks_and_gets_what_tonic_gets") {
        return;
    }
    let web = web();
    let scratch = tempfile::tempdir().expect("temp dir");
    let app = scratch.path().join("app");
    std::fs::create_dir(&app).expect("app directory");
    for file in ["app.ts", "tsconfig.json", "package.json"] {
        std::fs::copy(web.join("test/app").join(file), app.join(file)).expect("copy the app");
    }
    // The package as it would be published: packed from web/client (its prepare step builds it).
    let packed = succeeded(
        &Command::new("npm")
            .current_dir(&web)
            .args(["pack", "./client", "--silent", "--pack-destination"])
            .arg(scratch.path())
            .output()
            .expect("npm pack"),
    );
    let tarball = scratch
        .path()
        .join(packed.trim().lines().last().expect("the packed file"));
    succeeded(
        &Command::new("npm")
            .current_dir(&app)
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--prefer-offline",
                "--loglevel=error",
            ])
            .arg(&tarball)
            .output()
            .expect("npm install"),
    );
    succeeded(
        &Command::new(web.join("node_modules/.bin/tsc"))
            .current_dir(&app)
            .args(["-p", "."])
            .output()
            .expect("tsc"),
    );

    let server = start_server(true, &[]);
    let printed = succeeded(
        &Command::new("node")
            .current_dir(&app)
            .arg("dist/app.js")
            .env("LEVERAGE_URL", server.url())
            .output()
            .expect("run the app"),
    );
    let got: Value = serde_json::from_str(printed.trim()).expect("the app prints JSON");
    let want = tokio::runtime::Runtime::new()
        .expect("tokio runtime")
        .block_on(holding_names(server.url()));
    assert!(want.len() > 7, "more than one page of holdings: {want:?}");
    assert_eq!(
        got["names"],
        serde_json::json!(want),
        "every page, in order"
    );
    assert_eq!(got["refused"]["code"], "NOT_FOUND", "{got}");
    assert_eq!(got["refused"]["reason"], "RESOURCE_NOT_FOUND", "{got}");
}
