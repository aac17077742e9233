//! The last steps of the init: finding the executable, the descriptors the process inherits,
//! the exec fifo, execve.

use crate::error::{InitError, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, open, FcntlArg, FdFlag, OFlag};
use nix::sys::stat::{stat, Mode, SFlag};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// Resolves args[0] like Go's exec.LookPath (what runc uses): a name with a slash is used as
/// is; otherwise each non-empty PATH entry is tried and the first regular, executable file
/// wins. Done before Ready, so "not found" is a `create` error, as with runc.
pub(crate) fn lookup(arg0: &str, path_env: Option<&str>) -> Result<CString> {
    let to_c =
        |p: &str| CString::new(p).map_err(|_| InitError::msg("exec", p, "contains a NUL byte"));
    if arg0.contains('/') {
        executable(arg0).map_err(|e| InitError::sys("exec", arg0, e))?;
        return to_c(arg0);
    }
    // Go's LookPath also treats an empty entry as "."; since Go 1.19 such a relative result is
    // an error (ErrDot), so empty entries are skipped.
    for dir in path_env.unwrap_or("").split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{}/{arg0}", dir.trim_end_matches('/'));
        if executable(&candidate).is_ok() {
            return to_c(&candidate);
        }
    }
    Err(InitError::sys("exec", arg0, Errno::ENOENT)
        .with_detail("executable file not found in $PATH"))
}

/// Go's findExecutable plus the eaccess check runc adds (catches noexec mounts): a regular
/// file with an x bit that the effective ids may execute.
fn executable(path: &str) -> std::result::Result<(), Errno> {
    let st = stat(path)?;
    if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR {
        return Err(Errno::EACCES);
    }
    if st.st_mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    let c = CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a valid C string; faccessat only reads it.
    let r = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::X_OK, libc::AT_EACCESS) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Leaves exactly 0, 1, 2 and the preserved 3..3+n to the process: everything from 3+n up
/// becomes close-on-exec (it may be a descriptor the JS runtime opened without O_CLOEXEC:
/// CVE-2024-21626 was such a leaked host directory), and the preserved ones lose
/// close-on-exec (the caller's descriptors usually have it; runc passes them as ExtraFiles), as
/// do 0, 1 and 2.
/// The sync socket and the fifo were placed above 3+n by the parent and stay usable until
/// execve closes them.
pub(crate) fn prepare_fds(preserve: u32) -> Result<()> {
    let first = 3 + preserve;
    // SAFETY: close_range(2) with flags only changes descriptor flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r < 0 {
        // Linux before 5.11: walk /proc/self/fd.
        let dir = std::fs::read_dir("/proc/self/fd").map_err(|e| {
            InitError::sys("close_range", "/proc/self/fd", super::util::errno_of(&e))
        })?;
        let fds: Vec<RawFd> = dir
            .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        for fd in fds.into_iter().filter(|fd| *fd >= first as RawFd) {
            set_cloexec(fd, true);
        }
    }
    // Stdio too: Node marks its own 0, 1 and 2 close-on-exec at startup, so without this the
    // process would start with no stdin, stdout or stderr.
    for fd in 0..first as RawFd {
        set_cloexec(fd, false);
    }
    Ok(())
}

fn set_cloexec(fd: RawFd, on: bool) {
    // SAFETY: only flag changes; a closed descriptor gives EBADF, which is fine.
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    if let Ok(bits) = fcntl(b, FcntlArg::F_GETFD) {
        let mut flags = FdFlag::from_bits_truncate(bits);
        flags.set(FdFlag::FD_CLOEXEC, on);
        let _ = fcntl(b, FcntlArg::F_SETFD(flags));
    }
}

fn fifo_path(fifo: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fifo.as_raw_fd())
}

/// Checks before Ready that the fifo can be reached through /proc (the container needs /proc
/// mounted, as with runc), so that a missing /proc is a `create` error instead of a failure
/// after the runtime has gone.
pub(crate) fn check_fifo(fifo: &OwnedFd) -> Result<()> {
    let path = fifo_path(fifo);
    stat(path.as_str())
        .map(drop)
        .map_err(|e| InitError::sys("open exec fifo", path.as_str(), e))
}

/// Waits for `start`: opens the fifo for writing through the O_PATH descriptor (blocks until
/// a reader opens it) and writes one byte (runc's exec.fifo protocol). The write end is
/// returned open and close-on-exec: `start` reads EOF once execve succeeded, or the exec
/// error written to it (runc 1.1 loses that error: its `start` has already returned).
pub(crate) fn wait_fifo(fifo: &OwnedFd) -> Result<OwnedFd> {
    let path = fifo_path(fifo);
    let fd = loop {
        match open(
            path.as_str(),
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Err(Errno::EINTR) => continue,
            r => break r.map_err(|e| InitError::sys("open exec fifo", path.as_str(), e))?,
        }
    };
    nix::unistd::write(&fd, b"0")
        .map_err(|e| InitError::sys("write exec fifo", path.as_str(), e))?;
    Ok(fd)
}

/// execve(2); returns only with its error.
pub(crate) fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> InitError {
    let e = match nix::unistd::execve(path, argv, envp) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    InitError::sys("exec", path.to_string_lossy(), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_follows_path() {
        let p = lookup("sh", Some("/nonexistent::/bin:/usr/bin")).unwrap();
        assert!(p.to_str().unwrap().ends_with("/sh"));
        let e = lookup("no-such-binary-xyz", Some("/bin:/usr/bin")).unwrap_err();
        assert_eq!(
            (e.step.as_str(), e.path.as_str()),
            ("exec", "no-such-binary-xyz")
        );
        assert_eq!(e.errno, libc::ENOENT);
        assert_eq!(e.detail, "executable file not found in $PATH");
        assert!(lookup("sh", None).is_err());
    }

    #[test]
    fn lookup_skips_directories_and_non_executables() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_str().unwrap();
        std::fs::create_dir(d.path().join("tool")).unwrap();
        std::fs::write(d.path().join("data"), "x").unwrap();
        assert!(lookup("tool", Some(dir)).is_err());
        assert!(lookup("data", Some(dir)).is_err());
        let e = lookup(&format!("{dir}/data"), None).unwrap_err();
        assert_eq!(e.errno, libc::EACCES);
        let e = lookup(&format!("{dir}/missing"), None).unwrap_err();
        assert_eq!(e.errno, libc::ENOENT);
        assert_eq!(
            lookup("/bin/sh", None).unwrap().to_str().unwrap(),
            "/bin/sh"
        );
    }
}
