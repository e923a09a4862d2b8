//! A real PostgreSQL server for tests, from the machine's Debian `postgresql` package: a
//! throwaway cluster (initdb into a temporary directory, a free port on 127.0.0.1, its socket
//! in the same directory), stopped when dropped and, should the test process die first, by a
//! watchdog that outlives it. `initdb` and `postgres` refuse to run as root, so as root they
//! run as the package's `postgres` user.
//!
//! When the package is missing the cluster cannot start: [`Cluster::start`] then panics under
//! CI (`.ci/run` installs it) and elsewhere returns `None`, so that a developer's machine
//! without PostgreSQL says so and skips rather than fails.

use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running cluster; stopped (and its files removed) on drop.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the server's programs through `runuser -u postgres` (we are root).
    as_postgres: bool,
    /// TLS: the server's certificate and key files, when it serves TLS only.
    tls: Option<(PathBuf, PathBuf)>,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    /// Starts a cluster of its own (for tests that stop and restart it). `None` when the
    /// PostgreSQL package is not installed and this is not CI.
    pub fn start() -> Option<Cluster> {
        let bin = installed()?;
        match Self::start_with(bin, None) {
            Ok(c) => Some(c),
            Err(e) => panic!("cannot start a throwaway PostgreSQL cluster: {e}"),
        }
    }

    /// A cluster that accepts TLS connections only (on 127.0.0.1; plain text is refused), with
    /// this PEM certificate chain and key. `None` as for [`Cluster::start`].
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Option<Cluster> {
        let bin = installed()?;
        match Self::start_with(bin, Some((cert_pem, key_pem))) {
            Ok(c) => Some(c),
            Err(e) => panic!("cannot start a throwaway PostgreSQL cluster with TLS: {e}"),
        }
    }

    /// One cluster shared by every test of this test binary (each test makes databases of
    /// its own in it): started at first use, stopped by its watchdog when the process ends.
    pub fn shared() -> Option<&'static Cluster> {
        static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
        SHARED.get_or_init(Cluster::start).as_ref()
    }

    fn start_with(bin: PathBuf, tls: Option<(&str, &str)>) -> io::Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("leverage-pg-").tempdir()?;
        let tls = match tls {
            None => None,
            Some((cert, key)) => {
                let (cert_file, key_file) =
                    (dir.path().join("server.crt"), dir.path().join("server.key"));
                std::fs::write(&cert_file, cert)?;
                std::fs::write(&key_file, key)?;
                // PostgreSQL refuses a key that others may read.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))?;
                Some((cert_file, key_file))
            }
        };
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()?;
            if !status.success() {
                return Err(io::Error::other("chown postgres failed"));
            }
        }
        let port = free_port()?;
        let cluster = Cluster {
            dir,
            bin,
            port,
            as_postgres,
            tls,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().to_string_lossy(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        )?;
        if cluster.tls.is_some() {
            // TLS or nothing over TCP; the unix socket (for createdb) stays plain.
            let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n";
            let path = cluster.data().join("pg_hba.conf");
            std::fs::write(&path, hba)?;
        }
        cluster.start_server()?;
        cluster.watch_parent()?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` in this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new empty database, named uniquely within this process; returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let (port, socket_dir) = (self.port.to_string(), self.dir.path().to_string_lossy());
        self.run(
            "createdb",
            &["-h", &socket_dir, "-p", &port, "-U", "postgres", &name],
        )
        .unwrap_or_else(|e| panic!("createdb {name}: {e}"));
        self.url(&name)
    }

    /// Stops the server at once, as a crash or an operator would (`-m immediate`).
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "immediate"])
            .unwrap_or_else(|e| panic!("pg_ctl stop: {e}"));
    }

    /// Starts the server again on the same data and port.
    pub fn restart(&self) {
        self.start_server()
            .unwrap_or_else(|e| panic!("pg_ctl start: {e}"));
    }

    fn start_server(&self) -> io::Result<()> {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        if let Some((cert, key)) = &self.tls {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            ));
        }
        let log = self.dir.path().join("server.log");
        self.pg_ctl(&["start", "-w", "-l", &log.to_string_lossy(), "-o", &options])
    }

    fn pg_ctl(&self, args: &[&str]) -> io::Result<()> {
        let data = self.data().to_string_lossy().into_owned();
        let mut all = vec!["-D", data.as_str()];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all).map(|_| ())
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        let out = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(io::Error::other(format!(
                "{program} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// A shell that waits for this process to end, then stops the server and removes its
    /// files: a shared cluster lives in a static, which is never dropped, and a test that
    /// panics or is killed must not leave a server running.
    fn watch_parent(&self) -> io::Result<()> {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = if self.as_postgres {
            format!("runuser -u postgres -- '{}'", pg_ctl.display())
        } else {
            format!("'{}'", pg_ctl.display())
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {stop} -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data().display(),
            dir = self.dir.path().display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Immediate: nothing of a throwaway cluster needs to reach its disk.
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
    }
}

/// The server's programs; `None` outside CI when they are missing (saying so), a panic under CI.
fn installed() -> Option<PathBuf> {
    let bin = server_bin();
    if bin.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL's server programs are missing (/usr/lib/postgresql/*/bin/initdb); \
             .ci/run installs Debian's postgresql package"
        );
        eprintln!("skipped: PostgreSQL is not installed (apt-get install postgresql)");
    }
    bin
}

/// The newest installed server's programs (`LEVERAGE_PG_BIN` overrides).
fn server_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LEVERAGE_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
