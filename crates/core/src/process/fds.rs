//! The descriptors of the child stages: keep the runtime's own above those the container
//! inherits, and close everything else stage 1 inherited.

use crate::error::{InitError, Result};
use nix::fcntl::{fcntl, FcntlArg};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

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

/// Closes every descriptor from `first` up except those in `keep`. Stage 1 calls it right after
/// it starts: the runtime's descriptors without close-on-exec survive posix_spawn (what the
/// caller passed the runtime beyond stdio and --preserve-fds, a JS runtime's own); kept until
/// the init's execve, such a copy could hide an EOF another process waits for.
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
    // SAFETY: closes descriptors of this (single-threaded) process only.
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
    use crate::process::status::{describe_status, wait_for};
    use crate::process::util::exit_now;

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
