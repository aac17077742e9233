//! The runtime side of the protocol: spawn stage 1 (the init program), answer its requests, learn the init's pid,
//! and on any failure kill and reap what was started.

use super::bootstrap::{self, STAGE1_NAME};
use super::plan::Plan;
use super::program::InitProgram;
use super::fds::fd_at_least;
use super::status::{describe_status, wait_for};
use super::util::{self, unexpected};
use super::Spawned;
use crate::console;
use crate::error::{InitError, Result};
use crate::process::sync::{self, LogLevel, Message};
use nix::errno::Errno;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

pub(super) fn create(plan: &Plan<'_>, program: &InitProgram) -> Result<Spawned> {
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| InitError::sys("socketpair", "", e))?;
    let ours = fd_at_least(ours, plan.min_fd, "sync socket")?;
    let theirs = fd_at_least(theirs, plan.min_fd, "sync socket")?;
    let inherited = plan.inherited();
    let boot = fd_at_least(bootstrap::write(plan, &inherited)?, plan.min_fd, "bootstrap")?;

    // Stage 1 inherits its end of the socket, the bootstrap and the descriptors of the plan;
    // our end stays CLOEXEC, so the init sees EOF when the runtime is gone.
    // So are stdio and the preserved descriptors 3..min_fd, which the container's process
    // gets: Node marks its 0, 1 and 2 close-on-exec (the init clears the flag again before its
    // own execve, exec.rs).
    // SAFETY: F_GETFD on numbers below min_fd; a closed one fails and stays closed.
    let mut pass: Vec<RawFd> =
        (0..plan.min_fd).filter(|fd| unsafe { libc::fcntl(*fd, libc::F_GETFD) } >= 0).collect();
    pass.extend([theirs.as_raw_fd(), boot.as_raw_fd()]);
    pass.extend(inherited.joins.iter().copied());
    pass.extend(inherited.fifo);
    let number = |fd: RawFd| CString::new(fd.to_string()).expect("no NUL in a number");
    let argv = [STAGE1_NAME.to_owned(), number(theirs.as_raw_fd()), number(boot.as_raw_fd())];
    let mut logs = Vec::new();
    let (child, in_cgroup) = match &plan.spawn_cgroup {
        Some((fd, dir)) => {
            let (pid, refused) = program.spawn_in_cgroup(&argv, &pass, fd.as_raw_fd())?;
            logs.push((LogLevel::Debug, match refused {
                None => format!("cgroup {dir}: spawned into it (CLONE_INTO_CGROUP)"),
                Some(e) => format!("cgroup {dir}: CLONE_INTO_CGROUP refused ({}); joined through cgroup.procs", e.desc()),
            }));
            (pid, refused.is_none())
        }
        None => (program.spawn(&argv, &pass)?, false),
    };
    drop(theirs);
    drop(boot);
    drive(plan, ours, child, in_cgroup, logs)
}

/// The processes started so far, to clean up on failure.
struct Started {
    stage1: Option<i32>,
    init: Option<i32>,
}

impl Started {
    /// SIGKILLs and reaps whatever is still ours. Mounts and namespaces go with the processes.
    fn kill_and_reap(&mut self) {
        for pid in [self.init.take(), self.stage1.take()].into_iter().flatten() {
            // SAFETY: kill and waitpid on our own children.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = wait_for(pid);
        }
    }

    /// The error for a child that closed the socket without reporting anything.
    fn died(&mut self) -> InitError {
        let (pid, who) = match (self.init.take(), self.stage1.take()) {
            (Some(init), stage1) => {
                self.stage1 = stage1;
                (init, "init")
            }
            (None, Some(s)) => (s, "stage 1"),
            (None, None) => {
                return InitError::msg("start the container init", "", "the init exited before it reported")
            }
        };
        let status = match wait_for(pid) {
            Ok(st) => describe_status(st),
            Err(e) => format!("unknown: waitpid {e}"),
        };
        InitError::msg(
            "start the container init",
            "",
            format!("{who} exited with {status} before it reported"),
        )
    }
}

