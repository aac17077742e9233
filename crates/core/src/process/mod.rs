//! The container's processes: creating the init, starting it, waiting, signalling.
//!
//! Process model (the parent is a multi-threaded JS runtime; no child ever runs its code):
//!
//! - the **parent** ([`create`], in the caller's thread) prepares everything it can (`plan.rs`:
//!   parsed capabilities and rlimits, C strings, namespace descriptors), makes the sync
//!   socketpair and starts the **init program** (`program.rs`: a small static executable built
//!   from this crate, run from a sealed memfd) with posix_spawn, handing it the config through
//!   a bootstrap memfd (`bootstrap.rs`);
//! - **stage 1** `runts:[1:CHILD]` (`stage1.rs`, the init program's `main`) joins and creates
//!   the namespaces (with the parent writing the user namespace maps) and creates the init with
//!   `clone(CLONE_PARENT)`, then exits;
//! - **stage 2** `runts:[2:INIT]` (`init.rs`) is pid 1 of the new pid namespace and a child of
//!   the runtime; it builds the container, reports Ready, and execs on Start.
//!
//! The messages between them are drawn in [`crate::process::sync`].

mod bootstrap;
mod env;
mod exec;
mod init;
mod parent;
mod plan;
pub(crate) mod program;
mod stage1;
pub mod sync;
mod fds;
pub mod signals;
mod status;
mod util;

pub use bootstrap::main as init_main;
pub use program::InitProgram;

use crate::cgroups::{CgroupManager, Manager};
use crate::config::{Config, InitOptions};
use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::os::fd::RawFd;

/// A created container init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawned {
    /// The init's pid in the runtime's pid namespace.
    pub pid: i32,
    /// Its start time (field 22 of /proc/<pid>/stat): with the pid, what names this init.
    pub start_time: u64,
    /// The runtime's end of the sync socket (CLOEXEC): the init waits for [`start`], or with
    /// an exec fifo for [`release`] (then for the fifo).
    pub sync_fd: RawFd,
    /// With `process.terminal` and no console socket: the pty master (CLOEXEC), which the
    /// caller owns (e.g. for [`crate::console::Proxy`]); -1 otherwise.
    pub console_fd: RawFd,
    /// The container's cgroup as (subsystem, directory) pairs ("" is the v2 or hybrid unified
    /// hierarchy), for the state; empty without `cfg.cgroup`.
    pub cgroup_paths: Vec<(String, String)>,
    /// What the init logged while it built the container (sync Message::Log), for the
    /// caller's log.
    pub logs: Vec<(crate::process::sync::LogLevel, String)>,
}

