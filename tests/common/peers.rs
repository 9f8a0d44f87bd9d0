//! Real peer servers on loopback for the tests: scim2-server (PyPI) and
//! oidc-provider (npm), installed by scripts/test, and `tokenward issuer serve`.
//! A peer that cannot start fails the test with the reason; nothing is skipped.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Peer {
    child: Child,
    pub url: String,
    pub name: &'static str,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Polls until the port accepts connections; fails with the peer's own words otherwise.
fn wait_ready(name: &'static str, child: &mut Child, port: u16) {
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(e) = child.stderr.take() {
                for line in BufReader::new(e).lines().map_while(Result::ok).take(20) {
                    err.push_str(&line);
                    err.push('\n');
                }
            }
            panic!("{name} exited ({status}) before listening on {port}:\n{err}");
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{name} did not listen on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// scim2-server from PyPI (pinned by scripts/test into .peers/venv).
pub fn scim(token: &str) -> Peer {
    let bin = std::env::var_os("TOKENWARD_SCIM_SERVER").map(PathBuf::from).unwrap_or_else(|| manifest_dir().join(".peers/venv/bin/scim2-server"));
    assert!(bin.exists(), "scim2-server not found at {}: run scripts/test, which installs it", bin.display());
    let port = free_port();
    let mut child = Command::new(&bin)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", token])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    wait_ready("scim2-server", &mut child, port);
    Peer { child, url: format!("http://127.0.0.1:{port}/v2"), name: "scim2-server" }
}

/// moto's AWS IAM in server mode (PyPI, pinned by scripts/test into .peers/venv).
pub fn moto() -> Peer {
    let bin = manifest_dir().join(".peers/venv/bin/moto_server");
    assert!(bin.exists(), "moto_server not found at {}: run scripts/test, which installs it", bin.display());
    let port = free_port();
    let mut child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    wait_ready("moto", &mut child, port);
    Peer { child, url: format!("http://127.0.0.1:{port}"), name: "moto" }
}

/// Python with boto3 (moto's own dependency), to set up and check a moto server as AWS's SDK would.
pub fn peers_python() -> PathBuf {
    manifest_dir().join(".peers/venv/bin/python")
}

/// oidc-provider from npm (pinned in tests/peers/package-lock.json) via tests/peers/oidc.mjs.
pub fn oidc(security_secret: &str, agent_secret: &str) -> Peer {
    let dir = manifest_dir().join("tests/peers");
    assert!(dir.join("node_modules/oidc-provider").exists(), "oidc-provider not installed in {}: run scripts/test", dir.display());
    let port = free_port();
    let mut child = Command::new("node")
        .arg(dir.join("oidc.mjs"))
        .arg(port.to_string())
        .current_dir(&dir)
        .env("TW_SECURITY_SECRET", security_secret)
        .env("TW_AGENT_SECRET", agent_secret)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"));
    wait_ready("oidc-provider", &mut child, port);
    Peer { child, url: format!("http://127.0.0.1:{port}"), name: "oidc-provider" }
}

/// `tokenward issuer serve` on a free port; waits for its "listening on" line.
pub fn reference_issuer(credentials: u64, seed: u64) -> Peer {
    reference_issuer_with_token(credentials, seed, None)
}

/// As `reference_issuer`, requiring a bearer token when one is given.
pub fn reference_issuer_with_token(credentials: u64, seed: u64, token: Option<&str>) -> Peer {
    let mut cmd = Command::new(super::bin());
    cmd.args(["issuer", "serve", "--listen", "127.0.0.1:0", "--credentials", &credentials.to_string(), "--seed", &seed.to_string()]);
    if let Some(t) = token {
        cmd.env("ISSUER_TOKEN", t).args(["--token-env", "ISSUER_TOKEN"]);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("issuer starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("issuer printed a line before exiting").expect("utf8 line");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("url").to_string();
        }
    };
    Peer { child, url, name: "tokenward issuer" }
}

/// A throwaway PostgreSQL cluster (Debian's `postgresql`, installed by scripts/test):
/// `initdb` in a fresh directory, as the `postgres` system user when the tests run as
/// root (the server refuses root), on a free loopback port; stopped and removed on drop.
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
    /// The superuser's URL (password inline: a test cluster's throwaway secret).
    pub url: String,
}

pub const PG_SUPERUSER_PASSWORD: &str = "throwaway-test-cluster";

impl Postgres {
    fn tool(&self, name: &str) -> Command {
        tool(&self.bin, self.as_postgres, name)
    }

    /// A URL for `user` with `password` on database `db` of this cluster.
    pub fn url_for(&self, user: &str, password: &str, db: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }
}

fn tool(bin: &std::path::Path, as_postgres: bool, name: &str) -> Command {
    let exe = bin.join(name);
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.tool("pg_ctl").arg("-D").arg(self.dir.join("data")).args(["-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of PostgreSQL's server programs: `TOKENWARD_PG_BIN`, or Debian's newest.
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("TOKENWARD_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_else(|| panic!("PostgreSQL's initdb not found under /usr/lib/postgresql: run scripts/test, which installs Debian's postgresql"))
}

pub fn postgres() -> Postgres {
    use std::os::unix::fs::PermissionsExt;
    // What a console keeps per PostgreSQL database (its audit head witness) goes
    // under a temporary data home, never the real one.
    static DATA_HOME: std::sync::Once = std::sync::Once::new();
    // SAFETY of the test: set once, before any store opens, always to one value.
    DATA_HOME.call_once(|| {
        // Homes left by earlier test processes (no exit hook removes them) go now.
        for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(pid) = name.strip_prefix("tokenward-pg-home-")
                && !std::path::Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        unsafe { std::env::set_var("XDG_DATA_HOME", std::env::temp_dir().join(format!("tokenward-pg-home-{}", std::process::id()))) }
    });
    static CLUSTERS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let bin = pg_bin();
    let as_postgres = std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false);
    // Not inside a root-only temporary directory: the postgres user must reach it.
    let n = CLUSTERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("tokenward-pg-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cluster dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, PG_SUPERUSER_PASSWORD).expect("pwfile");
    if as_postgres {
        let ok = Command::new("chown").args(["-R", "postgres"]).arg(&dir).status().expect("chown runs").success();
        assert!(ok, "cannot hand {} to the postgres user", dir.display());
    }
    let out = tool(&bin, as_postgres, "initdb")
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-U", "postgres", "-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale", "C"])
        .arg(format!("--pwfile={}", pwfile.display()))
        .output()
        .expect("initdb runs");
    assert!(out.status.success(), "initdb failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let port = free_port();
    let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", dir.display());
    let out = tool(&bin, as_postgres, "pg_ctl")
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-w", "-t", "30", "-o", &opts, "-l"])
        .arg(dir.join("log"))
        .arg("start")
        .output()
        .expect("pg_ctl runs");
    let url = format!("postgres://postgres:{PG_SUPERUSER_PASSWORD}@127.0.0.1:{port}/postgres");
    let cluster = Postgres { dir: dir.clone(), bin, as_postgres, port, url };
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        panic!("PostgreSQL did not start: {}{}\n{log}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    cluster
}
