//! Stage 2, `runts:[2:INIT]`: the container init, pid 1 of the new pid namespace and a child of
//! the runtime (clone(CLONE_PARENT) in stage 1). It builds the container from inside its
//! namespaces, switches to the process's credentials, reports Ready and execs on Start (or
//! once the exec fifo is opened).
//!
//! The order follows runc's standard_init_linux.go: keyring, rootfs, hostname, sysctl,
//! masked/readonly paths, then finalizeNamespace (bounding set, user, cwd, capabilities).

use super::exec;
use super::plan::Plan;
use super::util::{exit_now, fail, set_name, unexpected};
use crate::caps;
use crate::console;
use crate::error::{InitError, Result};
use crate::rlimits;
use crate::rootfs;
use crate::process::sync::{self, LogLevel, Message};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::stat::{fstat, stat};
use nix::unistd::{chdir, setgroups, setresgid, setresuid, Gid, Uid};
use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub(super) fn run(plan: &Plan<'_>, sock: RawFd) -> ! {
    let result = if plan.opts.exec.is_some() { exec_process(plan, sock) } else { init(plan, sock) };
    match result {
        Ok(never) => match never {},
        Err(e) => fail(sock, e),
    }
}

/// Waits for one message; the parent going away (EOF) ends the init quietly: there is nobody
/// left to report to and nothing to clean up (mounts die with the mount namespace).
fn expect(sock: RawFd, want: Message) -> Result<()> {
    match sync::recv(sock)? {
        Some(m) if m == want => Ok(()),
        Some(m) => Err(unexpected(&m, want.name())),
        None => exit_now(1),
    }
}

/// What the runtime sends before Proceed: the idmapped mounts' trees (index into `mounts`)
/// and the `tasks` files of the cgroup v1 hierarchies to move ourselves into.
type Trees = Vec<(usize, OwnedFd)>;
fn until_proceed(sock: RawFd) -> Result<(Trees, Vec<(String, OwnedFd)>)> {
    let (mut trees, mut tasks) = (Vec::new(), Vec::new());
    loop {
        match sync::recv(sock)? {
            // SAFETY (both): the descriptor that came with the message; nobody else owns it.
            Some(Message::MountTree(i, fd)) => trees.push((i as usize, unsafe { OwnedFd::from_raw_fd(fd) })),
            Some(Message::CgroupTasks(path, fd)) => tasks.push((path, unsafe { OwnedFd::from_raw_fd(fd) })),
            Some(Message::Proceed) => return Ok((trees, tasks)),
            None => exit_now(1),
            Some(m) => return Err(unexpected(&m, "Proceed")),
        }
    }
}

fn pdeathsig(on: bool) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(if on { Some(Signal::SIGKILL) } else { None })
        .map_err(|e| InitError::sys("prctl", "PR_SET_PDEATHSIG", e))
}

