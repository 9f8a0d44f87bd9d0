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
