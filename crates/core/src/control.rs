//! Controlling an existing container's init from a later runtime invocation (`start`, `kill`,
//! `delete`, `state`): the init is no longer our child, and its pid may have been recycled.
//!
//! Every call that targets the init goes through a pidfd opened for the recorded pid and then
//! checked against the recorded start time (field 22 of /proc/<pid>/stat): a pidfd pins the
//! process it was opened for, so once the check passes, a signal sent through it cannot reach
//! a newer process that reused the pid.

use crate::error::{InitError, Result, StepExt};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// Field 22 of /proc/<pid>/stat (start time in clock ticks), or None when there is no such
/// process. A zombie still has its start time; callers check the state letter separately.
pub fn start_time(pid: i32) -> Option<(u64, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and ')': the fixed fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((start, state))
}

/// A pidfd for `pid` if it is still the process that started at `start`, not a zombie.
fn open_init(pid: i32, start: u64) -> Result<Option<OwnedFd>> {
    if pid <= 0 {
        return Ok(None);
    }
    // SAFETY: plain syscall; the returned fd is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return match Errno::last() {
            Errno::ESRCH => Ok(None),
            e => Err(InitError::sys("pidfd_open", format!("pid {pid}"), e)),
        };
    }
    // SAFETY: fd was just returned by pidfd_open and is owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Checked after opening: if the start time matches now, the pidfd refers to that process.
    Ok(init_alive(pid, start).then_some(pidfd))
}

/// Whether the recorded init still runs (not exited, not a zombie, not a recycled pid).
pub fn init_alive(pid: i32, start: u64) -> bool {
    matches!(start_time(pid), Some((t, s)) if t == start && s != 'Z' && s != 'X')
}

/// Sends `sig` to the recorded init. Returns false when it is gone (nothing was signalled).
pub fn signal_init(pid: i32, start: u64, sig: i32) -> Result<bool> {
    let Some(pidfd) = open_init(pid, start)? else { return Ok(false) };
    // SAFETY: pidfd is a valid pidfd; a null siginfo means "as kill(2)".
    let r = unsafe {
        libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, std::ptr::null::<u8>(), 0)
    };
    if r < 0 {
        return match Errno::last() {
            Errno::ESRCH => Ok(false),
            e => Err(InitError::sys("pidfd_send_signal", format!("pid {pid}"), e)),
        };
    }
    Ok(true)
}

/// Waits until the recorded init has exited (or become a zombie), at most `timeout_ms`.
/// Returns whether it is gone.
pub fn wait_gone(pid: i32, start: u64, timeout_ms: u32) -> Result<bool> {
    let Some(pidfd) = open_init(pid, start)? else { return Ok(true) };
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) if left.is_zero() => return Ok(false),
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(InitError::sys("poll", format!("pidfd of pid {pid}"), e)),
        }
    }
}