fn init(plan: &Plan<'_>, sock: RawFd) -> Result<Infallible> {
    let cfg = plan.cfg;
    let opts = plan.opts;
    set_name(c"runts:[2:INIT]")?;
    // PDEATHSIG is not inherited through clone; arm it again until Ready. Our parent is the
    // runtime thread blocked in create().
    pdeathsig(true)?;
    // The idmapped mounts' trees come first (the runtime makes them in our mount namespace),
    // and the cgroup files to move ourselves in through.
    let (trees, mut tasks) = until_proceed(sock)?;
    // With a new cgroup namespace we are in the container's cgroup before we unshare it, so
    // that it is rooted there (runc's order): the runtime has moved us in before Proceed, or
    // we move ourselves in now.
    if cfg.creates_ns("cgroup") {
        crate::cgroups::join_self(std::mem::take(&mut tasks))?;
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| InitError::sys("unshare", "cgroup", e))?;
    }

    // A new session: the init leads it, so that with a terminal the pty slave can become its
    // controlling terminal (TIOCSCTTY needs a session leader without one).
    nix::unistd::setsid().map_err(|e| InitError::sys("setsid", "", e))?;

    if !opts.no_new_keyring {
        join_session_keyring(plan, sock, true)?;
    }

    if cfg.creates_ns("network") {
        crate::net::loopback_up()?;
    }
    rootfs::prepare(cfg, &trees)?;
    drop(trees);
    // Before the pivot, through the runtime's procfs (the sysctls are those of the namespaces
    // the init is in, whichever procfs it opens them on), and before finalize: /proc/sys is
    // usually among the readonlyPaths.
    write_sysctls(&plan.sysctl)?;
    create_hooks(plan, sock)?;
    // The LSM attributes are written through the runtime's procfs, opened before the pivot.
    let labels = (cfg.process.apparmor_profile.is_some() || cfg.process.selinux_label.is_some())
        .then(crate::lsm::AttrDir::open)
        .transpose()?;
    rootfs::enter(cfg, opts.no_pivot)?;
    // The container's /etc/passwd is readable from here on.
    let home = super::env::with_home(&plan.envp, cfg.process.uid);

    // As runc: inside the new root (its /dev/ptmx and /dev/pts), after the spec's mounts and
    // before finalize may make /dev read-only.
    if cfg.process.terminal {
        setup_console(plan, sock, cfg.has_ns("mount"))?;
    }

    if cfg.has_ns("uts") {
        if let Some(h) = cfg.hostname.as_deref().filter(|h| !h.is_empty()) {
            nix::unistd::sethostname(h).map_err(|e| InitError::sys("sethostname", h, e))?;
        }
        if let Some(d) = cfg.domainname.as_deref().filter(|d| !d.is_empty()) {
            // SAFETY: pointer and length of a live string.
            if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } < 0 {
                return Err(InitError::sys("setdomainname", d, Errno::last()));
            }
        }
    }
    rootfs::finalize(cfg)?;

    limits_and_scheduling(plan)?;
    if let Some(p) = &cfg.personality {
        crate::sched::set_personality(p)?;
    }
    if let Some(p) = &cfg.memory_policy {
        crate::sched::set_memory_policy(p)?;
    }
    // Into the container's cgroup (v1, cgroups/join.rs) once it is built, just before Ready:
    // what the set-up touched stays charged to the runtime's cgroup (a container with a
    // memory.limit of 128 KiB and pids.limit 1 runs here), and nothing of the container's own
    // runs outside it. Before a seccomp filter loaded here, which could deny the write.
    if early_seccomp(plan) {
        crate::cgroups::join_self(std::mem::take(&mut tasks))?;
    }
    load_early_seccomp(plan, sock)?;
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(cfg.process.umask.unwrap_or(0o022) as libc::mode_t) };
    drop_privileges(plan)?;

    let exe = exec::lookup(&cfg.process.args[0], plan.path_env.as_deref())?;
    exec::prepare_fds(opts.preserve_fds)?;
    if let Some(fifo) = &plan.fifo {
        exec::check_fifo(fifo)?;
    }

    crate::cgroups::join_self(tasks)?;

    // From here the init outlives the thread that created it. PDEATHSIG follows the forking
    // *thread* (prctl(2)), and the napi call may run on a worker thread that exits as soon as
    // create() returns: clear it while that thread is still blocked waiting for Ready. From
    // now on the init only waits on the socket, where a dead runtime shows as EOF.
    pdeathsig(false)?;
    sync::send(sock, &Message::Ready)?;
    expect(sock, Message::Created)?;

    let started = match &plan.fifo {
        Some(fifo) => Some(exec::wait_fifo(fifo)?),
        None => {
            expect(sock, Message::Start)?;
            None
        }
    };
    // Only returns on failure; the error reaches `start` before the EOF because the socket
    // (or the fifo) closes only when this process exits.
    let envp: Vec<CString> = plan.envp.iter().cloned().chain(home).collect();
    // The labels go on after the hooks, which the init execs and which must not run under them.
    let err = match start_hooks(plan) {
        Err(e) => e,
        Ok(()) => exec_final(plan, labels.as_ref(), &exe, &envp),
    };
    if let Some(fifo) = started {
        let _ = nix::unistd::write(&fifo, err.to_string().as_bytes());
    }
    Err(err)
}

