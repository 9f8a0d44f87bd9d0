//! Who holds a lock or a claim: `pid@host/nonce`, and whether that process has
//! exited. Both backends name holders so; a holder on this host whose process is
//! gone need not be waited out.
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;

/// A sync lock stands this long after it is taken or renewed (renewed as pages commit).
pub const SYNC_LOCK_MINUTES: i64 = 10;

/// `pid@host/nonce`: the process to name in a conflict, and a nonce so each run's lock is its own.
pub(crate) fn new_holder() -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let nanos = Utc::now().timestamp_subsec_nanos();
    format!("{}@{}/{:x}{:x}", std::process::id(), crate::domain::text::host_name(), nanos, RUNS.fetch_add(1, Ordering::Relaxed))
}

/// A holder on this host whose process is gone (killed mid-sync) need not be waited out.
/// Only where /proc tells: elsewhere the lock's expiry decides.
pub(crate) fn holder_has_exited(owner: &str) -> bool {
    let Some((pid, rest)) = owner.split_once('@') else { return false };
    let host = rest.split('/').next().unwrap_or_default();
    let proc = std::path::Path::new("/proc");
    host == crate::domain::text::host_name() && pid.parse::<u32>().is_ok() && proc.join("self").exists() && !process_runs(&proc.join(pid))
}

/// A killed process its parent has not yet reaped (a zombie, state Z or X) still has
/// its /proc entry but will never renew or release a lock.
fn process_runs(proc_pid: &std::path::Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(proc_pid.join("stat")) else { return proc_pid.exists() };
    // `pid (comm) state ...`: comm may hold spaces and parentheses, the state follows the last ')'.
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(pid: u32) -> String {
        format!("{pid}@{}/test", crate::domain::text::host_name())
    }

    #[test]
    fn a_killed_holder_not_yet_reaped_has_exited() {
        let mut alive = std::process::Command::new("sleep").arg("30").spawn().expect("sleep starts");
        assert!(!holder_has_exited(&holder(alive.id())), "a running holder is waited for");
        alive.kill().expect("SIGKILL");
        // Killed but not reaped: a zombie, still listed in /proc.
        let stat = format!("/proc/{}/stat", alive.id());
        let zombie = (0..1000).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::fs::read_to_string(&stat).is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')))
        });
        assert!(zombie, "the killed child becomes a zombie until reaped");
        assert!(holder_has_exited(&holder(alive.id())), "a zombie holder never renews its lock");
        alive.wait().expect("reaped");
        assert!(holder_has_exited(&holder(alive.id())));
        assert!(!holder_has_exited(&holder(std::process::id())), "this process runs");
        assert!(!holder_has_exited("1@another-host/x"), "another host's holder is left to its lock's expiry");
    }
}