/// Spawns the init and drives it until it has built the whole container and waits to exec the
/// process. On failure the children are killed and reaped and the step that failed is
/// returned (an [`InitError`] from the child, sent over the socket, or from the parent).
///
/// With `cfg.cgroup`, the container's cgroup is made and its limits written before the spawn
/// (empty, so nothing has to fit in them yet), and the init gets in only once it has built
/// the container: the memory it touched until then stays charged to the runtime's cgroup
/// (charges do not move with a task), and stage 1 is gone, so a container with
/// `memory.limit` 512 KiB and `pids.limit` 1 runs. It joins before it can run any user code.
/// On cgroup v1 (cgroupfs driver) the init moves itself in just before Ready (before a seccomp
/// filter it loads itself; cgroups/join.rs: no RCU grace period; a hybrid host's v2 hierarchy
/// by spawning stage 1 into it); elsewhere the runtime moves it in after Ready. With a new cgroup namespace the
/// init is moved (or moves itself) in as soon as its pid is known, and unshares the namespace
/// afterwards, so that it is rooted at the container's cgroup (runc's order). The cgroup is
/// removed again when anything fails.
pub fn create(cfg: &Config, opts: &InitOptions, program: &InitProgram) -> Result<Spawned> {
    if opts.subreaper {
        set_child_subreaper()?;
    }
    let Some(spec) = &cfg.cgroup else {
        let mut cfg = cfg.clone();
        cfg.cgroup_paths.clear();
        return parent::create(&plan::Plan::new(&cfg, opts)?, program);
    };
    let mut mgr = Manager::new(spec)?;
    let created = if spec.systemd {
        // A scope unit cannot be empty: systemd makes it when the init's pid is known.
        Ok(())
    } else {
        mgr.create(None).and_then(|()| mgr.apply_resources(&spec.resources.clone().unwrap_or_default()))
    };
    if let Err(e) = created {
        let _ = mgr.destroy();
        return Err(e);
    }
    // With a new cgroup namespace the init joins its cgroup as soon as its pid is known, and
    // unshares the namespace after that (rooted at the container's cgroup, as with runc).
    let early = cfg.creates_ns("cgroup");
    // On cgroup v1 the init moves itself in (cgroups/join.rs: no grace period to wait for);
    // elsewhere the runtime moves it.
    let self_join = if spec.systemd { None } else { mgr.self_join() };
    let self_joins = self_join.is_some();
    if !spec.systemd && !early && !self_joins {
        // The grace period the init's move waits for (cgroups/warm.rs) runs while the init
        // builds the container. Not before the cgroups are made: the waiting write holds
        // cgroup_mutex, which mkdir needs.
        crate::cgroups::warm_attach();
    }
    let mut cfg = cfg.clone();
    cfg.cgroup_paths = mgr.paths().into_iter().map(|(_, dir)| dir).collect();
    cfg.cgroup_paths.dedup();
    let early_joins: Vec<String> = if early && !spec.systemd && !self_joins { mgr.procs_paths() } else { Vec::new() };
    let resources = spec.resources.clone().unwrap_or_default();
    let mgr = std::cell::RefCell::new(mgr);
    let join_scope = |pid: i32| {
        let mut m = mgr.borrow_mut();
        m.create(Some(pid)).and_then(|()| m.apply_resources(&resources))
    };
    let spawned = plan::Plan::new(&cfg, opts)
        .map(|mut plan| {
            plan.cgroup_procs = early_joins;
            if let Some(j) = self_join {
                plan.cgroup_tasks = j.tasks;
                plan.spawn_cgroup = j.spawn_into;
            }
            if early && spec.systemd {
                plan.join_scope = Some(&join_scope);
            }
            plan
        })
        .and_then(|plan| parent::create(&plan, program));
    let mut mgr = mgr.into_inner();
    let spawned = match spawned {
        Ok(s) => s,
        Err(e) => {
            // Joined before Ready, an init that does not fit its memory limit dies there.
            let e = mgr.memory_dir().and_then(|d| parent::oom_killed(&d)).unwrap_or(e);
            let _ = mgr.destroy();
            return Err(e);
        }
    };
    let joined = if early || self_joins {
        Ok(())
    } else if spec.systemd {
        mgr.create(Some(spawned.pid)).and_then(|()| mgr.apply_resources(&resources))
    } else {
        mgr.add_pid(spawned.pid)
    };
    if let Err(e) = joined {
        // SAFETY: kill/waitpid of our own child, the waiting init.
        unsafe {
            libc::kill(spawned.pid, libc::SIGKILL);
            libc::waitpid(spawned.pid, std::ptr::null_mut(), 0);
        }
        let _ = mgr.destroy();
        return Err(e);
    }
    Ok(Spawned { cgroup_paths: mgr.paths(), ..spawned })
}