/// Stage 2 of `exec`, `runts:[2:EXEC]`: a process in the namespaces of a running container
/// (stage 1 joined them; the runtime moved us into its cgroups before Proceed). Nothing is
/// built: the order is runc's setns_init_linux.go — a session (and keyring), the pty (not
/// bound onto /dev/console: the container has one), rlimits and scheduling, the seccomp
/// filter where the init loads it, the user switch, NNP; then Ready, and execve on Start.
fn exec_process(plan: &Plan<'_>, sock: RawFd) -> Result<Infallible> {
    let cfg = plan.cfg;
    set_name(c"runts:[2:EXEC]")?;
    pdeathsig(true)?;
    let (trees, tasks) = until_proceed(sock)?;
    if !trees.is_empty() {
        return Err(InitError::msg("sync", "MountTree", "mount trees for an exec'd process"));
    }
    // Into the container's cgroup before anything of the process runs.
    crate::cgroups::join_self(tasks)?;
    nix::unistd::setsid().map_err(|e| InitError::sys("setsid", "", e))?;
    // A keyring of its own, as runc's setns init joins one; its permissions are left as they
    // are (runc changes them only for the init: in a user namespace the runtime could not).
    if !plan.opts.no_new_keyring {
        join_session_keyring(plan, sock, false)?;
    }
    if cfg.process.terminal {
        setup_console(plan, sock, false)?;
    }
    limits_and_scheduling(plan)?;
    load_early_seccomp(plan, sock)?;
    // The LSM attributes through our procfs, which after the mount namespace's setns is the
    // container's /proc (runc opens it there too); opened before the user switch.
    let labels = (cfg.process.apparmor_profile.is_some() || cfg.process.selinux_label.is_some())
        .then(crate::lsm::AttrDir::open)
        .transpose()?;
    drop_privileges(plan)?;
    let exe = exec::lookup(&cfg.process.args[0], plan.path_env.as_deref())?;
    exec::prepare_fds(plan.opts.preserve_fds)?;
    pdeathsig(false)?;
    sync::send(sock, &Message::Ready)?;
    expect(sock, Message::Created)?;
    expect(sock, Message::Start)?;
    let home = super::env::with_home(&plan.envp, cfg.process.uid);
    let envp: Vec<CString> = plan.envp.iter().cloned().chain(home).collect();
    Err(exec_final(plan, labels.as_ref(), &exe, &envp))
}

/// The rlimits, then the scheduler and I/O priority while the process still has its
/// capabilities (a real-time policy or class needs them).
fn limits_and_scheduling(plan: &Plan<'_>) -> Result<()> {
    rlimits::apply(&plan.rlimits)?;
    if let Some(s) = &plan.cfg.process.scheduler {
        crate::sched::set_scheduler(s)?;
    }
    if let Some(p) = &plan.cfg.process.io_priority {
        crate::sched::set_io_priority(p)?;
    }
    Ok(())
}

/// runc's order: a process that may gain privileges gets its filter while it still has
/// CAP_SYS_ADMIN (the user switch drops it); with noNewPrivileges, as late as possible (in
/// exec_final), except that a filter with a listener must be in place before Ready, for the
/// runtime to hand the listener to the agent.
fn load_early_seccomp(plan: &Plan<'_>, sock: RawFd) -> Result<()> {
    if let Some(filter) = plan.seccomp.as_ref().filter(|_| early_seccomp(plan)) {
        if let Some(listener) = crate::seccomp::load(filter)? {
            sync::send(sock, &Message::SeccompFd(listener.as_raw_fd()))?;
        }
    }
    Ok(())
}

