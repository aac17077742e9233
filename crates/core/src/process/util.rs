//! Small helpers shared by the parent and the two child stages.
//!
//! Everything used in a child avoids locks that another thread of the parent could have held at
//! fork time: no stdout/stderr handles, no environment access, only system calls and memory
//! allocation (glibc's fork handlers keep malloc usable in the child).

use crate::error::{InitError, Result};
use crate::process::sync::{self, Message};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The errno of an io::Error (EIO when it has none).
pub(crate) fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Writes `contents` to an existing file in one write(2) (proc and cgroup files need that).
pub(crate) fn write_file(step: &str, path: &str, contents: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| InitError::sys(step, path, errno_of(&e)))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| InitError::sys(step, path, errno_of(&e)))
}

/// Moves `fd` to a number >= `min` (CLOEXEC), so that it can never be one of the descriptors
/// 3..3+preserve_fds that the container process inherits.
pub(crate) fn fd_at_least(fd: OwnedFd, min: RawFd, what: &str) -> Result<OwnedFd> {
    if fd.as_raw_fd() >= min {
        return Ok(fd);
    }
    let n = fcntl(fd.as_fd(), FcntlArg::F_DUPFD_CLOEXEC(min))
        .map_err(|e| InitError::sys("dup", what, e))?;
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// Sets the thread name shown by ps (15 bytes at most, prctl(2) PR_SET_NAME).
pub(crate) fn set_name(name: &CStr) -> Result<()> {
    nix::sys::prctl::set_name(name).map_err(|e| InitError::sys("prctl", "PR_SET_NAME", e))
}

/// The child inherits the forking thread's signal handlers (the JS runtime's, e.g. libuv's
/// SIGCHLD handler that writes to a pipe shared with the parent) and ignored signals (SIGPIPE),
/// and execve keeps ignored signals and the mask. Reset every disposition to the default and
/// then unblock everything, as posix_spawn's POSIX_SPAWN_SETSIGDEF does. The parent blocked all
/// signals around fork() so no handler can run in the child before this.
pub(crate) fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() + 1 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL; fails harmlessly (EINVAL) for glibc's reserved signals.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    unblock_all_signals();
}

pub(crate) fn unblock_all_signals() {
    // SAFETY: plain sigset manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Blocks every signal in the calling thread; returns the previous mask.
pub(crate) fn block_all_signals() -> libc::sigset_t {
    // SAFETY: plain sigset manipulation on local sets.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

pub(crate) fn restore_signal_mask(old: &libc::sigset_t) {
    // SAFETY: restoring a mask obtained from block_all_signals.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

/// Leaves a child without returning to the caller's code: no atexit handlers (the JS runtime's),
/// no destructors, no stdio flush.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

/// Reports a child failure to the parent and exits 1. When the parent is gone (an exec fifo
/// container after `create` returned), the one line goes to the container's stderr instead,
/// with a raw write(2): never through std's stderr lock.
pub(crate) fn fail(sock: RawFd, err: InitError) -> ! {
    if sync::send(sock, &Message::Error(err.clone())).is_err() {
        let line = format!("runts init: {err}\n");
        // SAFETY: writing a local buffer to fd 2.
        unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    }
    exit_now(1)
}

/// The error for a message that does not belong at this point of the protocol.
pub(crate) fn unexpected(msg: &Message, expected: &str) -> InitError {
    InitError::msg(
        "sync",
        msg.name(),
        format!("unexpected message, expected {expected}"),
    )
}

/// Describes a wait status for errors ("exit status 2", "signal 9 (SIGKILL)").
pub(crate) fn describe_status(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        match nix::sys::signal::Signal::try_from(sig) {
            Ok(s) => format!("signal {sig} ({})", s.as_str()),
            Err(_) => format!("signal {sig}"),
        }
    } else {
        format!("wait status {status:#x}")
    }
}

/// waitpid(pid, 0) retrying EINTR; the raw status.
pub(crate) fn wait_for(pid: i32) -> std::result::Result<libc::c_int, Errno> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 {
            return Ok(status);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// Closes every descriptor from `first` up except those in `keep`. Stage 1 calls it right after
/// the fork: the child holds copies of everything the JS runtime had open, including the
/// CLOEXEC ends of sync sockets that other threads are using for their own containers; kept
/// until our execve, such a copy would hide the EOF those threads wait for.
pub(crate) fn close_fds_except(first: RawFd, keep: &[RawFd]) {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|fd| *fd >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut lo = first;
    for k in keep.into_iter().chain(std::iter::once(-1)) {
        let hi = if k < 0 {
            libc::c_uint::MAX
        } else {
            (k - 1) as libc::c_uint
        };
        if k < 0 || k > lo {
            close_range(lo as libc::c_uint, hi);
        }
        if k < 0 {
            break;
        }
        lo = k + 1;
    }
}

fn close_range(lo: libc::c_uint, hi: libc::c_uint) {
    // SAFETY: closes descriptors of this (single-threaded, forked) process only.
    let r = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0 as libc::c_uint) };
    if r == 0 {
        return;
    }
    // Linux before 5.9: walk /proc/self/fd (collect first: closing while reading the directory
    // would close the directory's own descriptor).
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<RawFd> = dir
        .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd as libc::c_uint >= lo && fd as libc::c_uint <= hi {
            // SAFETY: as above.
            unsafe { libc::close(fd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_open(fd: RawFd) -> bool {
        // SAFETY: F_GETFD on a number; EBADF when closed.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    /// In a forked child, so the test process keeps its descriptors.
    #[test]
    fn close_fds_except_keeps_only_the_listed() {
        let files: Vec<std::fs::File> = (0..6)
            .map(|_| std::fs::File::open("/dev/null").unwrap())
            .collect();
        let mut fds: Vec<RawFd> = files.iter().map(|f| f.as_raw_fd()).collect();
        fds.sort_unstable(); // other test threads may free lower numbers between the opens
                             // SAFETY: the child only makes system calls and _exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                close_fds_except(fds[1], &[fds[2], fds[4], fds[0]]);
                let ok = is_open(0)
                    && is_open(fds[0]) // below `first`
                    && !is_open(fds[1])
                    && is_open(fds[2])
                    && !is_open(fds[3])
                    && is_open(fds[4])
                    && !is_open(fds[5]);
                exit_now(if ok { 0 } else { 1 });
            }
            nix::unistd::ForkResult::Parent { child } => {
                let st = wait_for(child.as_raw()).unwrap();
                assert_eq!(describe_status(st), "exit status 0");
            }
        }
    }
}
