//! Figures measured on the real binary, never estimated: a first sync and a
//! re-sync as `tokenward sync` processes against the reference issuer over
//! loopback (wall time and peak resident memory, as the kernel counts it), and
//! the TUI started in a pseudo-terminal (tmux) on the synced database: start to
//! first frame, and resident memory while browsing.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use color_eyre::eyre::{eyre, Result, WrapErr};

use crate::reference::org::Org;

/// The issuer's name in the synced database.
const ISSUER: &str = "acme-broker";
/// Of the credentials, per mille changed for the re-sync (10%).
const CHURN: u64 = 100;

#[derive(Debug)]
pub struct SyncFigures {
    pub first_sync_s: f64,
    pub first_sync_peak_rss_mib: f64,
    pub resync_s: f64,
    pub resync_peak_rss_mib: f64,
    /// The database file and its WAL after both syncs.
    pub db_bytes: u64,
    pub db: PathBuf,
}

#[derive(Debug)]
pub struct TuiFigures {
    pub first_frame_ms: f64,
    pub browse_rss_mib: f64,
    /// Opened on home: its first frame, and the first with its figures.
    pub home_first_frame_ms: f64,
    pub home_figures_ms: f64,
}

/// `tokenward sync` twice into a new file: the whole organisation, then the same
/// organisation with 10% of its credentials used again.
pub async fn syncs(n: u64, dir: &Path, say: &dyn Fn(String)) -> Result<SyncFigures> {
    let now = chrono::Utc::now();
    let db = dir.join("synced.db");
    let mut figures = Vec::new();
    for (label, org) in [("first sync", Org::new(n, 42, now)), ("re-sync, 10% changed", Org::new(n, 42, now).churned(CHURN))] {
        let issuer = crate::reference::server::spawn("127.0.0.1:0", org, None).await?;
        let config = dir.join("bench-sync.toml");
        // Pages of 1,000, as the demo asks.
        std::fs::write(&config, format!("[[issuer]]\nname = \"{ISSUER}\"\nkind = \"tokenward\"\nurl = \"{}\"\npage_size = 1000\n", issuer.url()))?;
        say(format!("bench: {label} of {n} credentials by a `tokenward sync` process, from the reference issuer at {}", issuer.url()));
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("--config").arg(&config).arg("--db").arg(&db).arg("sync").env("XDG_DATA_HOME", dir).env("XDG_CONFIG_HOME", dir);
        let (seconds, peak) = measured(cmd, &dir.join(format!("sync-{}.log", figures.len()))).await?;
        say(format!("  {seconds:.1}s, peak resident {peak:.0} MiB"));
        figures.push((seconds, peak));
    }
    let db_bytes = [db.clone(), db.with_extension("db-wal")].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    Ok(SyncFigures { first_sync_s: figures[0].0, first_sync_peak_rss_mib: figures[0].1, resync_s: figures[1].0, resync_peak_rss_mib: figures[1].1, db_bytes, db })
}

/// Runs `cmd` to its end, polling its peak resident set (VmHWM) meanwhile:
/// (wall seconds, peak MiB). Polled without blocking, so this process's issuer keeps serving.
async fn measured(mut cmd: Command, log: &Path) -> Result<(f64, f64)> {
    let out = std::fs::File::create(log)?;
    let started = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).spawn().wrap_err("starting tokenward")?;
    let mut peak_kib = 0u64;
    let status = loop {
        if let Some(kib) = status_kib(child.id(), "VmHWM:") {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        let tail: String = std::fs::read_to_string(log).unwrap_or_default().lines().rev().take(5).collect::<Vec<_>>().join(" / ");
        return Err(eyre!("the measured process failed ({status}): {tail}"));
    }
    Ok((seconds, peak_kib as f64 / 1024.0))
}

/// A `/proc/PID/status` field in KiB (VmRSS: resident now, anonymous and file
/// pages together as `top` shows; VmHWM: its peak).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok())
}