/// Whether load_early_seccomp loads a filter (else exec_final does, or there is none).
fn early_seccomp(plan: &Plan<'_>) -> bool {
    plan.seccomp.as_ref().is_some_and(|f| f.notify || !plan.cfg.process.no_new_privileges)
}

/// The user switch, then NNP.
fn drop_privileges(plan: &Plan<'_>) -> Result<()> {
    switch_user(plan)?;
    // Changing credentials cleared PDEATHSIG (credentials(7)); arm it again until Ready.
    pdeathsig(true)?;
    if plan.cfg.process.no_new_privileges {
        nix::sys::prctl::set_no_new_privs()
            .map_err(|e| InitError::sys("prctl", "PR_SET_NO_NEW_PRIVS", e))?;
    }
    Ok(())
}

/// After Start: the LSM exec labels, execCPUAffinity.final (after the cgroup join, which
/// resets the CPUs to the cpuset's), the filter left for last under noNewPrivileges, execve.
/// Returns only the error.
fn exec_final(plan: &Plan<'_>, labels: Option<&crate::lsm::AttrDir>, exe: &CStr, envp: &[CString]) -> InitError {
    let p = &plan.cfg.process;
    let steps = || -> Result<()> {
        if let Some(dir) = labels {
            crate::lsm::set_exec_labels(dir, p.apparmor_profile.as_deref(), p.selinux_label.as_deref())?;
        }
        if let Some(cpus) = p.exec_cpu_affinity.as_ref().and_then(|a| a.final_cpus.as_deref()) {
            crate::sched::set_affinity(cpus)?;
        }
        if let Some(filter) = plan.seccomp.as_ref().filter(|f| !f.notify && p.no_new_privileges) {
            crate::seccomp::load(filter)?;
        }
        Ok(())
    };
    match steps() {
        Ok(()) => exec::execve(exe, &plan.argv, envp),
        Err(e) => e,
    }
}

/// `linux.sysctl`, written through a descriptor of the runtime's /proc/sys, checked to be
/// procfs, each file opened beneath it without following a link or crossing a mount
/// (CVE-2025-52881: not through a /proc that the container's mounts, or a racing container
/// sharing them, could redirect to another file).
fn write_sysctls(sysctl: &[(String, String)]) -> Result<()> {
    if sysctl.is_empty() {
        return Ok(());
    }
    let dir = nix::fcntl::open("/proc/sys", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| InitError::sys("open", "/proc/sys", e))?;
    let fs = nix::sys::statfs::fstatfs(&dir).map_err(|e| InitError::sys("statfs", "/proc/sys", e))?;
    if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
        return Err(InitError::msg("sysctl", "/proc/sys", "not on procfs"));
    }
    for (rel, value) in sysctl {
        let path = format!("/proc/sys/{rel}");
        let how = nix::fcntl::OpenHow::new().flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC).resolve(
            nix::fcntl::ResolveFlag::RESOLVE_BENEATH
                | nix::fcntl::ResolveFlag::RESOLVE_NO_SYMLINKS
                | nix::fcntl::ResolveFlag::RESOLVE_NO_MAGICLINKS
                | nix::fcntl::ResolveFlag::RESOLVE_NO_XDEV,
        );
        let fd = match nix::fcntl::openat2(&dir, rel.as_str(), how) {
            Err(Errno::ENOSYS) => nix::fcntl::openat(&dir, rel.as_str(), OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()),
            r => r,
        }
        .map_err(|e| InitError::sys("sysctl", &path, e))?;
        nix::unistd::write(&fd, value.as_bytes())
            .map_err(|e| InitError::sys("sysctl", &path, e).with_detail(format!("write {value:?}")))?;
    }
    Ok(())
}