/// `start` of a created container: opens its exec.fifo for reading, which lets the waiting
/// init (blocked opening it for writing) go on; the init writes one byte and execs. The
/// write end is close-on-exec, so EOF after the byte means execve succeeded; anything the
/// init writes after the byte is its exec error. Unlike runc 1.1 (whose `start` blocks
/// forever on the fifo when the init is gone), a dead init is noticed through its pidfd.
pub fn start_fifo(path: &str, pid: i32, start: u64, timeout_ms: u32) -> Result<()> {
    let Some(pidfd) = open_init(pid, start)? else {
        return Err(InitError::msg("start", path, "the container's init is not running"));
    };
    // O_NONBLOCK: opening the read end must not wait for a writer that may never come.
    let fifo = open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
        .step("open", path)?;
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
    let mut got: Vec<u8> = Vec::new();
    loop {
        let mut buf = [0u8; 512];
        match nix::unistd::read(&fifo, &mut buf) {
            Ok(0) if !got.is_empty() => break,
            Ok(0) => {} // no writer yet (or any more): wait below
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                continue;
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(e) => return Err(InitError::sys("read", path, e)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(InitError::msg("start", path, "timed out waiting for the container's init"));
        }
        let ms = u16::try_from(left.as_millis().min(100)).unwrap_or(100);
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) => {
                let init_gone = fds[1].revents().is_some_and(|r| !r.is_empty());
                let readable = fds[0].revents().is_some_and(|r| !r.is_empty());
                if init_gone && !readable {
                    // One last read: the init may have written and exited in between.
                    if let Ok(n) = nix::unistd::read(&fifo, &mut buf) {
                        got.extend_from_slice(&buf[..n]);
                    }
                    if got.is_empty() {
                        return Err(InitError::msg("start", path, "the container's init exited before start"));
                    }
                    break;
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(InitError::sys("poll", path, e)),
        }
    }
    if got.first() != Some(&b'0') {
        return Err(InitError::msg("start", path, "unexpected data from the container's init"));
    }
    if got.len() > 1 {
        // The init's exec error, already formatted (step, path, errno).
        let msg = String::from_utf8_lossy(&got[1..]).trim().to_string();
        return Err(InitError::msg("exec", "", msg));
    }
    Ok(())
}

/// Takes an exclusive flock on `path` (a container's state directory), waiting at most
/// `timeout_ms`; returns the descriptor that holds it (closing it, or exiting, releases it).
pub fn lock(path: &str, timeout_ms: u32) -> Result<RawFd> {
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .step("open", path)?;
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            let raw = fd.as_raw_fd();
            std::mem::forget(fd);
            return Ok(raw);
        }
        match Errno::last() {
            Errno::EWOULDBLOCK | Errno::EINTR => {}
            e => return Err(InitError::sys("flock", path, e)),
        }
        if Instant::now() >= deadline {
            return Err(InitError::msg("flock", path, "timed out waiting for another runts on this container"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `--pidfd-socket`: sends a pidfd of the recorded init to the AF_UNIX socket at `socket`
/// with SCM_RIGHTS (runc 1.2's flag; the receiver can then wait for and signal the init
/// without pid races).
pub fn send_pidfd(socket: &str, pid: i32, start: u64) -> Result<()> {
    use nix::sys::socket::{connect, sendmsg, socket as mksocket, AddressFamily, ControlMessage};
    use nix::sys::socket::{MsgFlags, SockFlag, SockType, UnixAddr};
    let Some(pidfd) = open_init(pid, start)? else {
        return Err(InitError::msg("send pidfd", socket, "the container's init is not running"));
    };
    let sock = mksocket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .step("socket", socket)?;
    let addr = UnixAddr::new(socket).step("connect", socket)?;
    connect(sock.as_raw_fd(), &addr).step("connect", socket)?;
    let fds = [pidfd.as_raw_fd()];
    let name = format!("pidfd:{pid}");
    let iov = [std::io::IoSlice::new(name.as_bytes())];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
        .step("sendmsg", socket)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_self_and_of_nobody() {
        let me = std::process::id() as i32;
        let (t, state) = start_time(me).expect("own stat");
        assert!(t > 0);
        assert!(state == 'R' || state == 'S');
        assert!(init_alive(me, t));
        assert!(!init_alive(me, t + 1), "a different start time is another process");
        assert!(start_time(i32::MAX).is_none());
    }

    #[test]
    fn signal_init_refuses_a_recycled_pid() {
        let me = std::process::id() as i32;
        let (t, _) = start_time(me).unwrap();
        // Signal 0 checks deliverability only.
        assert!(signal_init(me, t, 0).unwrap());
        assert!(!signal_init(me, t + 1, 0).unwrap());
    }

    #[test]
    fn lock_is_exclusive_between_descriptors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().to_str().unwrap();
        let fd = lock(p, 100).unwrap();
        let err = lock(p, 30).unwrap_err();
        assert_eq!(err.step, "flock");
        nix::unistd::close(fd).unwrap();
        let fd2 = lock(p, 100).unwrap();
        nix::unistd::close(fd2).unwrap();
    }
}
