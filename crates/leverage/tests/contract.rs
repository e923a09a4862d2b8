//! The contract checks of `proto/` (see proto/README.md): `buf lint` with the STANDARD and
//! COMMENTS rules of proto/buf.yaml, and `buf breaking` against the descriptor image committed
//! in proto/image/, plus a proof that the breaking check does fail when a field is removed.
//!
//! buf is `LEVERAGE_BUF` when set, else the clone's `.venv/bin/buf` (installed by `.ci/run`
//! from PyPI's buf-bin), else `buf` on the PATH. Without it the tests fail when `CI` is set (CI
//! must never skip silently) and otherwise say why they skip and pass.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::skip_or_fail;

/// How to install what a skipped test misses.
const HELP: &str = "install it with `python3 -m venv .venv && .venv/bin/python -m pip install -r \
                clients/python/requirements-dev.txt` (as .ci/run does)";

const IMAGE: &str = "image/leverage-v1.binpb";

fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../proto")
        .canonicalize()
        .expect("proto dir")
}

/// The buf to run, or `None` after skipping (outside CI) when there is none.
fn buf(test: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os("LEVERAGE_BUF")
        .map(PathBuf::from)
        .or_else(|| {
            let venv = proto_dir().join("../.venv/bin/buf");
            venv.exists().then_some(venv)
        })
        .unwrap_or_else(|| PathBuf::from("buf"));
    match Command::new(&candidate).arg("--version").output() {
        Ok(out) if out.status.success() => Some(candidate),
        Ok(out) => {
            let why = format!(
                "{} --version failed: {}",
                candidate.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
            skip_or_fail(test, &why, HELP);
            None
        }
        Err(e) => {
            skip_or_fail(
                test,
                &format!("buf not found ({}: {e})", candidate.display()),
                HELP,
            );
            None
        }
    }
}

fn run(buf: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(buf)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run buf {args:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Copies the contract (buf.yaml and every .proto, not the image) into a fresh directory.
fn copy_contract(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read proto dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name");
        if path.is_dir() {
            if name == "image" {
                continue;
            }
            std::fs::create_dir_all(to.join(name)).expect("mkdir");
            copy_contract(&path, &to.join(name));
        } else if path.extension().is_some_and(|e| e == "proto") || name == "buf.yaml" {
            std::fs::copy(&path, to.join(name)).expect("copy");
        }
    }
}

#[test]
fn buf_lint_passes() {
    let Some(buf) = buf("buf_lint_passes") else {
        return;
    };
    let out = run(&buf, &proto_dir(), &["lint"]);
    println!("{}", text(&out));
    assert!(
        out.status.success(),
        "buf lint failed (rules: proto/buf.yaml):\n{}",
        text(&out)
    );
}

#[test]
fn no_breaking_change_against_the_committed_image() {
    const TEST: &str = "no_breaking_change_against_the_committed_image";
    let Some(buf) = buf(TEST) else {
        return;
    };
    let proto = proto_dir();
    assert!(
        proto.join(IMAGE).is_file(),
        "proto/{IMAGE} is missing: see proto/README.md"
    );
    let out = run(&buf, &proto, &["breaking", "--against", IMAGE]);
    println!("{}", text(&out));
    assert!(
        out.status.success(),
        "proto/ has changes incompatible with the committed contract (proto/{IMAGE}). \
         Undo them, or, if deliberate, update the image in the same change as \
         proto/README.md says:\n{}",
        text(&out)
    );

    // Compatible additions since the image was made are not protected until it is updated.
    let fresh = tempfile::tempdir().expect("temp dir");
    let fresh_image = fresh.path().join("current.binpb");
    let built = Command::new(&buf)
        .current_dir(&proto)
        .args(["build", "--exclude-source-info", "-o"])
        .arg(&fresh_image)
        .output()
        .expect("run buf build");
    assert!(
        built.status.success(),
        "buf build failed:\n{}",
        text(&built)
    );
    let committed = std::fs::read(proto.join(IMAGE)).expect("read image");
    if std::fs::read(&fresh_image).expect("read fresh image") != committed {
        let _ = writeln!(
            std::io::stderr(),
            "NOTE {TEST}: proto/ has compatible changes that proto/{IMAGE} does not record yet; \
             update the image (proto/README.md) so they are protected too"
        );
    }
}

/// The check bites: the contract with one field removed from a message fails against the
/// committed image (and the unchanged copy passes, so the failure is the removal's).
#[test]
fn removing_a_field_fails_the_breaking_check() {
    const TEST: &str = "removing_a_field_fails_the_breaking_check";
    let Some(buf) = buf(TEST) else {
        return;
    };
    let proto = proto_dir();
    let image = proto.join(IMAGE);
    let image = image.to_str().expect("utf-8 path");
    let copy = tempfile::tempdir().expect("temp dir");
    copy_contract(&proto, copy.path());

    let unchanged = run(&buf, copy.path(), &["breaking", "--against", image]);
    assert!(
        unchanged.status.success(),
        "the unchanged copy should pass:\n{}",
        text(&unchanged)
    );

    let common = copy.path().join("leverage/v1/common.proto");
    let source = std::fs::read_to_string(&common).expect("read common.proto");
    let field = "  int32 nanos = 3;\n";
    assert!(
        source.contains(field),
        "Money.nanos is no longer `{}` in common.proto: pick another field for this test",
        field.trim()
    );
    std::fs::write(&common, source.replacen(field, "", 1)).expect("write common.proto");

    let broken = run(&buf, copy.path(), &["breaking", "--against", image]);
    let report = text(&broken);
    println!("{report}");
    assert!(
        !broken.status.success(),
        "buf breaking accepted the removal of Money.nanos:\n{report}"
    );
    assert!(
        report.contains("nanos") && report.contains("Money"),
        "the report should name the removed field:\n{report}"
    );
}