/// With create or start hooks: the parent runs prestart and createRuntime (Message::Hooks),
/// then createContainer runs here, in the container's namespaces with the runtime's root
/// still `/` (before pivot_root), what it prints going to the runtime's log. The state these
/// hooks get carries the init's own pid (1 in a new pid namespace), as runc's does.
fn create_hooks(plan: &Plan<'_>, sock: RawFd) -> Result<()> {
    let Some(hooks) = plan.cfg.hooks.as_ref().filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    sync::send(sock, &Message::Hooks)?;
    match sync::recv(sock)? {
        Some(Message::HooksDone) => {}
        Some(m) => return Err(unexpected(&m, "HooksDone")),
        None => exit_now(1),
    }
    let state = crate::hooks::state_json(hook_state(plan), "creating", nix::unistd::getpid().as_raw());
    for line in crate::hooks::run("createContainer", &hooks.create_container, &state)? {
        sync::send(sock, &Message::Log(LogLevel::Info, line))?;
    }
    Ok(())
}

/// startContainer, in the container after `start`, right before execve (runc's place: after
/// the exec fifo). A failure is the start's error, as an execve failure is.
fn start_hooks(plan: &Plan<'_>) -> Result<()> {
    let Some(hooks) = plan.cfg.hooks.as_ref().filter(|h| !h.start_container.is_empty()) else {
        return Ok(());
    };
    let state = crate::hooks::state_json(hook_state(plan), "created", nix::unistd::getpid().as_raw());
    crate::hooks::run("startContainer", &hooks.start_container, &state).map(|_| ())
}

fn hook_state<'a>(plan: &'a Plan<'_>) -> &'a str {
    plan.opts.hook_state.as_deref().unwrap_or("{}")
}

/// runc's setupConsole and Setctty: a pty from the container's own devpts instance, sized
/// from process.consoleSize, its slave bound onto /dev/console (with a mount namespace), the
/// master sent to the runtime (Message::Console, SCM_RIGHTS) and closed here, the slave on
/// 0, 1 and 2 and the controlling terminal of this session (setsid above).
fn setup_console(plan: &Plan<'_>, sock: RawFd, mount: bool) -> Result<()> {
    let pty = console::open_pty()?;
    if let Some(size) = plan.cfg.process.console_size {
        // runc resizes only when both are set.
        if size.height != 0 && size.width != 0 {
            let cells = |n: u32| u16::try_from(n).unwrap_or(u16::MAX);
            let ws = console::WinSize {
                rows: cells(size.height),
                cols: cells(size.width),
            };
            console::set_size(pty.master.as_fd(), ws)?;
        }
    }
    if mount {
        mount_console(&pty)?;
    }
    sync::send(sock, &Message::Console(pty.master.as_raw_fd()))?;
    drop(pty.master);
    for fd in 0..3 {
        // SAFETY: dup3 onto the stdio numbers; the copies are not close-on-exec.
        if unsafe { libc::dup3(pty.slave.as_raw_fd(), fd, 0) } < 0 {
            return Err(
                InitError::sys("dup3", pty.slave_path.as_str(), Errno::last())
                    .with_detail(format!("onto fd {fd}")),
            );
        }
    }
    drop(pty.slave);
    // SAFETY: fd 0 is the slave, open for the life of this process.
    console::set_controlling_terminal(unsafe { BorrowedFd::borrow_raw(0) })
}

