//! The first write to any `cgroup.procs` after a quiet moment waits for an RCU grace period:
//! moving a task takes `cgroup_threadgroup_rwsem` for writing (kernel/cgroup/cgroup.c,
//! cgroup_procs_write_start), a per-CPU rwsem whose writer must first switch its readers to the
//! slow path (kernel/rcu/sync.c, rcu_sync_enter). Measured here (Linux 6.18, HZ 250, 2 CPUs):
//! 7.8 ms per isolated write, sometimes 15.7; 0.02 ms for the next one within about two grace
//! periods. Every runtime pays it once per container (crun's write takes 6-16 ms too), and it
//! is most of the time `create` takes.
//!
//! [`warm_attach`] starts that grace period early, off the caller's thread: a thread writes the
//! runtime's own pid into the cgroup.procs of the cgroup it is already in (a move to the same
//! cgroup changes nothing: cgroup_migrate_prepare_dst drops csets that stay), so that the
//! runtime's real write, a few milliseconds later, finds the semaphore's grace period passed or
//! under way (a second write within ~15 ms of the first one measured 0.2 ms). The rwsem is one
//! for all hierarchies, so one write is enough. Failures (not root, no such file) only mean no
//! head start. The waiting write holds cgroup_mutex (cgroup_kn_lock_live), so anything that
//! needs it, mkdir of a cgroup above all, waits too: `process::create` calls this once the
//! container's cgroups are made, and the grace period runs while the init builds the
//! container.

use super::paths::{parse_proc_cgroup, Layout, CGROUP_ROOT, HYBRID_MOUNTPOINT};
use std::io::Write;

/// Starts the grace period on a detached thread; returns at once.
pub fn warm_attach() {
    let _ = std::thread::Builder::new()
        .name("cgroup-warm".into())
        .spawn(|| {
            if let Some(path) = own_procs_file() {
                if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) {
                    let _ = f.write_all(std::process::id().to_string().as_bytes());
                }
            }
        });
}

/// The cgroup.procs file of the runtime's own cgroup in one hierarchy: the unified one where
/// there is one, else the first v1 controller listed in /proc/self/cgroup.
fn own_procs_file() -> Option<String> {
    let own = parse_proc_cgroup(&std::fs::read_to_string("/proc/self/cgroup").ok()?);
    let unified = match Layout::detect() {
        Layout::Unified => Some(CGROUP_ROOT),
        Layout::Legacy { hybrid: true } => Some(HYBRID_MOUNTPOINT),
        Layout::Legacy { hybrid: false } => None,
    };
    if let (Some(mount), Some((_, path))) = (unified, own.iter().find(|(s, _)| s.is_empty())) {
        return Some(procs_file(mount, path));
    }
    let (subsystem, path) = own.iter().find(|(s, _)| !s.is_empty() && !s.starts_with("name="))?;
    Some(procs_file(&format!("{CGROUP_ROOT}/{subsystem}"), path))
}

fn procs_file(mount: &str, path: &str) -> String {
    format!("{}/cgroup.procs", super::paths::join(mount, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file exists on this host, and writing our pid to it moves nothing.
    #[test]
    #[ignore = "needs root: writes the test process's own cgroup.procs"]
    fn the_write_names_our_own_cgroup_and_changes_nothing() {
        assert!(nix::unistd::geteuid().is_root(), "run as root (cargo test -- --include-ignored)");
        let path = own_procs_file().expect("a cgroup.procs of our own cgroup");
        let before = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        std::fs::write(&path, std::process::id().to_string()).unwrap();
        assert_eq!(std::fs::read_to_string("/proc/self/cgroup").unwrap(), before);
        let members = std::fs::read_to_string(&path).unwrap();
        assert!(members.lines().any(|l| l == std::process::id().to_string()), "{path}");
    }
}
