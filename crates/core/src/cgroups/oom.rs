//! Waiting for OOM kills in the container's cgroup (what `runc events` reports as "oom"):
//! - v1: an eventfd registered for `memory.oom_control` through `cgroup.event_control`; the
//!   kernel signals it on every OOM, and once more when the cgroup is removed
//!   (runc libcontainer/notify_linux.go).
//! - v2: inotify on `memory.events` (an increase of `oom_kill` is an OOM kill) and on
//!   `cgroup.events` ("populated 0": the container is gone) (runc notify_v2_linux.go).

use super::fs;
use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomEvent {
    /// An OOM kill happened in the cgroup.
    Oom,
    /// Nothing within the timeout.
    Timeout,
    /// The cgroup is gone or has no process left: no more events will come.
    Gone,
}

impl OomEvent {
    pub fn as_str(&self) -> &'static str {
        match self {
            OomEvent::Oom => "oom",
            OomEvent::Timeout => "timeout",
            OomEvent::Gone => "gone",
        }
    }
}

pub enum OomWatcher {
    V1 {
        efd: OwnedFd,
        _control: std::fs::File,
        dir: String,
    },
    V2 {
        ino: OwnedFd,
        events_wd: i32,
        cg_wd: i32,
        dir: String,
        seen: Mutex<u64>,
    },
}

fn sys(step: &str, path: &str) -> InitError {
    InitError::sys(step, path, Errno::last())
}

/// Waits until `fd` is readable or the deadline passes; false on timeout.
fn poll_in(fd: i32, deadline: Option<Instant>) -> Result<bool> {
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(false);
                }
                left.as_millis().min(i32::MAX as u128) as i32
            }
        };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return Err(sys("poll", "oom watcher"));
        }
        if r > 0 {
            return Ok(true);
        }
    }
}

impl OomWatcher {
    /// Registers an eventfd for OOM notifications of the v1 memory cgroup `dir`.
    pub fn v1(dir: &str) -> Result<OomWatcher> {
        // SAFETY: plain syscall; the result is checked.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(sys("eventfd", dir));
        }
        // SAFETY: a new descriptor owned by us.
        let efd = unsafe { OwnedFd::from_raw_fd(efd) };
        let control_path = fs::join(dir, "memory.oom_control");
        let control = std::fs::File::open(&control_path)
            .map_err(|e| fs::io_err("open", &control_path, &e))?;
        fs::write_file(
            dir,
            "cgroup.event_control",
            &format!("{} {}", efd.as_raw_fd(), control.as_raw_fd()),
        )?;
        Ok(OomWatcher::V1 {
            efd,
            _control: control,
            dir: dir.to_string(),
        })
    }

    /// Watches `memory.events` and `cgroup.events` of the v2 cgroup `dir`; OOM kills before
    /// this call are not reported.
    pub fn v2(dir: &str) -> Result<OomWatcher> {
        // SAFETY: plain syscall; the result is checked.
        let ino = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if ino < 0 {
            return Err(sys("inotify_init1", dir));
        }
        // SAFETY: a new descriptor owned by us.
        let ino = unsafe { OwnedFd::from_raw_fd(ino) };
        let add = |file: &str| -> Result<i32> {
            let p = std::ffi::CString::new(fs::join(dir, file)).unwrap();
            // SAFETY: valid fd and C string.
            let wd =
                unsafe { libc::inotify_add_watch(ino.as_raw_fd(), p.as_ptr(), libc::IN_MODIFY) };
            if wd < 0 {
                Err(sys("inotify_add_watch", &fs::join(dir, file)))
            } else {
                Ok(wd)
            }
        };
        let events_wd = add("memory.events")?;
        let cg_wd = add("cgroup.events")?;
        let seen = fs::value_by_key(dir, "memory.events", "oom_kill")?;
        Ok(OomWatcher::V2 {
            ino,
            events_wd,
            cg_wd,
            dir: dir.to_string(),
            seen: Mutex::new(seen),
        })
    }

    /// Waits at most `timeout` (None: forever) for the next OOM kill.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<OomEvent> {
        let deadline = timeout.map(|t| Instant::now() + t);
        match self {
            OomWatcher::V1 { efd, dir, .. } => {
                if !poll_in(efd.as_raw_fd(), deadline)? {
                    return Ok(OomEvent::Timeout);
                }
                let mut buf = [0u8; 8];
                // SAFETY: reading 8 bytes into an 8-byte buffer.
                let n = unsafe { libc::read(efd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                if n != 8 {
                    return Err(sys("read eventfd", dir));
                }
                // The eventfd also fires when the cgroup is removed.
                if !fs::exists(&fs::join(dir, "cgroup.event_control")) {
                    return Ok(OomEvent::Gone);
                }
                Ok(OomEvent::Oom)
            }
            OomWatcher::V2 {
                ino,
                events_wd,
                cg_wd,
                dir,
                seen,
            } => loop {
                // Check first: a kill may have come before this wait.
                match fs::value_by_key(dir, "memory.events", "oom_kill") {
                    Ok(n) => {
                        let mut s = seen.lock().unwrap();
                        if n > *s {
                            *s = n;
                            return Ok(OomEvent::Oom);
                        }
                    }
                    Err(_) => return Ok(OomEvent::Gone),
                }
                if fs::value_by_key(dir, "cgroup.events", "populated")
                    .map(|p| p == 0)
                    .unwrap_or(true)
                {
                    return Ok(OomEvent::Gone);
                }
                if !poll_in(ino.as_raw_fd(), deadline)? {
                    return Ok(OomEvent::Timeout);
                }
                // Drain the queue; the files are re-read at the top of the loop.
                let mut buf = [0u8; 4096];
                // SAFETY: reading into a buffer of the given size.
                let n = unsafe { libc::read(ino.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 && Errno::last() != Errno::EAGAIN {
                    return Err(sys("read inotify", dir));
                }
                let _ = (events_wd, cg_wd);
            },
        }
    }
}
