//! What a step does besides its system call: write a proc or cgroup file in one write(2), name
//! the process for ps, and report a failure (to the parent, or as a last resort to stderr) and
//! exit. Descriptors are in [`super::fds`], signal dispositions in [`super::signals`], wait
//! statuses in [`super::status`].
//!
//! The children are single-threaded programs of their own (the init program): they write their
//! errors to the parent, or with raw write(2) to stderr, never through std's stdio.

use crate::error::{InitError, Result};
use crate::process::sync::{self, Message};
use nix::errno::Errno;
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::RawFd;

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

/// Sets the thread name shown by ps (15 bytes at most, prctl(2) PR_SET_NAME).
pub(crate) fn set_name(name: &CStr) -> Result<()> {
    nix::sys::prctl::set_name(name).map_err(|e| InitError::sys("prctl", "PR_SET_NAME", e))
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
