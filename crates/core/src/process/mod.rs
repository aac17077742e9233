//! The container's processes: creating the init, starting it, waiting, signalling.
//!
//! Process model (the parent is a multi-threaded JS runtime; the forked child never returns to
//! JavaScript):
//!
//! - the **parent** ([`create`], in the caller's thread) prepares everything it can (`plan.rs`:
//!   parsed capabilities and rlimits, C strings, namespace descriptors), makes the sync
//!   socketpair and calls glibc `fork()` (its atfork handlers keep malloc usable in the child);
//! - **stage 1** `runts:[1:CHILD]` (`stage1.rs`) joins and creates the namespaces (with the
//!   parent writing the user namespace maps) and creates the init with
//!   `clone(CLONE_PARENT)`, then exits;
//! - **stage 2** `runts:[2:INIT]` (`init.rs`) is pid 1 of the new pid namespace and a child of
//!   the runtime; it builds the container, reports Ready, and execs on Start.
//!
//! The messages between them are drawn in [`crate::sync`].

mod exec;
mod init;
mod parent;
mod plan;
mod stage1;
mod util;

use crate::config::{Config, InitOptions};
use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::os::fd::RawFd;

/// A created container init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spawned {
    /// The init's pid in the runtime's pid namespace.
    pub pid: i32,
    /// The runtime's end of the sync socket (CLOEXEC), for [`start`]; -1 when the init was
    /// created with an exec fifo (it waits on the fifo, and the socket is closed).
    pub sync_fd: RawFd,
}

/// Forks the init and drives it until it has built the whole container and waits to exec the
/// process. On failure the children are killed and reaped and the step that failed is
/// returned (an [`InitError`] from the child, sent over the socket, or from the parent).
pub fn create(cfg: &Config, opts: &InitOptions) -> Result<Spawned> {
    let plan = plan::Plan::new(cfg, opts)?;
    parent::create(plan)
}

/// Tells a waiting init (created without an exec fifo) to exec; returns once execve succeeded
/// or with the error the init reported (step "exec"). Closes `sync_fd`. On error the init has
/// exited; the caller reaps it (e.g. with [`wait_reaping`]).
pub fn start(sync_fd: RawFd) -> Result<()> {
    parent::start(sync_fd)
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

/// Reaps every child with waitpid(-1) until `pid` exits, then what is left without blocking.
/// Blocks: call it from a worker thread. Meant for a child subreaper, which inherits the
/// container's orphans; their statuses are discarded.
pub fn wait_reaping(pid: i32) -> Result<ExitStatus> {
    let status = loop {
        let mut st = 0;
        // SAFETY: waitpid with a valid out pointer.
        let r = unsafe { libc::waitpid(-1, &mut st, 0) };
        if r < 0 {
            match Errno::last() {
                Errno::EINTR => continue,
                e => return Err(InitError::sys("waitpid", pid.to_string(), e)),
            }
        }
        if r == pid {
            break st;
        }
    };
    loop {
        let mut st = 0;
        // SAFETY: as above.
        let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        if r > 0 || (r < 0 && Errno::last() == Errno::EINTR) {
            continue;
        }
        break; // 0: children left but none exited; -1 ECHILD: none left
    }
    Ok(if libc::WIFSIGNALED(status) {
        ExitStatus::Signaled(libc::WTERMSIG(status))
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(status))
    })
}

/// Makes the calling process a child subreaper (prctl PR_SET_CHILD_SUBREAPER): orphans of the
/// container (and the init, should stage 1's parent be gone) are reparented to it.
pub fn set_child_subreaper() -> Result<()> {
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| InitError::sys("prctl", "PR_SET_CHILD_SUBREAPER", e))
}

/// kill(2) with a raw signal number (real-time signals included).
pub fn signal(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill has no memory arguments.
    if unsafe { libc::kill(pid, sig) } < 0 {
        return Err(InitError::sys("kill", pid.to_string(), Errno::last())
            .with_detail(format!("signal {sig}")));
    }
    Ok(())
}

/// Real containers: these need root and the static /bin/busybox; they skip otherwise. They
/// reap with waitpid(pid), never wait_reaping, which would steal other tests' children.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Capabilities, Namespace, Process};

    fn rootfs() -> Option<tempfile::TempDir> {
        if !nix::unistd::geteuid().is_root() || !std::path::Path::new("/bin/busybox").exists() {
            eprintln!("skipped: needs root and /bin/busybox");
            return None;
        }
        let d = tempfile::tempdir().unwrap();
        for sub in ["bin", "proc", "dev", "tmp"] {
            std::fs::create_dir(d.path().join(sub)).unwrap();
        }
        std::fs::copy("/bin/busybox", d.path().join("bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", d.path().join("bin/sh")).unwrap();
        Some(d)
    }

    fn config(root: &std::path::Path, args: &[&str]) -> Config {
        Config {
            id: format!("t{}", std::process::id()),
            rootfs: root.to_str().unwrap().into(),
            hostname: Some("t".into()),
            process: Process {
                args: args.iter().map(|s| s.to_string()).collect(),
                env: vec!["PATH=/bin".into()],
                cwd: "/".into(),
                capabilities: Some(Capabilities {
                    bounding: vec!["CAP_KILL".into()],
                    ..Default::default()
                }),
                ..Default::default()
            },
            namespaces: ["pid", "mount", "uts", "ipc", "network"]
                .iter()
                .map(|t| Namespace {
                    ns_type: t.to_string(),
                    path: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn run(cfg: &Config) -> Result<libc::c_int> {
        let s = create(cfg, &InitOptions::default())?;
        let started = start(s.sync_fd);
        let st = util::wait_for(s.pid).unwrap();
        started.map(|()| st)
    }

    #[test]
    fn exit_status_of_the_container_process() {
        let Some(d) = rootfs() else { return };
        let st = run(&config(
            d.path(),
            &[
                "sh",
                "-c",
                "test $$ = 1 && test \"$(busybox hostname)\" = t && exit 3",
            ],
        ))
        .unwrap();
        assert_eq!(util::describe_status(st), "exit status 3");
    }

    #[test]
    fn missing_binary_fails_create_with_exec_step() {
        let Some(d) = rootfs() else { return };
        let e = create(&config(d.path(), &["nosuch"]), &InitOptions::default()).unwrap_err();
        assert_eq!(
            (e.step.as_str(), e.path.as_str(), e.errno),
            ("exec", "nosuch", libc::ENOENT)
        );
    }

    #[test]
    fn unknown_capability_fails_before_fork() {
        let Some(d) = rootfs() else { return };
        let mut cfg = config(d.path(), &["sh"]);
        cfg.process.capabilities.as_mut().unwrap().effective = vec!["CAP_NOPE".into()];
        let e = create(&cfg, &InitOptions::default()).unwrap_err();
        assert_eq!(
            (e.step.as_str(), e.path.as_str()),
            ("parse capability", "CAP_NOPE")
        );
    }
}
