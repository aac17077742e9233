//! Waiting for our own children and describing how they ended.

use nix::errno::Errno;

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
