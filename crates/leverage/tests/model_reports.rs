//! The published model reports: `leverage model report` through the real binary, against a real
//! server running the real bundled plugin libraries on the shipped dataset.
//!
//! - The committed reports (`docs/models/<id>/README.md` and `tornado.svg`) are exactly what the
//!   command generates now: each is regenerated into a temporary directory and compared byte for
//!   byte; a difference fails with the first line that differs and the command to run.
//!   `LEVERAGE_BLESS_REPORTS=1` writes the fresh reports over the committed ones first.
//! - A report moves a plugin's own inputs like the levers (fixture-escrow).
//! - A report never replaces a file it did not write.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::Path;

use leverage_e2e::{TestServer, plugin_dir};
use leverage_plugin_host::HostOptions;
use tempfile::TempDir;

mod common;
use common::{cli, succeeded, workspace};

/// The models whose reports are committed, as `leverage model report` names them.
const COMMITTED: [&str; 2] = ["pressure-index", "prudent-pressure"];
/// The files a report writes.
const FILES: [&str; 2] = ["README.md", "tornado.svg"];
const BLESS: &str = "LEVERAGE_BLESS_REPORTS";

/// A server with the bundled plugins, and `extra` plugin files (name in the test build, name
/// in the plugin directory), on a fresh copy of the shipped dataset.
async fn server(extra: &[(&str, &str)]) -> (TestServer, String, [TempDir; 2]) {
    let data = tempfile::tempdir().unwrap();
    let mut files = vec![
        (
            "libleverage_plugin_pressure_index.so",
            "libleverage_plugin_pressure_index.so",
        ),
        (
            "libleverage_plugin_prudent_pressure.so",
            "libleverage_plugin_prudent_pressure.so",
        ),
    ];
    files.extend_from_slice(extra);
    let plugins = plugin_dir(&files);
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), HostOptions::default()).await;
    let url = format!("http://{}", server.addr);
    (server, url, [data, plugins])
}

/// `leverage model report ID --out DIR` against `url`.
async fn report(url: &str, id: &str, out: &Path) -> std::process::Output {
    cli([
        "--server",
        url,
        "model",
        "report",
        id,
        "--out",
        out.to_str().unwrap(),
    ])
    .await
}

/// Where two texts first differ, for a person: the line number and both lines.
fn first_difference(committed: &str, fresh: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut fresh_lines = fresh.lines();
    for n in 1.. {
        match (committed_lines.next(), fresh_lines.next()) {
            (Some(a), Some(b)) if a == b => continue,
            (None, None) => return "they differ only in line endings".to_owned(),
            (a, b) => {
                return format!(
                    "line {n}:\n    committed: {}\n    generated: {}",
                    a.unwrap_or("(end of file)"),
                    b.unwrap_or("(end of file)")
                );
            }
        }
    }
    unreachable!("the loop returns")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_committed_reports_are_what_the_command_generates() {
    let (_server, url, _dirs) = server(&[]).await;
    let bless = std::env::var(BLESS).is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for id in COMMITTED {
        let fresh_dir = tempfile::tempdir().unwrap();
        succeeded(&report(&url, id, fresh_dir.path()).await);
        let committed_dir = workspace().join("docs/models").join(id);
        for file in FILES {
            let fresh = std::fs::read_to_string(fresh_dir.path().join(file)).unwrap();
            let committed_path = committed_dir.join(file);
            if bless {
                std::fs::create_dir_all(&committed_dir).unwrap();
                std::fs::write(&committed_path, &fresh).unwrap();
            }
            match std::fs::read_to_string(&committed_path) {
                Ok(committed) if committed == fresh => {}
                Ok(committed) => stale.push(format!(
                    "docs/models/{id}/{file} is out of date, first at {}",
                    first_difference(&committed, &fresh)
                )),
                Err(e) => stale.push(format!("docs/models/{id}/{file} cannot be read: {e}")),
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n\nThe committed reports must be what `leverage model report` generates now. \
         Regenerate them all with\n    {BLESS}=1 cargo test -p leverage --test model_reports\n\
         or one with `leverage model report ID --out docs/models/ID/` against a server on the \
         shipped dataset (docs/models/reports.md), and commit the result.",
        stale.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_moves_the_plugins_own_inputs_and_parameters() {
    let (_server, url, _dirs) =
        server(&[("libfixture_escrow_v1.so", "libfixture_escrow.so")]).await;
    let out = tempfile::tempdir().unwrap();
    let said = succeeded(&report(&url, "fixture-escrow", out.path()).await);
    assert!(said.contains("plugins/fixture-escrow"), "{said}");
    let readme = std::fs::read_to_string(out.path().join("README.md")).unwrap();
    let svg = std::fs::read_to_string(out.path().join("tornado.svg")).unwrap();
    // escrow.share is required: its base is the middle of its range (0.5), moved to 0.25 and
    // 0.75; escrow.enforcement defaults to 0.5 and moves the same way.
    for (input, unit) in [
        ("escrow.share", "fraction 0..1"),
        ("escrow.enforcement", "probability 0..1"),
    ] {
        assert!(
            readme.contains(&format!("| `{input}` | own input | {unit} | 0.5 | 0.25 → ")),
            "{input} is not a factor of the report:\n{readme}"
        );
    }
    assert!(readme.contains("| `escrow.share` | 0.5 |"), "{readme}");
    // Its parameters are moved too: `weight` moves the score; `yield_pct` only a component,
    // so it is named among the factors without effect.
    assert!(
        readme.contains("| `weight` | parameter | 0..1 | 0.6 | 0.3 → "),
        "{readme}"
    );
    let silent = readme
        .lines()
        .find(|l| l.starts_with("No effect at these ranges"))
        .unwrap_or_default();
    assert!(silent.contains("`yield_pct`"), "{readme}");
    assert!(svg.contains("escrow.share (own input)"), "{svg}");
    assert!(!svg.contains("<script"));
    // Its ranking sits beside the bundled models'.
    assert!(
        readme.contains("| option | use mode | `fixture-escrow`"),
        "{readme}"
    );
    assert!(readme.contains("`pressure-index` ") && readme.contains("`prudent-pressure` "));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_replaces_only_the_files_it_wrote() {
    let (_server, url, _dirs) = server(&[]).await;
    let out = tempfile::tempdir().unwrap();
    let card = out.path().join("card.md");
    std::fs::write(&card, "# A hand-written card\n").unwrap();
    succeeded(&report(&url, "pressure-index", out.path()).await);
    // Its own files it replaces; the card stays as it was.
    succeeded(&report(&url, "pressure-index", out.path()).await);
    assert_eq!(
        std::fs::read_to_string(&card).unwrap(),
        "# A hand-written card\n"
    );
    // A README.md someone else wrote is refused, and nothing is written.
    let other = tempfile::tempdir().unwrap();
    let readme = other.path().join("README.md");
    std::fs::write(&readme, "# Notes\n").unwrap();
    let refused = report(&url, "pressure-index", other.path()).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("README.md exists and was not written by `leverage model report`"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), "# Notes\n");
    assert!(!other.path().join("tornado.svg").exists());
}