/// The TUI on `db` in a tmux pseudo-terminal of 160x48, twice. Opened on the
/// credentials (`--view credentials`): from the spawn to the first frame that shows
/// credentials (the binary writes the moment it draws it, and its pid, to
/// TOKENWARD_FIRST_FRAME_FILE), then the largest resident set while paging down, to
/// the end, back, and through a filter. Opened as a user finds it, on home: the
/// first frame, and the first with its figures (which load in the background).
pub fn tui(db: &Path, dir: &Path) -> Result<TuiFigures> {
    let table = Console::start(db, dir, "table", Some("credentials"))?;
    let browsed = table.wait("credentials").map(|(pid, first_frame_ms)| (first_frame_ms, browse(pid, &|keys| table.keys(keys))));
    drop(table);
    let (first_frame_ms, browse_rss_mib) = browsed?;
    let home = Console::start(db, dir, "home", None)?;
    let home_first_frame_ms = home.wait("home")?.1;
    let home_figures_ms = home.wait("home-figures")?.1;
    home.keys(&["q"]);
    Ok(TuiFigures { first_frame_ms, browse_rss_mib, home_first_frame_ms, home_figures_ms })
}

/// The binary in a tmux session of its own (a private server), with its frame marks.
struct Console {
    socket: String,
    marks: PathBuf,
    spawned: SystemTime,
}

impl Console {
    fn start(db: &Path, dir: &Path, name: &str, view: Option<&str>) -> Result<Console> {
        let socket = format!("tokenward-bench-{}-{name}", std::process::id());
        let marks = dir.join(format!("frames-{name}"));
        let _ = std::fs::remove_file(&marks);
        let exe = std::env::current_exe()?;
        let command = format!(
            "env TOKENWARD_FIRST_FRAME_FILE={} XDG_CONFIG_HOME={} XDG_DATA_HOME={} TOKENWARD_NO_BELL=1 {} --db {}{}",
            marks.display(),
            dir.display(),
            dir.display(),
            exe.display(),
            db.display(),
            view.map(|v| format!(" --view {v}")).unwrap_or_default()
        );
        let console = Console { socket, marks, spawned: SystemTime::now() };
        let out = console.tmux(&["new-session", "-d", "-s", "bench", "-x", "160", "-y", "48", &command]).wrap_err("tmux is needed to start the TUI in a pseudo-terminal")?;
        if !out.status.success() {
            return Err(eyre!("tmux: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(console)
    }

    fn tmux(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).output()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "bench"];
        args.extend_from_slice(keys);
        let _ = self.tmux(&args);
    }

    /// The pid that drew `what` first, and how long after the spawn (ms).
    fn wait(&self, what: &str) -> Result<(u32, f64)> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let marks = std::fs::read_to_string(&self.marks).unwrap_or_default();
            let mark = marks.lines().find_map(|l| {
                let mut w = l.split_whitespace();
                let (pid, us) = (w.next()?.parse::<u32>().ok()?, w.next()?.parse::<u128>().ok()?);
                (w.next()? == what).then_some((pid, us))
            });
            if let Some((pid, drawn_us)) = mark {
                let spawned_us = self.spawned.duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
                return Ok((pid, drawn_us.saturating_sub(spawned_us) as f64 / 1000.0));
            }
            if Instant::now() > deadline {
                return Err(eyre!("the TUI drew no {what} within 120 s"));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The largest resident set (MiB) of `pid` while paging the table down, to the end, back, and through a filter.
fn browse(pid: u32, keys: &dyn Fn(&[&str])) -> f64 {
    let mut peak = 0u64;
    let mut sample = |pause: u64| {
        for _ in 0..(pause / 50).max(1) {
            peak = peak.max(status_kib(pid, "VmRSS:").unwrap_or(0));
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    sample(500);
    for _ in 0..20 {
        keys(&["NPage"]);
        sample(50);
    }
    for step in [&["G"][..], &["g"], &["s"], &["G"], &["/"], &["-l", "scope:payments:write binding:bearer"], &["Enter"], &["NPage"], &["Escape"], &["Escape"]] {
        keys(step);
        sample(700);
    }
    keys(&["q"]);
    peak as f64 / 1024.0
}
