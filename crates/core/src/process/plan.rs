//! Everything the children need, computed in the parent before the fork: parsing (capabilities,
//! rlimits, namespaces), C strings for execve, descriptors that must be opened on the host
//! (namespace paths, the exec fifo). A bad config therefore fails `create` before any process
//! exists, and the children mostly make system calls.

use super::fds::fd_at_least;
use crate::caps::{self, CapSets};
use crate::config::{Config, InitOptions};
use crate::error::{InitError, Result};
use crate::namespaces::{self, Join, NsPlan, CLONE_NEWTIME};
use crate::rlimits::{self, Limit};
use crate::seccomp;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use std::ffi::CString;
use std::os::fd::{OwnedFd, RawFd};

pub(crate) struct Plan<'a> {
    pub cfg: &'a Config,
    pub opts: &'a InitOptions,
    /// The runtime's pid, to detect a parent that died before PR_SET_PDEATHSIG was armed.
    pub parent_pid: i32,
    pub ns: NsPlan,
    /// Namespaces to join, opened on the host (user first); stage 1 closes them after setns.
    pub joins: Vec<(OwnedFd, Join)>,
    pub uid_map: String,
    pub gid_map: String,
    pub caps: CapSets,
    pub last_cap: u32,
    pub rlimits: Vec<Limit>,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    /// PATH from process.env, for looking up args[0].
    pub path_env: Option<String>,
    /// "_ses.<id>" (runc's session keyring name).
    pub keyring: CString,
    /// (<key with . replaced by />, value): the file under /proc/sys.
    pub sysctl: Vec<(String, String)>,
    /// <cgroup path>/cgroup.procs of each hierarchy the runtime moves the init into as soon as
    /// it knows its pid (only with a new cgroup namespace, which the init unshares afterwards;
    /// otherwise the runtime moves the init in once it waits, after Ready). Empty where the
    /// init moves itself in (`cgroup_tasks`).
    pub cgroup_procs: Vec<String>,
    /// The same for the systemd driver: makes the container's scope with the init's pid (a
    /// scope cannot be empty), called as soon as the pid is known.
    pub join_scope: Option<&'a dyn Fn(i32) -> Result<()>>,
    /// The `tasks` files of the container's cgroup v1 hierarchies (cgroups/join.rs), sent to
    /// the init before Proceed: it moves itself in (parent only: never inherited).
    pub cgroup_tasks: Vec<(String, OwnedFd)>,
    /// A cgroup v2 directory that stage 1 is spawned into (CLONE_INTO_CGROUP), the init
    /// inheriting it: its descriptor and path (the runtime writes its cgroup.procs instead
    /// where the kernel refuses; parent only: never passed to the children).
    pub spawn_cgroup: Option<(OwnedFd, String)>,
    /// O_PATH descriptor of the exec fifo, reopened for writing through /proc/self/fd by the
    /// init after pivot_root (the fifo is in the runtime's state directory, outside the rootfs).
    pub fifo: Option<OwnedFd>,
    /// Descriptors the runtime keeps must be at least this (3 + preserve_fds).
    pub min_fd: RawFd,
    /// `--console-socket`, connected (parent only: stage 1 closes it with the other
    /// descriptors it does not keep). The pty master the init sends is passed on to it.
    pub console_socket: Option<OwnedFd>,
    /// `linux.seccomp` compiled by the runtime (libseccomp is linked there, not in the init).
    pub seccomp: Option<seccomp::Filter>,
}

/// `<dir>/cgroup.procs`.
pub(crate) fn procs_file(dir: &str) -> String {
    format!("{}/cgroup.procs", dir.trim_end_matches('/'))
}

fn cstring(step: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| InitError::msg(step, s, "contains a NUL byte"))
}

/// The descriptors the runtime opens on the host for the children (the console socket stays
/// with the runtime).
struct Handles {
    joins: Vec<OwnedFd>,
    fifo: Option<OwnedFd>,
    console_socket: Option<OwnedFd>,
}

/// What stage 1 inherits across its execve besides the config: the descriptor numbers, in
/// [`Plan`] order, and what only the runtime can compute (the seccomp program).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Inherited {
    pub joins: Vec<RawFd>,
    pub fifo: Option<RawFd>,
    /// The runtime's pid (stage 1 checks it is still its parent).
    pub parent_pid: i32,
    pub seccomp: Option<seccomp::Filter>,
}