fn drive(plan: &Plan<'_>, sock: OwnedFd, stage1_pid: i32, in_cgroup: bool, mut logs: Vec<(LogLevel, String)>) -> Result<Spawned> {
    let mut started = Started {
        stage1: Some(stage1_pid),
        init: None,
    };
    match handshake(plan, sock.as_raw_fd(), &mut started, &mut logs, in_cgroup) {
        Ok((pid, console)) => {
            // The init waits for Created: the caller records the container first, then calls
            // `release` (exec fifo) or `start`. Dying before that closes the socket, and the
            // init exits: a killed `create` leaves no waiting process behind.
            let sync_fd = sock.into_raw_fd();
            let console_fd = console.map_or(-1, IntoRawFd::into_raw_fd);
            // The init waits (Ready): its start time tells it apart from a later process
            // that reuses the pid.
            let start_time = crate::control::start_time(pid).map_or(0, |(t, _)| t);
            Ok(Spawned {
                pid,
                start_time,
                sync_fd,
                console_fd,
                cgroup_paths: Vec::new(),
                logs,
            })
        }
        Err(e) => {
            started.kill_and_reap();
            Err(e)
        }
    }
}

/// Returns the init's pid and, with a terminal but no console socket, the pty master.
fn handshake(
    plan: &Plan<'_>,
    sock: RawFd,
    started: &mut Started,
    logs: &mut Vec<(LogLevel, String)>,
    in_cgroup: bool,
) -> Result<(i32, Option<OwnedFd>)> {
    let terminal = plan.cfg.process.terminal;
    let mut console: Option<OwnedFd> = None;
    let mut console_sent = false;
    loop {
        let msg = match sync::recv(sock)? {
            Some(m) => m,
            None => return Err(started.died()),
        };
        match msg {
            Message::UsernsReady => {
                write_id_maps(plan, stage1_pid(started)?)?;
                sync::send(sock, &Message::MapsWritten)?;
            }
            Message::InitPid(pid) => {
                started.init = Some(pid);
                reap_stage1(started)?;
                // What joins now, in each hierarchy it was not spawned into: the init with a
                // new cgroup namespace (unshared next, rooted there), or an exec'd process.
                let spawned = plan.spawn_cgroup.iter().filter(|_| !in_cgroup).map(|(_, dir)| super::plan::procs_file(dir));
                for procs in plan.cgroup_procs.iter().cloned().chain(spawned) {
                    util::write_file("join cgroup", &procs, &pid.to_string())?;
                }
                if let Some(join) = plan.join_scope {
                    join(pid)?;
                }
                move_net_devices(plan, pid)?;
                // The init moves itself into these (cgroups/join.rs).
                for (path, fd) in &plan.cgroup_tasks {
                    sync::send(sock, &Message::CgroupTasks(path.clone(), fd.as_raw_fd()))?;
                }
                // Made now, in the init's mount namespace, with our privileges (idmap.rs).
                for (i, tree) in crate::idmap::trees_in(plan.cfg, pid)? {
                    sync::send(sock, &Message::MountTree(i as u32, tree.as_raw_fd()))?;
                }
                sync::send(sock, &Message::Proceed)?;
            }
            Message::Console(fd) => {
                // SAFETY: the descriptor that came with this message; nobody else owns it.
                let master = unsafe { OwnedFd::from_raw_fd(fd) };
                if !terminal || console.is_some() || console_sent {
                    return Err(unexpected(&msg, "a child message"));
                }
                match &plan.console_socket {
                    // Passed on at once, during the init's setup, as runc's init does; our
                    // copy closes here, so the receiver holds the only one.
                    Some(to) => {
                        console::send_fd(to.as_fd(), console::MASTER_NAME, master.as_fd())?;
                        console_sent = true;
                    }
                    None => console = Some(master),
                }
            }
            Message::Ready => {
                let pid = started.init.ok_or_else(|| unexpected(&msg, "InitPid"))?;
                if terminal && console.is_none() && !console_sent {
                    return Err(unexpected(&msg, "Console"));
                }
                return Ok((pid, console));
            }
            Message::Log(level, text) => logs.push((level, text)),
            Message::SeccompFd(fd) => {
                // SAFETY: the descriptor that came with this message; nobody else owns it.
                let listener = unsafe { OwnedFd::from_raw_fd(fd) };
                let pid = started.init.ok_or_else(|| unexpected(&msg, "InitPid"))?;
                send_seccomp_listener(plan, pid, listener.as_fd())?;
            }
            Message::Hooks => {
                let pid = started.init.ok_or_else(|| unexpected(&msg, "InitPid"))?;
                run_create_hooks(plan, pid, logs)?;
                sync::send(sock, &Message::HooksDone)?;
            }
            Message::Error(e) => return Err(e),
            m => return Err(unexpected(&m, "a child message")),
        }
    }
}