/// runc's mountConsole: /dev/console becomes a bind mount of the pty slave (an empty file is
/// made to mount on; an existing /dev/console is mounted over).
fn mount_console(pty: &console::Pty) -> Result<()> {
    // CVE-2025-52565: the bind comes from the slave we hold (opened with TIOCGPTPEER), never
    // from its /dev/pts/N path, and lands on /dev/console itself, never through a symlink.
    let created = nix::fcntl::open(
        "/dev/console",
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o666),
    );
    match created {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(InitError::sys("create", "/dev/console", e)),
    }
    let at = nix::fcntl::open("/dev/console", OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| InitError::sys("open", "/dev/console", e))?;
    let kind = fstat(&at).map_err(|e| InitError::sys("stat", "/dev/console", e))?.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG && kind != libc::S_IFCHR {
        return Err(InitError::msg("mount", "/dev/console", "not a file or a character device (a symlink?)"));
    }
    let target = rootfs::path::InRoot { fd: at, path: "/dev/console".into() };
    let source = rootfs::path::InRoot {
        fd: pty.slave.try_clone().map_err(|e| InitError::sys("dup", &pty.slave_path, super::util::errno_of(&e)))?,
        path: pty.slave_path.clone(),
    };
    nix::mount::mount(
        Some(source.mount_target().as_str()),
        target.mount_target().as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| InitError::sys("mount", "/dev/console", e).with_detail(format!("bind {}", pty.slave_path)))
}

/// runc's finalizeNamespace: bounding set, keep-caps across setuid, groups and ids, cwd (with
/// the CVE-2024-21626 check), then the capability sets and the ambient set.
fn switch_user(plan: &Plan<'_>) -> Result<()> {
    let p = &plan.cfg.process;
    fix_stdio_owner(p.uid);

    // Try the cwd first with the runtime's credentials, again as the user on a permission
    // error (runc 1.1.12: a directory only the container user can enter).
    let mut chdir_after = false;
    if !p.cwd.is_empty() {
        match chdir(p.cwd.as_str()) {
            Ok(()) => {}
            Err(Errno::EACCES | Errno::EPERM) => chdir_after = true,
            Err(e) => return Err(InitError::sys("chdir", p.cwd.as_str(), e)),
        }
    }

    caps::drop_bounding(plan.caps.bounding, plan.last_cap)?;
    nix::sys::prctl::set_keepcaps(true)
        .map_err(|e| InitError::sys("prctl", "PR_SET_KEEPCAPS", e))?;

    // Supplementary groups cannot be set when the user namespace has setgroups "deny"
    // (user_namespaces(7)); runc skips them silently then.
    if setgroups_allowed() {
        let gids: Vec<Gid> = p
            .additional_gids
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        setgroups(&gids)
            .map_err(|e| InitError::sys("setgroups", join_ids(&p.additional_gids), e))?;
    }
    let gid = Gid::from_raw(p.gid);
    setresgid(gid, gid, gid).map_err(|e| unmapped(e, "setresgid", "gid", p.gid))?;
    let uid = Uid::from_raw(p.uid);
    setresuid(uid, uid, uid).map_err(|e| unmapped(e, "setresuid", "uid", p.uid))?;

    if chdir_after {
        chdir(p.cwd.as_str()).map_err(|e| InitError::sys("chdir", p.cwd.as_str(), e))?;
    }
    verify_cwd(&p.cwd)?;

    nix::sys::prctl::set_keepcaps(false)
        .map_err(|e| InitError::sys("prctl", "PR_SET_KEEPCAPS", e))?;
    let c = plan.caps;
    caps::capset(c.effective, c.permitted, c.inheritable)?;
    caps::set_ambient(c.ambient, plan.last_cap)
}

fn unmapped(e: Errno, step: &str, what: &str, id: u32) -> InitError {
    let err = InitError::sys(step, id.to_string(), e);
    if e == Errno::EINVAL {
        err.with_detail(format!("{what} {id} is not mapped in the user namespace"))
    } else {
        err
    }
}

fn join_ids(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// "allow" unless a user namespace denies setgroups; no file (no /proc in the container, or an
/// old kernel) counts as allowed, like runc.
fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() != "deny")
        .unwrap_or(true)
}