impl<'a> Plan<'a> {
    /// The runtime's plan: checks the config, computes what the children need and opens the
    /// descriptors they inherit (namespaces to join, the exec fifo, the console socket).
    pub fn new(cfg: &'a Config, opts: &'a InitOptions) -> Result<Plan<'a>> {
        let min_fd = min_fd(opts)?;
        let ns = namespaces::plan(cfg)?;
        let joins = ns.joins.clone();
        let mut plan = Plan::with(cfg, opts, ns, nix::unistd::getpid().as_raw())?;
        let handles = open_handles(cfg, opts, &plan.ns, min_fd)?;
        plan.joins = handles.joins.into_iter().zip(joins).collect();
        plan.fifo = handles.fifo;
        plan.console_socket = handles.console_socket;
        plan.seccomp = cfg.seccomp.as_ref().map(seccomp::compile).transpose()?;
        Ok(plan)
    }

    /// Stage 1's plan, after its execve: the same computation over the same config, with the
    /// descriptors the runtime opened (no file is made or opened again).
    pub fn adopt(cfg: &'a Config, opts: &'a InitOptions, inherited: &Inherited) -> Result<Plan<'a>> {
        let ns = namespaces::plan(cfg)?;
        if inherited.joins.len() != ns.joins.len() {
            return Err(InitError::msg(
                "bootstrap",
                "",
                format!("{} namespace descriptors for {} joins", inherited.joins.len(), ns.joins.len()),
            ));
        }
        // SAFETY: the runtime passed these open descriptors to this process, for it alone.
        let own = |fd: RawFd| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let joins = ns.joins.clone();
        let mut plan = Plan::with(cfg, opts, ns, inherited.parent_pid)?;
        plan.joins = inherited.joins.iter().map(|fd| own(*fd)).zip(joins).collect();
        plan.fifo = inherited.fifo.map(own);
        plan.seccomp = inherited.seccomp.clone();
        Ok(plan)
    }

    /// What stage 1 inherits, by number (see [`Plan::adopt`]).
    pub fn inherited(&self) -> Inherited {
        use std::os::fd::AsRawFd;
        Inherited {
            joins: self.joins.iter().map(|(fd, _)| fd.as_raw_fd()).collect(),
            fifo: self.fifo.as_ref().map(AsRawFd::as_raw_fd),
            parent_pid: self.parent_pid,
            seccomp: self.seccomp.clone(),
        }
    }

    fn with(
        cfg: &'a Config,
        opts: &'a InitOptions,
        ns: NsPlan,
        parent_pid: i32,
    ) -> Result<Plan<'a>> {
        let p = &cfg.process;
        let min_fd = min_fd(opts)?;

        if p.args.is_empty() {
            return Err(InitError::msg("exec", "", "process.args is empty"));
        }
        let argv = p
            .args
            .iter()
            .map(|a| cstring("exec", a))
            .collect::<Result<Vec<_>>>()?;
        for e in &p.env {
            if !e.contains('=') || e.starts_with('=') {
                return Err(InitError::msg("env", e.as_str(), "not a NAME=value pair"));
            }
        }
        let envp = p
            .env
            .iter()
            .map(|e| cstring("env", e))
            .collect::<Result<Vec<_>>>()?;
        let path_env = p
            .env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .map(str::to_string);

        if ns.creates(CloneFlags::CLONE_NEWUSER)
            && (cfg.uid_mappings.is_empty() || cfg.gid_mappings.is_empty())
        {
            return Err(InitError::msg(
                "user namespace",
                "",
                "a new user namespace needs uidMappings and gidMappings",
            ));
        }
        if ns.creates(CLONE_NEWTIME) && !std::path::Path::new("/proc/self/ns/time").exists() {
            return Err(InitError::sys("unshare", "time", nix::errno::Errno::EINVAL)
                .with_detail("this kernel has no time namespaces (Linux 5.6+)"));
        }
        // runc refuses a hostname without a private UTS namespace (validator); never change the
        // host's name by accident.
        for (what, v) in [
            ("sethostname", &cfg.hostname),
            ("setdomainname", &cfg.domainname),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                if !cfg.has_ns("uts") {
                    return Err(InitError::msg(
                        what,
                        v,
                        "no UTS namespace in linux.namespaces",
                    ));
                }
            }
        }

        let last_cap = caps::last_cap()?;
        let caps = CapSets::parse(p.capabilities.as_ref())?.masked(last_cap);
        let rlimits = rlimits::parse(&p.rlimits)?;

        let sysctl = cfg
            .sysctl
            .iter()
            .map(|s| {
                if s.key.is_empty() {
                    return Err(InitError::msg("sysctl", "", "empty key"));
                }
                // Dots become slashes, so no key can climb out of /proc/sys with "..".
                Ok((s.key.replace('.', "/"), s.value.clone()))
            })
            .collect::<Result<Vec<_>>>()?;

        Ok(Plan {
            cfg,
            opts,
            parent_pid,
            joins: Vec::new(),
            uid_map: namespaces::format_id_map(&cfg.uid_mappings),
            gid_map: namespaces::format_id_map(&cfg.gid_mappings),
            ns,
            caps,
            last_cap,
            rlimits,
            argv,
            envp,
            path_env,
            keyring: cstring("join session keyring", &format!("_ses.{}", cfg.id))?,
            sysctl,
            // Set by `process::create` when the init must join early (a new cgroup namespace).
            cgroup_procs: Vec::new(),
            cgroup_tasks: Vec::new(),
            join_scope: None,
            spawn_cgroup: None,
            fifo: None,
            min_fd,
            console_socket: None,
            seccomp: None,
        })
    }
}