/// linux.netDevices: into the init's network namespace (it has its own since stage 1), from
/// ours, before the init builds the container.
fn move_net_devices(plan: &Plan<'_>, pid: i32) -> Result<()> {
    if plan.cfg.net_devices.is_empty() {
        return Ok(());
    }
    let path = format!("/proc/{pid}/ns/net");
    let ns = nix::fcntl::open(path.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| InitError::sys("open", &path, e))?;
    for d in &plan.cfg.net_devices {
        crate::net::move_device(&d.host_name, &d.name, ns.as_fd())?;
    }
    Ok(())
}

/// SCMP_ACT_NOTIFY: the listener goes to the agent at listenerPath with runc's
/// ContainerProcessState (the container's state as hooks get it, the metadata, the pid).
fn send_seccomp_listener(plan: &Plan<'_>, pid: i32, listener: std::os::fd::BorrowedFd<'_>) -> Result<()> {
    let Some(sec) = &plan.cfg.seccomp else {
        return Err(InitError::msg("sync", "SeccompFd", "no seccomp config"));
    };
    let path = sec.listener_path.as_deref().unwrap_or("");
    let state = crate::hooks::state_json(plan.opts.hook_state.as_deref().unwrap_or("{}"), "creating", pid);
    let state: serde_json::Value = serde_json::from_str(&state).unwrap_or(serde_json::Value::Null);
    let message = serde_json::json!({
        "ociVersion": state.get("ociVersion").cloned().unwrap_or_default(),
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": sec.listener_metadata.clone().unwrap_or_default(),
        "state": state,
    });
    crate::seccomp::send_listener(path, &message.to_string(), listener)
}

/// prestart (deprecated) and createRuntime, in the runtime's namespaces, while the init waits
/// between its mounts and pivot_root; what they print goes to the caller's log.
fn run_create_hooks(plan: &Plan<'_>, pid: i32, logs: &mut Vec<(LogLevel, String)>) -> Result<()> {
    let Some(hooks) = &plan.cfg.hooks else {
        return Ok(());
    };
    let state = crate::hooks::state_json(plan.opts.hook_state.as_deref().unwrap_or("{}"), "creating", pid);
    for (kind, list) in [("prestart", &hooks.prestart), ("createRuntime", &hooks.create_runtime)] {
        for line in crate::hooks::run(kind, list, &state)? {
            logs.push((LogLevel::Info, line));
        }
    }
    Ok(())
}

fn stage1_pid(started: &Started) -> Result<i32> {
    started
        .stage1
        .ok_or_else(|| InitError::msg("sync", "UsernsReady", "stage 1 already exited"))
}

/// Stage 1 exits right after InitPid; reap exactly it (never waitpid(-1): the caller's other
/// children are not ours).
fn reap_stage1(started: &mut Started) -> Result<()> {
    let Some(pid) = started.stage1 else {
        return Ok(());
    };
    match wait_for(pid) {
        Ok(st) => {
            started.stage1 = None;
            if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
                Ok(())
            } else {
                Err(InitError::msg(
                    "start the container init",
                    "",
                    format!("stage 1 exited with {} before it reported", describe_status(st)),
                ))
            }
        }
        // Reaped by someone else (a concurrent wait_reaping): it did exit.
        Err(Errno::ECHILD) => {
            started.stage1 = None;
            Ok(())
        }
        Err(e) => Err(InitError::sys("waitpid", pid.to_string(), e)),
    }
}

