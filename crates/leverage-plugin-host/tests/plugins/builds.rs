//! Builds side by side: a build that served is archived, a replaced build is called by its
//! name and gives its own bits, after a reload and after a restart; retention; a damaged
//! archive; malformed names.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use leverage_plugin_host::{
    CallOptions, HostError, HostOptions, PluginHost, PluginState, RefuseReason, Scored,
};

use crate::support::{
    CATALOG, empty_dir, fixture, fixture_v2, library_name, options, plugin_dir, scenario,
};

const ID: &str = "fixture-escrow";

fn escrow_v2() -> PathBuf {
    fixture_v2("escrow")
}

fn archived(archive: &Path, dir: &Path, kept: usize) -> PluginHost {
    let options = HostOptions {
        archive_dir: Some(archive.to_path_buf()),
        builds_kept: kept,
        ..options(&[])
    };
    PluginHost::load_dir_with(dir, CATALOG, options).expect("loads")
}

/// Installs `file` as the plugin's file in `dir` and reloads.
fn install(host: &PluginHost, dir: &Path, file: &Path) {
    std::fs::copy(file, dir.join(library_name("fixture_escrow"))).expect("install");
    let report = host.reload_dir().expect("reloads");
    assert!(report.refused.is_empty(), "{report:?}");
}