/// `exec`: starts a process in the running container `opts.exec` names, through the same
/// init program and protocol as [`create`]: stage 1 joins every namespace of the container's
/// init that differs from ours (the user namespace first), the process is cloned into its pid
/// namespace as a child of the runtime, in the container's cgroups before it runs
/// (`cgroup_dirs`: the cgroup v2 one from birth, stage 1 being spawned into it, the v1 ones
/// written), and sets itself up (rlimits, the container's seccomp filter, user,
/// capabilities, cwd, a pty) without building anything; it waits to exec, as a created init
/// does, for [`start`]. `cfg` carries the process, the container's id and seccomp filter;
/// its namespaces and cgroup are ignored. Fails (nothing started) when the init is gone.
pub fn exec(cfg: &Config, opts: &InitOptions, program: &InitProgram) -> Result<Spawned> {
    let Some(target) = &opts.exec else {
        return Err(InitError::msg("exec", "", "no container to join"));
    };
    if opts.subreaper {
        set_child_subreaper()?;
    }
    // The cgroup v2 directory (the only one on v2, the unified one of a hybrid host) by
    // CLONE_INTO_CGROUP; the v1 hierarchies by writing the pid.
    let v2 = target.cgroup_dirs.iter().find(|d| crate::cgroups::is_cgroup2_dir(d));
    let v1: Vec<&String> = target.cgroup_dirs.iter().filter(|d| Some(*d) != v2).collect();
    // The process moves itself into the v1 hierarchies (cgroups/join.rs: no grace period);
    // where a `tasks` file cannot be opened, the runtime moves it through cgroup.procs.
    let tasks = crate::cgroups::open_tasks(&v1);
    if tasks.is_none() && !v1.is_empty() {
        // The cgroup join's RCU grace period (cgroups/warm.rs, ~8 ms after a quiet moment)
        // runs while stage 1 starts and joins the namespaces. Nothing here makes a cgroup.
        crate::cgroups::warm_attach();
    }
    let alive = || {
        crate::control::start_time(target.pid)
            .is_some_and(|(t, state)| t == target.start_time as u64 && state != 'Z' && state != 'X')
    };
    if !alive() {
        return Err(InitError::msg("exec", format!("pid {}", target.pid), "container not running"));
    }
    let mut cfg = cfg.clone();
    cfg.namespaces = crate::namespaces::of_process(target.pid)?;
    cfg.cgroup = None;
    cfg.cgroup_paths.clear();
    cfg.hooks = None;
    let mut plan = plan::Plan::new(&cfg, opts)?;
    // The namespace descriptors are open: if the init is still the same process now, they are
    // its namespaces (a pid recycled meanwhile would show another start time).
    if !alive() {
        return Err(InitError::msg("exec", format!("pid {}", target.pid), "container not running"));
    }
    plan.spawn_cgroup = match v2 {
        Some(d) => Some((crate::cgroups::open_dir(d)?, d.clone())),
        None => None,
    };
    match tasks {
        Some(tasks) => plan.cgroup_tasks = tasks,
        None => plan.cgroup_procs = v1.iter().map(|d| plan::procs_file(d)).collect(),
    }
    match parent::create(&plan, program) {
        // Born in the cgroup, stage 1 counts under its pids.max, and the process it clones
        // may not fit: again from outside the cgroup, moving only the process in (runc 1.1's
        // way), so that an exec needs no more room than the process itself.
        Err(e) if e.step == "clone" && e.errno == libc::EAGAIN && plan.spawn_cgroup.is_some() => {
            if let Some((_, dir)) = plan.spawn_cgroup.take() {
                plan.cgroup_procs.push(plan::procs_file(&dir));
            }
            parent::create(&plan, program)
        }
        r => r,
    }
}

/// Tells a waiting init (created without an exec fifo) to exec; returns once execve succeeded
/// or with the error the init reported (step "exec"). Closes `sync_fd`. On error the init has
/// exited; the caller reaps it (e.g. with [`wait_reaping`]).
pub fn start(sync_fd: RawFd) -> Result<()> {
    parent::start(sync_fd)
}

/// Lets an init created with an exec fifo go on to wait on it (once the caller has recorded
/// the container). Closes `sync_fd`.
/// Returns once the init waits on the fifo; fails when it died on the way (a memory limit too
/// small for it: `memory_dir` is its memory cgroup, to tell that apart).
pub fn release(sync_fd: RawFd, pid: i32, memory_dir: Option<&str>) -> Result<()> {
    parent::release(sync_fd, pid, memory_dir)
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

/// Reaps every child with waitpid(-1) until `pid` exits; then, with `kill_rest`, SIGKILLs and
/// reaps whatever of the container is left among our descendants (runc kills what remains of a container whose
/// init has exited; with a pid namespace the kernel already has). Blocks: call it from a
/// worker thread. Meant for a child subreaper, which inherits the container's orphans; their
/// statuses are discarded.
pub fn wait_reaping(pid: i32, kill_rest: bool) -> Result<ExitStatus> {
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
    // An exec'd process's orphans are not the container's remains: they stay (runc exec).
    while !kill_rest {
        let mut st = 0;
        // SAFETY: as above; WNOHANG: only what has exited already.
        let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        if r <= 0 && !(r < 0 && Errno::last() == Errno::EINTR) {
            break;
        }
    }
    while kill_rest {
        kill_descendants();
        let mut st = 0;
        // SAFETY: as above.
        let r = unsafe { libc::waitpid(-1, &mut st, 0) };
        if r > 0 || (r < 0 && Errno::last() == Errno::EINTR) {
            continue;
        }
        break; // ECHILD: none left
    }
    Ok(if libc::WIFSIGNALED(status) {
        ExitStatus::Signaled(libc::WTERMSIG(status))
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(status))
    })
}

/// SIGKILLs every descendant of this process. Walks /proc/<pid>/task/*/children from our own
/// pid, so the cost is that of what the container left, not of every process on the host.
fn kill_descendants() {
    let mut todo = children_of(std::process::id() as i32);
    let mut seen = std::collections::HashSet::new();
    while let Some(pid) = todo.pop() {
        if !seen.insert(pid) {
            continue;
        }
        // Killed before its children are read: it cannot add more behind our back.
        // SAFETY: kill has no memory arguments.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        todo.extend(children_of(pid));
    }
}

/// The children of every thread of `pid` (Linux 3.5+, CONFIG_PROC_CHILDREN).
fn children_of(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(list.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
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