/// Writes the maps of the new user namespace from outside it. As root (CAP_SETUID and
/// CAP_SETGID over the parent namespace) directly, setgroups left "allow" so the init can
/// still set supplementary groups. Run by another user (rootless, as runc's RootlessEUID): a
/// map of that user's own id alone is written directly (for gids after "deny" to setgroups,
/// which the kernel requires then); any other goes through the setuid newuidmap/newgidmap
/// (the uidmap package), which check /etc/subuid and /etc/subgid.
fn write_id_maps(plan: &Plan<'_>, pid: i32) -> Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    let cfg = plan.cfg;
    let own_only = |maps: &[crate::config::IdMapping], id: u32| maps.len() == 1 && maps[0].size == 1 && maps[0].host_id == id;
    let rootless = euid != 0;
    if rootless && !own_only(&cfg.uid_mappings, euid) {
        map_tool("newuidmap", pid, &cfg.uid_mappings)?;
    } else {
        util::write_file("write uid_map", &format!("/proc/{pid}/uid_map"), &plan.uid_map)?;
    }
    if rootless && !own_only(&cfg.gid_mappings, egid) {
        map_tool("newgidmap", pid, &cfg.gid_mappings)
    } else {
        if rootless {
            util::write_file("write setgroups", &format!("/proc/{pid}/setgroups"), "deny")?;
        }
        util::write_file("write gid_map", &format!("/proc/{pid}/gid_map"), &plan.gid_map)
    }
}

/// `newuidmap PID ID HOST SIZE...` (or newgidmap); its own message on failure.
fn map_tool(tool: &str, pid: i32, maps: &[crate::config::IdMapping]) -> Result<()> {
    let mut cmd = std::process::Command::new(tool);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.container_id.to_string(), m.host_id.to_string(), m.size.to_string()]);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().map_err(|e| {
        InitError::sys(tool, pid.to_string(), crate::cgroups::fs::io_errno(&e))
            .with_detail("mappings beyond the caller's own id need it, from the uidmap package")
    })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(InitError::msg(tool, pid.to_string(), format!("{}: {said}", out.status)))
}

/// `release` for an exec-fifo init: Created, then our end closes; the init goes on to wait on
/// its fifo for `start`. Returns once it does, so that `create` fails when the init cannot get
/// there: opening the fifo allocates the pipe in the init's own memory cgroup, and a memory
/// limit too small for it gets the init OOM-killed (runc fails `create` the same way:
/// "container init was OOM-killed (memory limit too low?)").
pub(super) fn release(sync_fd: RawFd, pid: i32, memory_dir: Option<&str>) -> Result<()> {
    let sock = own_sync_fd(sync_fd)?;
    sync::send(sock.as_raw_fd(), &Message::Created)?;
    drop(sock);
    if pid > 0 {
        await_fifo_wait(pid, memory_dir)?;
    }
    Ok(())
}