/// Scores one scenario (with the escrow's own inputs) with plugin `id`: the build serving, or
/// `build`.
async fn call(host: &PluginHost, id: &str, build: Option<&str>) -> Result<Scored, HostError> {
    let mut row = scenario(&[]);
    row.extend([0.4, 0.7]);
    let options = CallOptions {
        build: build.map(str::to_owned),
        ..CallOptions::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    host.score_with(id, &options, row, 1, Duration::from_secs(30), cancel)
        .await
}

/// The bits of the score and components of [`call`].
async fn bits(host: &PluginHost, build: Option<&str>) -> Result<Vec<u64>, HostError> {
    let scored = call(host, ID, build).await?;
    let row = scored.get(0).expect("a row").expect("scored");
    Ok(std::iter::once(row.score)
        .chain(row.components().iter().copied())
        .map(f64::to_bits)
        .collect())
}

fn current_build(host: &PluginHost) -> String {
    host.plugins()
        .into_iter()
        .find(|s| s.id.as_deref() == Some(ID))
        .and_then(|s| s.build_hash)
        .expect("loaded")
}

/// (build, version, current) of every build the host lists for the plugin.
fn listed(host: &PluginHost) -> Vec<(String, String, bool)> {
    let status = host
        .plugins()
        .into_iter()
        .find(|s| s.id.as_deref() == Some(ID))
        .expect("loaded");
    status
        .builds
        .into_iter()
        .map(|b| (b.build, b.version, b.current))
        .collect()
}

/// A host over an archive where v1 served, then v2 replaced it and served.
struct Replaced {
    archive: PathBuf,
    dir: PathBuf,
    host: PluginHost,
    b1: String,
    b2: String,
    v2_bits: Vec<u64>,
}

async fn replaced(label: &str, kept: usize) -> Replaced {
    let v2 = escrow_v2();
    let archive = empty_dir(&format!("archive-{label}"));
    let dir = plugin_dir(label, &[fixture("escrow")]);
    let host = archived(&archive, &dir, kept);
    let b1 = current_build(&host);
    bits(&host, None).await.expect("v1 scores");
    install(&host, &dir, &v2);
    let b2 = current_build(&host);
    let v2_bits = bits(&host, None).await.expect("v2 scores");
    Replaced {
        archive,
        dir,
        host,
        b1,
        b2,
        v2_bits,
    }
}

fn build_files(archive: &Path, build: &str) -> (PathBuf, PathBuf) {
    let dir = archive.join(ID);
    (
        dir.join(format!("{build}.so")),
        dir.join(format!("{build}.meta")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_build_gives_its_own_bits_after_a_reload_and_after_a_restart() {
    let v2 = escrow_v2();
    let archive = empty_dir("archive");
    let dir = plugin_dir("builds", &[fixture("escrow")]);
    let host = archived(&archive, &dir, 10);
    let b1 = current_build(&host);
    assert_eq!(b1.len(), 16);
    let (file, meta) = build_files(&archive, &b1);
    assert!(!file.exists(), "a build is archived once it has served");

    let v1_bits = bits(&host, None).await.expect("v1 scores");
    assert_eq!(
        std::fs::read(&file).expect("archived"),
        std::fs::read(fixture("escrow")).expect("v1"),
        "the archived file is the plugin file, byte for byte"
    );
    assert!(meta.exists());

    install(&host, &dir, &v2);
    let b2 = current_build(&host);
    assert_ne!(b1, b2);
    let v2_bits = bits(&host, None).await.expect("v2 scores");
    assert_ne!(v1_bits, v2_bits, "v2 scores differently");
    assert_eq!(bits(&host, Some(&b1)).await.expect("v1 by name"), v1_bits);
    assert_eq!(bits(&host, Some(&b2)).await.expect("v2 by name"), v2_bits);
    assert_eq!(
        listed(&host),
        vec![
            (b2.clone(), "2.0.0".to_owned(), true),
            (b1.clone(), "1.0.0".to_owned(), false)
        ]
    );
    let retained = host.build_status(ID, &b1).await.expect("retained");
    assert!(retained.retained && retained.builds.is_empty());
    assert_eq!(retained.state, PluginState::Ready);
    assert_eq!(retained.metadata.expect("metadata").version, "1.0.0");
    assert_eq!(retained.path, file);
    let serving = host.build_status(ID, &b2).await.expect("serving");
    assert!(!serving.retained && serving.builds.len() == 2);
    let first_loaded: Vec<_> = host.plugins()[0]
        .builds
        .iter()
        .map(|b| b.first_loaded)
        .collect();
    drop(host);

    // A new host over the same directory and archive: v1 is still there, bit for bit.
    let host = archived(&archive, &dir, 10);
    assert_eq!(bits(&host, Some(&b1)).await.expect("v1 by name"), v1_bits);
    assert_eq!(bits(&host, None).await.expect("v2"), v2_bits);
    assert_eq!(listed(&host).len(), 2);
    let again: Vec<_> = host.plugins()[0]
        .builds
        .iter()
        .map(|b| b.first_loaded)
        .collect();
    assert_eq!(
        again, first_loaded,
        "first-loaded times are remembered to the millisecond"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_beyond_the_bound_go_oldest_first() {
    let Replaced {
        archive,
        dir,
        host,
        b1,
        b2,
        v2_bits,
    } = replaced("builds-kept", 2).await;

    // A third build: v1 with a byte appended, which the loader ignores.
    let mut v3 = std::fs::read(fixture("escrow")).expect("v1");
    v3.push(0);
    let v3_file = empty_dir("v3").join(library_name("fixture_escrow"));
    std::fs::write(&v3_file, v3).expect("v3");
    install(&host, &dir, &v3_file);
    let b3 = current_build(&host);
    assert!(
        build_files(&archive, &b1).0.exists(),
        "nothing goes before the new build has served"
    );
    bits(&host, None).await.expect("v3 scores");

    let (file, meta) = build_files(&archive, &b1);
    assert!(!file.exists() && !meta.exists(), "the oldest build went");
    assert!(matches!(
        bits(&host, Some(&b1)).await,
        Err(HostError::UnknownBuild { build, .. }) if build == b1
    ));
    assert_eq!(bits(&host, Some(&b2)).await.expect("v2 kept"), v2_bits);
    let builds: Vec<String> = listed(&host).into_iter().map(|b| b.0).collect();
    assert_eq!(builds, vec![b3, b2]);

    // A bound lowered to 1: at the next start only the build serving stays.
    drop(host);
    let host = archived(&archive, &dir, 1);
    assert_eq!(listed(&host).len(), 1);
    assert!(!build_files(&archive, &builds[1]).0.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_archived_build_is_refused_and_nothing_else_is_affected() {
    let Replaced {
        archive,
        dir,
        host,
        b1,
        v2_bits,
        ..
    } = replaced("builds-damaged", 10).await;

    let (file, _) = build_files(&archive, &b1);
    let mut bytes = std::fs::read(&file).expect("archived");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, bytes).expect("damage it");

    for _ in 0..2 {
        match bits(&host, Some(&b1)).await {
            Err(HostError::BuildRefused { reason, .. }) => match *reason {
                RefuseReason::ArchiveDamaged { problem } => {
                    assert!(problem.contains("SHA-256"), "{problem}")
                }
                other => panic!("{other:?}"),
            },
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert!(matches!(
        host.build_status(ID, &b1).await,
        Err(HostError::BuildRefused { .. })
    ));
    assert_eq!(bits(&host, None).await.expect("v2 serves"), v2_bits);
    assert_eq!(host.plugins().len(), 1);

    // A damaged record too, and a restart over it.
    drop(host);
    std::fs::write(build_files(&archive, &b1).1, "build = nonsense\n").expect("damage");
    let host = archived(&archive, &dir, 10);
    let error = bits(&host, Some(&b1)).await.expect_err("refused");
    assert!(
        error.to_string().contains("damaged or was altered"),
        "{error}"
    );
    assert_eq!(bits(&host, None).await.expect("v2 serves"), v2_bits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_build_names_are_refused() {
    let archive = empty_dir("archive-names");
    let dir = plugin_dir("builds-names", &[fixture("escrow")]);
    for host in [
        archived(&archive, &dir, 10),
        PluginHost::load_dir_with(&dir, CATALOG, options(&[])).expect("loads"),
    ] {
        let current = current_build(&host);
        bits(&host, Some(&current))
            .await
            .expect("the build serving, by name");
        for bad in [
            "",
            "xyz",
            "0123456789ABCDEF",
            "0123456789abcde",
            "../../etc/passwd",
        ] {
            match bits(&host, Some(bad)).await {
                Err(HostError::InvalidRequest(message)) => {
                    assert!(message.contains("not a build name"), "{message}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(matches!(
            bits(&host, Some("0000000000000000")).await,
            Err(HostError::UnknownBuild { .. })
        ));
        for id in ["fixture-none", "..", "."] {
            let result = call(&host, id, Some(&current)).await;
            assert!(
                matches!(result, Err(HostError::UnknownBuild { .. })),
                "{id}: {result:?}"
            );
        }
    }
}
