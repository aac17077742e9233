//! sd_notify through a container (runc's notify_socket.go): with `NOTIFY_SOCKET` in the
//! runtime's environment, the container gets a datagram socket of its own (bound here, in the
//! state directory, and bind-mounted at /run/notify by the TypeScript side), and the runtime
//! relays the container's `READY=` to the host's socket with `MAINPID=` of the init, as
//! runc 1.1 does. (runc 1.2 then waits up to 30 s for an sd_notify_barrier(3) acknowledgement;
//! podman 4.3's proxy stops reading at READY=1, so that wait would only delay `start`.)

use crate::error::{InitError, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{bind, connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// How often the relay checks that the init still lives (runc: every 100 ms).
const TICK_MS: u16 = 100;
fn addr_of(path: &str) -> Result<UnixAddr> {
    // "@name": the abstract namespace (systemd's notify sockets often are).
    match path.strip_prefix('@') {
        Some(name) => UnixAddr::new_abstract(std::ffi::OsStr::new(name).as_bytes()),
        None => UnixAddr::new(path),
    }
    .map_err(|e| InitError::sys("notify socket", path, e))
}

/// Binds the container's notify socket at `path` (a datagram socket, mode 0777 so that a
/// container user of any uid can send to it, as runc's); an old socket file is replaced.
pub fn bind_socket(path: &str) -> Result<OwnedFd> {
    let step = "bind notify socket";
    let sock = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| InitError::sys(step, path, e))?;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(InitError::sys(step, path, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))));
        }
        _ => {}
    }
    bind(sock.as_raw_fd(), &addr_of(path)?).map_err(|e| InitError::sys(step, path, e))?;
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        path,
        nix::sys::stat::Mode::from_bits_truncate(0o777),
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .map_err(|e| InitError::sys("chmod notify socket", path, e))?;
    Ok(sock)
}

/// What the relay ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    /// READY= reached the host.
    Ready,
    /// The init exited first: nothing was sent.
    InitGone,
}

/// Waits for the container's `READY=` datagram on `listener` and relays it to `host`, with
/// `MAINPID=<pid>`; returns when that is done or once the init (`alive`) is gone. Blocks:
/// call it from a worker thread.
pub fn relay(listener: BorrowedFd<'_>, host: &str, pid: i32, alive: impl Fn() -> bool) -> Result<Relayed> {
    let client = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| InitError::sys("connect notify socket", host, e))?;
    connect(client.as_raw_fd(), &addr_of(host)?).map_err(|e| InitError::sys("connect notify socket", host, e))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let mut fds = [PollFd::new(listener, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(TICK_MS)) {
            Ok(0) | Err(Errno::EINTR) => {
                if !alive() {
                    return Ok(Relayed::InitGone);
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => return Err(InitError::sys("poll notify socket", "", e)),
        }
        let n = match recv(listener.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
            Ok(n) => n,
            Err(Errno::EINTR | Errno::EAGAIN) => continue,
            Err(e) => return Err(InitError::sys("read notify socket", "", e)),
        };
        let got = &buf[..n];
        // runc: a datagram that starts with READY= is relayed, its first line only.
        if !got.starts_with(b"READY=") {
            continue;
        }
        let line = got.split(|b| *b == b'\n').next().unwrap_or(got);
        let write = |msg: &[u8]| {
            send(client.as_raw_fd(), msg, MsgFlags::MSG_NOSIGNAL).map_err(|e| InitError::sys("notify host", host, e))
        };
        write(&[line, b"\n"].concat())?;
        write(format!("MAINPID={pid}\n").as_bytes())?;
        return Ok(Relayed::Ready);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn relays_ready_with_mainpid() {
        let dir = std::env::temp_dir().join(format!("runts-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ours = dir.join("c.sock").to_string_lossy().into_owned();
        let host_path = dir.join("host.sock").to_string_lossy().into_owned();
        let listener = bind_socket(&ours).unwrap();
        let host = bind_socket(&host_path).unwrap();
        // The container: a status line first (ignored), then READY with more lines.
        let c = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None).unwrap();
        connect(c.as_raw_fd(), &UnixAddr::new(ours.as_str()).unwrap()).unwrap();
        send(c.as_raw_fd(), b"STATUS=starting", MsgFlags::empty()).unwrap();
        send(c.as_raw_fd(), b"READY=1\nSTATUS=up", MsgFlags::empty()).unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            for _ in 0..2 {
                let n = recv(host.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            (got, host)
        });
        let r = relay(listener.as_fd(), &host_path, 42, || true).unwrap();
        assert_eq!(r, Relayed::Ready);
        let (got, _host) = reader.join().unwrap();
        assert_eq!(got, ["READY=1\n", "MAINPID=42\n"]);
        let gone = relay(listener.as_fd(), &host_path, 42, || false).unwrap();
        assert_eq!(gone, Relayed::InitGone);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