/// How long `release` watches the init on its way into the fifo's open(2): it takes
/// microseconds; on a machine too loaded for that, `create` just returns.
const FIFO_WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits until the init sleeps in openat(2) (its only blocking open is the fifo's) or is gone.
/// /proc/<pid>/syscall names the system call a sleeping task is in; when it cannot be read
/// (no ptrace access), there is nothing to wait on.
fn await_fifo_wait(pid: i32, memory_dir: Option<&str>) -> Result<()> {
    let deadline = std::time::Instant::now() + FIFO_WAIT_LIMIT;
    let opens = [libc::SYS_openat, libc::SYS_open].map(|n| format!("{n} "));
    loop {
        let Some((_, state)) = crate::control::start_time(pid) else { return init_died(pid, memory_dir) };
        if state == 'Z' || state == 'X' {
            return init_died(pid, memory_dir);
        }
        if state == 'S' {
            match std::fs::read_to_string(format!("/proc/{pid}/syscall")) {
                Ok(sc) if opens.iter().any(|o| sc.starts_with(o.as_str())) => return Ok(()),
                Ok(_) => {}
                Err(_) => return Ok(()),
            }
        }
        if std::time::Instant::now() >= deadline {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
}

/// The error for an init that died on its way to the fifo (the caller reaps it).
fn init_died(pid: i32, memory_dir: Option<&str>) -> Result<()> {
    if let Some(e) = memory_dir.and_then(oom_killed) {
        return Err(e);
    }
    Err(InitError::msg("container init exited before it could wait for start", "", format!("pid {pid}")))
}

/// runc's error for an init killed by the OOM killer of its memory cgroup `dir`, if it was.
pub(super) fn oom_killed(dir: &str) -> Option<InitError> {
    // runc's words, whole: the step is the message.
    (oom_kills(dir) > 0).then(|| InitError::msg("container init was OOM-killed (memory limit too low?)", "", ""))
}

/// The oom_kill count of a memory cgroup (v1 memory.oom_control, v2 memory.events).
fn oom_kills(dir: &str) -> u64 {
    use crate::cgroups::fs::value_by_key;
    ["memory.oom_control", "memory.events"]
        .iter()
        .filter_map(|f| value_by_key(dir, f, "oom_kill").ok())
        .sum()
}

/// `start` for a run-mode init: Created and Start, then EOF (execve closed the CLOEXEC
/// socket) or Error.
pub(super) fn start(sync_fd: RawFd) -> Result<()> {
    let sock = own_sync_fd(sync_fd)?;
    sync::send(sock.as_raw_fd(), &Message::Created)?;
    sync::send(sock.as_raw_fd(), &Message::Start)?;
    match sync::recv(sock.as_raw_fd())? {
        None => Ok(()),
        Some(Message::Error(e)) => Err(e),
        Some(m) => Err(unexpected(&m, "EOF or Error")),
    }
}

fn own_sync_fd(sync_fd: RawFd) -> Result<OwnedFd> {
    if sync_fd < 0 {
        return Err(InitError::msg("start", "", "no sync socket"));
    }
    // SAFETY: the caller hands over the descriptor from Spawned; it is closed when dropped.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(sync_fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, InitOptions, Process};
    use nix::unistd::{fork, ForkResult};

    /// Runs `drive` against a forked stand-in for stage 1 that runs `child`.
    fn drive_against(child: impl FnOnce(RawFd)) -> InitError {
        let cfg = Config {
            process: Process {
                args: vec!["true".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let opts = InitOptions::default();
        let plan = Plan::new(&cfg, &opts).unwrap();
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        // SAFETY: the child only makes system calls and _exits.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                child(theirs.as_raw_fd());
                util::exit_now(0)
            }
            ForkResult::Parent { child } => {
                drop(theirs);
                let e = drive(&plan, ours, child.as_raw(), false, Vec::new()).unwrap_err();
                // Reaped: waiting again finds no such child.
                assert_eq!(wait_for(child.as_raw()), Err(Errno::ECHILD));
                e
            }
        }
    }

    #[test]
    fn silent_death_is_reported_with_the_status() {
        let e = drive_against(|_| util::exit_now(7));
        assert_eq!(e.step, "start the container init");
        assert_eq!(e.detail, "stage 1 exited with exit status 7 before it reported");
    }

    #[test]
    fn child_error_is_returned_as_is() {
        let sent = InitError::sys("setns", "/proc/1/ns/net", Errno::EPERM);
        let e = drive_against(|sock| {
            let _ = sync::send(sock, &Message::Error(sent.clone()));
            util::exit_now(1)
        });
        assert_eq!(e, InitError::sys("setns", "/proc/1/ns/net", Errno::EPERM));
    }

    #[test]
    fn console_without_terminal_is_a_protocol_error() {
        let e = drive_against(|sock| {
            let f = std::fs::File::open("/dev/null").unwrap();
            let _ = sync::send(sock, &Message::Console(f.as_raw_fd()));
            util::exit_now(0)
        });
        assert_eq!((e.step.as_str(), e.path.as_str()), ("sync", "Console"));
    }

    #[test]
    fn out_of_order_message_is_a_protocol_error() {
        let e = drive_against(|sock| {
            let _ = sync::send(sock, &Message::Ready);
            util::exit_now(0)
        });
        assert_eq!((e.step.as_str(), e.path.as_str()), ("sync", "Ready"));
    }
}