/// 3 + `--preserve-fds`: the runtime's own descriptors are moved at or above it.
fn min_fd(opts: &InitOptions) -> Result<RawFd> {
    RawFd::try_from(opts.preserve_fds)
        .ok()
        .filter(|n| *n < 1 << 20)
        .map(|n| 3 + n)
        .ok_or_else(|| InitError::msg("preserve fds", opts.preserve_fds.to_string(), "too many"))
}

/// Opens, on the host and before anything is started, what the children inherit: a wrong
/// namespace path, fifo or console socket fails `create` with nothing to clean up.
fn open_handles(cfg: &Config, opts: &InitOptions, ns: &NsPlan, min_fd: RawFd) -> Result<Handles> {
    let mut joins = Vec::with_capacity(ns.joins.len());
    for j in &ns.joins {
        let fd = open(
            j.path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| InitError::sys("open namespace", j.path.as_str(), e))?;
        joins.push(fd);
    }

    let fifo = match &opts.exec_fifo {
        None => None,
        Some(path) => {
            // runc's exec.fifo: made here, in the state directory, mode 0622 and owned by
            // the container's root, because the init opens it for writing after it has
            // switched to process.user (runc's createExecFifo). mkfifo's mode passes
            // through the umask, hence the chmod (umask(2) is process-wide: threads).
            match nix::unistd::mkfifo(path.as_str(), Mode::from_bits_truncate(0o622)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(InitError::sys("mkfifo", path.as_str(), e)),
            }
            nix::sys::stat::fchmodat(
                nix::fcntl::AT_FDCWD,
                path.as_str(),
                Mode::from_bits_truncate(0o622),
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            )
            .map_err(|e| InitError::sys("chmod exec fifo", path.as_str(), e))?;
            let uid = namespaces::host_id(&cfg.uid_mappings, 0).unwrap_or(0);
            let gid = namespaces::host_id(&cfg.gid_mappings, 0).unwrap_or(0);
            nix::unistd::chown(
                path.as_str(),
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .map_err(|e| InitError::sys("chown exec fifo", path.as_str(), e))?;
            let fd = open(
                path.as_str(),
                OFlag::O_PATH | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| InitError::sys("open exec fifo", path.as_str(), e))?;
            Some(fd_at_least(fd, min_fd, "exec fifo")?)
        }
    };

    // Connected before anything is started, as runc's setupIO does.
    let console_socket = match &opts.console_socket {
        None => None,
        Some(path) if !cfg.process.terminal => {
            return Err(InitError::msg(
                "console socket",
                path.as_str(),
                "process.terminal is false: there is no pty to send",
            ))
        }
        Some(path) => Some(crate::console::connect_socket(path)?),
    };
    Ok(Handles { joins, fifo, console_socket })
}