/// CVE-2024-21626: a cwd reached through a leaked host descriptor is outside the container's
/// root; getcwd(2) then fails with ENOENT (or does not start with "/"). runc's verifyCwd.
fn verify_cwd(cwd: &str) -> Result<()> {
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        Ok(p) => Err(InitError::msg(
            "chdir",
            cwd,
            format!("working directory {p:?} is not absolute"),
        )),
        Err(Errno::ENOENT) => Err(InitError::sys("chdir", cwd, Errno::ENOENT)
            .with_detail("working directory is outside the container root (CVE-2024-21626)")),
        Err(e) => Err(InitError::sys("getcwd", cwd, e)),
    }
}

/// runc's fixStdioPermissions: stdio inherited from the runtime becomes owned by the process
/// user, so a non-root user can still reopen /dev/stdout. /dev/null and descriptors whose
/// owner we may not change (unmapped in a user namespace, read-only /dev) are left alone.
fn fix_stdio_owner(uid: u32) {
    let null = stat("/dev/null").ok().map(|s| s.st_rdev);
    for fd in 0..3 {
        // SAFETY: fstat/fchown on stdio numbers; a closed one just fails.
        let b = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(st) = fstat(b) else { continue };
        let is_null = null == Some(st.st_rdev) && (st.st_mode & libc::S_IFMT) == libc::S_IFCHR;
        if st.st_uid == uid || is_null {
            continue;
        }
        // Failures (EINVAL, EPERM, EROFS) are ignored, as runc does.
        // SAFETY: as above; gid -1 keeps the group.
        unsafe { libc::fchown(fd, uid, u32::MAX) };
    }
}

/// Joins a new session keyring "_ses.<id>" so the container does not share the runtime's
/// (runc: best effort when the kernel has no keyrings), and makes it searchable by the
/// possessor's uid, or by "other" in a user namespace where the uid differs (runc's
/// getSessionRingParams: keep 0xffffffff, add 0x80000 or 0x8).
fn join_session_keyring(plan: &Plan<'_>, sock: RawFd, set_perm: bool) -> Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    const KEYCTL_SETPERM: libc::c_long = 5;
    const KEYCTL_DESCRIBE: libc::c_long = 6;
    let name = plan.keyring.to_string_lossy();
    // SAFETY: keyctl with a valid C string.
    let id = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            plan.keyring.as_ptr(),
        )
    };
    if id < 0 {
        return match Errno::last() {
            // No keyrings (ENOSYS), a keyring quota exhausted by many containers under one uid
            // (EDQUOT), or an LSM refusing it (EACCES): the keyring is a defence in depth only.
            // Said in the runtime's log, not dropped.
            e @ (Errno::ENOSYS | Errno::EDQUOT | Errno::EACCES) => {
                let why = InitError::sys("join session keyring", name, e);
                let text = format!("{why}: the container has no session keyring of its own");
                sync::send(sock, &Message::Log(LogLevel::Warn, text))
            }
            e => Err(InitError::sys("join session keyring", name, e)),
        };
    }
    if !set_perm {
        return Ok(());
    }
    let mut buf = vec![0u8; 1024];
    // SAFETY: buffer pointer and length of a live Vec.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            id,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(InitError::sys(
            "describe session keyring",
            name,
            Errno::last(),
        ));
    }
    // "type;uid;gid;perm;description", perm in hex.
    let desc = String::from_utf8_lossy(&buf[..(n as usize).min(buf.len())]).into_owned();
    let perm = desc
        .split(';')
        .nth(3)
        .and_then(|p| u32::from_str_radix(p, 16).ok())
        .ok_or_else(|| {
            InitError::msg(
                "describe session keyring",
                name.as_ref(),
                format!("unexpected {desc:?}"),
            )
        })?;
    let add: u32 = if plan.cfg.has_ns("user") {
        0x8
    } else {
        0x8_0000
    };
    // SAFETY: keyctl with integer arguments.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SETPERM,
            id,
            (perm | add) as libc::c_ulong,
        )
    };
    if r < 0 {
        return Err(InitError::sys(
            "set session keyring permissions",
            name,
            Errno::last(),
        ));
    }
    Ok(())
}
