//! How a container's init gets into its cgroup v1 hierarchies without the RCU grace period
//! (warm.rs) that a move through `cgroup.procs` waits for: the init moves *itself* in, by
//! writing "0" to each hierarchy's `tasks` file. A thread moving itself takes no
//! `cgroup_threadgroup_rwsem` (kernel/cgroup/cgroup.c, cgroup_procs_write_start: "If we
//! migrate a single thread, we don't care about threadgroup stability ... we can skip the
//! global lock"), so nothing waits for readers to switch paths; the init is single-threaded,
//! so moving its one thread moves the process. Measured here (Linux 6.18, 2 CPUs): nine
//! `tasks` writes 0.4 ms in all, against 12.5 ms for the first `cgroup.procs` write.
//!
//! The runtime opens the files (as root of the initial namespaces: the kernel checks the
//! credentials the file was opened with, `of->file->f_cred`, so the init may have switched
//! user or be in a user namespace by then) and hands them to the init over the sync socket
//! (Message::CgroupTasks); the init writes and closes them. A hybrid host's cgroup v2
//! hierarchy has no such file for a process (its `cgroup.threads` needs a threaded subtree):
//! stage 1 is spawned into it (CLONE_INTO_CGROUP), which takes the rwsem only for reading.

use super::{CgroupManager, Manager};
use crate::error::{InitError, Result};
use std::os::fd::OwnedFd;

/// What the init needs to join the container's cgroup by itself.
pub struct SelfJoin {
    /// `<dir>/tasks` of each cgroup v1 hierarchy, opened for writing, with its path.
    pub tasks: Vec<(String, OwnedFd)>,
    /// The cgroup v2 directory of a hybrid host, opened for CLONE_INTO_CGROUP, with its path.
    pub spawn_into: Option<(OwnedFd, String)>,
}

impl Manager {
    /// The files for [`join_self`] where the container's cgroups are v1 hierarchies made by
    /// the runtime (the cgroupfs driver); None elsewhere (cgroup v2, systemd) or when a file
    /// cannot be opened (the runtime then moves the init through cgroup.procs, as before).
    pub fn self_join(&self) -> Option<SelfJoin> {
        let Manager::V1(m) = self else { return None };
        let paths = m.paths();
        let v1: Vec<&String> = paths.iter().filter(|(s, _)| !s.is_empty()).map(|(_, d)| d).collect();
        let spawn_into = match paths.iter().find(|(s, _)| s.is_empty()) {
            Some((_, dir)) => Some((super::open_dir(dir).ok()?, dir.clone())),
            None => None,
        };
        Some(SelfJoin { tasks: open_tasks(&v1)?, spawn_into })
    }
}

/// `<dir>/tasks` of each of `dirs` (cgroup v1 directories) opened for writing, once each;
/// None if there are none or one cannot be opened.
pub fn open_tasks(dirs: &[&String]) -> Option<Vec<(String, OwnedFd)>> {
    use nix::fcntl::OFlag;
    let mut tasks: Vec<(String, OwnedFd)> = Vec::new();
    for dir in dirs {
        let path = super::fs::join(dir, "tasks");
        if tasks.iter().any(|(p, _)| *p == path) {
            continue;
        }
        let fd = nix::fcntl::open(path.as_str(), OFlag::O_WRONLY | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()).ok()?;
        tasks.push((path, fd));
    }
    (!tasks.is_empty()).then_some(tasks)
}

/// The init's half: moves the calling thread (the init's only one) into each hierarchy, then
/// closes the files.
pub fn join_self(tasks: Vec<(String, OwnedFd)>) -> Result<()> {
    for (path, fd) in tasks {
        nix::unistd::write(&fd, b"0").map_err(|e| InitError::sys("join cgroup", &path, e))?;
    }
    Ok(())
}
