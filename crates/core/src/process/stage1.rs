//! Stage 1, `runts:[1:CHILD]`: the init program started by the runtime (bootstrap.rs). It moves into the namespaces
//! (joining, then creating: user first, so its maps and privileges govern the rest), then
//! creates the container init with clone(CLONE_PARENT) so that the init is a child of the
//! runtime and pid 1 of the new pid namespace, reports the init's pid and exits.
//!
//! Runs single-threaded in its own small address space; never returns to the caller.

use super::init;
use super::plan::Plan;
use super::fds::close_fds_except;
use super::signals::reset_signals;
use super::util::{exit_now, fail, set_name, unexpected, write_file};
use crate::error::{InitError, Result};
use crate::namespaces::NAMESPACES;
use crate::process::sync::{self, Message};
use nix::errno::Errno;
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::Signal;
use nix::unistd::{setresgid, setresuid, Gid, Uid};
use std::os::fd::{AsRawFd, RawFd};

pub(super) fn run(mut plan: Plan<'_>, sock: RawFd) -> ! {
    match stage1(&mut plan, sock) {
        Ok(()) => exit_now(0),
        Err(e) => fail(sock, e),
    }
}

fn stage1(plan: &mut Plan<'_>, sock: RawFd) -> Result<()> {
    reset_signals();
    // Keep stdio, the preserved descriptors 3..min_fd, and ours.
    let mut keep: Vec<RawFd> = plan.joins.iter().map(|(fd, _)| fd.as_raw_fd()).collect();
    keep.push(sock);
    keep.extend(plan.fifo.as_ref().map(|f| f.as_raw_fd()));
    close_fds_except(plan.min_fd, &keep);
    set_name(c"runts:[1:CHILD]")?;
    // Die with the runtime. PDEATHSIG follows the forking *thread*; create() blocks that thread
    // until the init is Ready, so it cannot exit under us.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|e| InitError::sys("prctl", "PR_SET_PDEATHSIG", e))?;
    if nix::unistd::getppid().as_raw() != plan.parent_pid {
        exit_now(1); // the runtime died before PDEATHSIG was armed
    }

    let cfg = plan.cfg;
    // execCPUAffinity.initial: where the init runs until the process gets `final`.
    if let Some(initial) = cfg.process.exec_cpu_affinity.as_ref().and_then(|a| a.initial.as_deref()) {
        crate::sched::set_affinity(initial)?;
    }
    // Before the user namespace, with the runtime's credentials: lowering oom_score_adj needs
    // CAP_SYS_RESOURCE in the initial namespace (runc's nsexec does this in stage 0 too).
    if let Some(adj) = cfg.process.oom_score_adj {
        write_file(
            "write oom_score_adj",
            "/proc/self/oom_score_adj",
            &adj.to_string(),
        )?;
    }

    // Join existing namespaces, user first (plan order). The descriptors are closed right away
    // so that the init never holds a host namespace.
    for (fd, join) in plan.joins.drain(..) {
        setns(&fd, join.flag).map_err(|e| InitError::sys("setns", join.path.as_str(), e))?;
    }

    let create = plan.ns.create;
    if create.contains(CloneFlags::CLONE_NEWUSER) {
        // The user namespace is unshared alone and mapped before the others are created, so
        // they are owned by it (runc nsexec: unsharing everything at once has given wrongly
        // owned namespaces, e.g. mqueue's SELinux label).
        unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| InitError::sys("unshare", "user", e))?;
        sync::send(sock, &Message::UsernsReady)?;
        match sync::recv(sock)? {
            Some(Message::MapsWritten) => {}
            None => exit_now(1),
            Some(m) => return Err(unexpected(&m, "MapsWritten")),
        }
        // Become root of the new namespace (the runtime's uid 0 is not mapped in it).
        setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .map_err(|e| unmapped(e, "setresgid", "gid"))?;
        setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
            .map_err(|e| unmapped(e, "setresuid", "uid"))?;
    }

    // The cgroup namespace is unshared by the init itself, once the runtime has moved it into
    // the container's cgroup (runc's order), so that the namespace is rooted there.
    let rest = create - CloneFlags::CLONE_NEWUSER - CloneFlags::CLONE_NEWCGROUP;
    if !rest.is_empty() {
        unshare(rest).map_err(|e| InitError::sys("unshare", flag_names(rest), e))?;
    }
    // The new time namespace's offsets: written before any process enters it (the init, by
    // the clone below), as time_namespaces(7) requires; through our own /proc, in the host's
    // mount namespace still.
    if !cfg.time_offsets.is_empty() {
        let text: String = cfg
            .time_offsets
            .iter()
            .map(|o| format!("{} {} {}\n", o.clock, o.secs, o.nanosecs))
            .collect();
        write_file("write timens_offsets", "/proc/self/timens_offsets", &text)?;
    }

    // clone(2) with fork semantics (no new stack): safe because this process has one thread.
    // CLONE_PARENT makes the init a child of the runtime (runc's nsexec does the same), which
    // reaps it; CLONE_NEWPID was unshared above, so the child is pid 1 of the new namespace
    // and the return value is its pid in ours, which is the runtime's.
    let flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: raw clone without CLONE_VM: the child gets a copy of this address space and
    // continues below like after fork().
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if pid < 0 {
        return Err(InitError::sys("clone", "", Errno::last()).with_detail("CLONE_PARENT"));
    }
    if pid == 0 {
        init::run(plan, sock);
    }
    sync::send(sock, &Message::InitPid(pid as i32))?;
    Ok(())
}

fn unmapped(e: Errno, step: &str, what: &str) -> InitError {
    let err = InitError::sys(step, "0", e);
    if e == Errno::EINVAL {
        err.with_detail(format!("{what} 0 is not mapped in the new user namespace"))
    } else {
        err
    }
}

/// "mount+uts+pid" for the flags in `f`.
fn flag_names(f: CloneFlags) -> String {
    NAMESPACES
        .iter()
        .filter(|(_, flag, _)| f.contains(*flag))
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join("+")
}
