//! Terminals for `process.terminal`: the pty the init opens inside the container, passing its
//! master over a unix socket (runc's `--console-socket` protocol), and the proxy that a
//! foreground `run` puts between the caller's terminal and the master.
//!
//! runc's model, followed here:
//! - the init opens `/dev/ptmx` *after* pivot_root, so the pty belongs to the container's own
//!   devpts instance (`newinstance,ptmxmode=0666`; `/dev/ptmx -> pts/ptmx`), binds the slave
//!   onto `/dev/console`, makes it the controlling terminal and stdio 0-2, and sends the master
//!   to the runtime ([`crate::process::sync::Message::Console`]);
//! - with `--console-socket PATH` the runtime sends the master on to a `SOCK_STREAM` connection
//!   to PATH in one `sendmsg`: the payload is the master's name as runc sends it
//!   (containerd/console's `f.Name()`, i.e. `/dev/ptmx`) and the descriptor travels with
//!   SCM_RIGHTS (runc `libcontainer/utils.SendFd`); receivers such as containerd's shim and
//!   runc's `contrib/cmd/recvtty` use only the descriptor;
//! - in a foreground `run` the runtime copies between its stdio and the master itself, with the
//!   host terminal in raw mode (output post-processing kept on, ONLCR cleared on the pty so that
//!   line ends are translated once: runc's `tty.recvtty` with containerd/console's `SetRaw`).

use crate::error::{InitError, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    connect, recvmsg, sendmsg, socket, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType, UnixAddr,
};
use nix::sys::termios::{self, OutputFlags, SetArg, Termios};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The name sent with the master: what runc sends (the path containerd/console opened).
pub const MASTER_NAME: &str = "/dev/ptmx";

/// runc's `utils.MaxNameLen`: receivers read at most this many bytes of name.
const MAX_NAME_LEN: usize = 4096;

/// A pty pair opened in the current mount namespace.
#[derive(Debug)]
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// "/dev/pts/N" in the devpts instance that `/dev/ptmx` belongs to.
    pub slave_path: String,
}

fn ioctl_int(fd: BorrowedFd<'_>, req: libc::c_ulong, arg: libc::c_int, step: &str) -> Result<()> {
    // SAFETY: an ioctl whose argument is an integer value, on a descriptor we borrow.
    if unsafe { libc::ioctl(fd.as_raw_fd(), req as _, arg) } < 0 {
        return Err(InitError::sys(step, "", Errno::last()));
    }
    Ok(())
}

/// Opens `/dev/ptmx` (O_NOCTTY: the init takes the terminal explicitly with TIOCSCTTY),
/// unlocks the slave and opens it. The slave is opened with TIOCGPTPEER (Linux 4.13), from the
/// master itself rather than by path, so no other devpts mount can be substituted; the path
/// is still returned for the /dev/console bind mount.
pub fn open_pty() -> Result<Pty> {
    let master = nix::fcntl::open(
        "/dev/ptmx",
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| InitError::sys("open", "/dev/ptmx", e))?;
    // unlockpt(3)
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int through the pointer.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK as _, &unlock) } < 0 {
        return Err(InitError::sys("unlockpt", "/dev/ptmx", Errno::last()));
    }
    // ptsname(3) without glibc's stat of the result.
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes an unsigned int through the pointer.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN as _, &mut n) } < 0 {
        return Err(InitError::sys("ptsname", "/dev/ptmx", Errno::last()));
    }
    let slave_path = format!("/dev/pts/{n}");
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes the open flags as its integer argument and returns a new fd.
    let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER as _, flags) };
    let slave = if fd >= 0 {
        // SAFETY: a new descriptor nothing else owns.
        unsafe { OwnedFd::from_raw_fd(fd) }
    } else {
        match Errno::last() {
            // Kernels before 4.13: open the slave by path, as runc does.
            Errno::EINVAL | Errno::ENOTTY => nix::fcntl::open(
                slave_path.as_str(),
                nix::fcntl::OFlag::from_bits_truncate(flags),
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| InitError::sys("open", slave_path.as_str(), e))?,
            e => return Err(InitError::sys("open pty slave", slave_path.as_str(), e)),
        }
    };
    Ok(Pty {
        master,
        slave,
        slave_path,
    })
}

/// A terminal window size, in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WinSize {
    pub rows: u16,
    pub cols: u16,
}

/// TIOCGWINSZ.
pub fn get_size(fd: BorrowedFd<'_>) -> Result<WinSize> {
    // SAFETY: an all-zero winsize is valid; TIOCGWINSZ fills it.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a struct winsize through the pointer.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ as _, &mut ws) } < 0 {
        return Err(InitError::sys("get window size", "", Errno::last()));
    }
    Ok(WinSize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// TIOCSWINSZ (on either side of a pty: they share one size; the foreground process group of
/// the slave gets SIGWINCH when it changes).
pub fn set_size(fd: BorrowedFd<'_>, size: WinSize) -> Result<()> {
    let ws = libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a struct winsize through the pointer.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ as _, &ws) } < 0 {
        return Err(InitError::sys("set window size", "", Errno::last())
            .with_detail(format!("{}x{}", size.cols, size.rows)));
    }
    Ok(())
}

/// Makes `fd` the controlling terminal of the calling session leader (TIOCSCTTY, without
/// stealing it from another session: argument 0).
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> Result<()> {
    ioctl_int(
        fd,
        libc::TIOCSCTTY as _,
        0,
        "set controlling terminal (TIOCSCTTY)",
    )
}

/// Clears ONLCR on a pty: with the host terminal translating "\n" to "\r\n" already, the
/// container's output must not be translated twice (runc's `console.ClearONLCR`).
pub fn clear_onlcr(fd: BorrowedFd<'_>) -> Result<()> {
    let mut t = termios::tcgetattr(fd).map_err(|e| InitError::sys("tcgetattr", "pty", e))?;
    t.output_flags.remove(OutputFlags::ONLCR);
    termios::tcsetattr(fd, SetArg::TCSANOW, &t).map_err(|e| InitError::sys("tcsetattr", "pty", e))
}

/// Connects to the `--console-socket` (a listening AF_UNIX stream socket, as runc's
/// `net.Dial("unix", path)`).
pub fn connect_socket(path: &str) -> Result<OwnedFd> {
    let step = "connect console socket";
    let addr = UnixAddr::new(path).map_err(|e| InitError::sys(step, path, e))?;
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| InitError::sys(step, path, e))?;
    loop {
        match connect(sock.as_raw_fd(), &addr) {
            Ok(()) => return Ok(sock),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(InitError::sys(step, path, e)),
        }
    }
}

/// Sends `fd` with SCM_RIGHTS and `name` as the payload, in one message (runc's `SendFd`).
pub fn send_fd(sock: BorrowedFd<'_>, name: &str, fd: BorrowedFd<'_>) -> Result<()> {
    if name.len() >= MAX_NAME_LEN {
        return Err(InitError::msg("send console", name, "name too long"));
    }
    send_with_fd(sock, name.as_bytes(), fd, "send console", name)
}

/// One message of `payload` with `fd` as SCM_RIGHTS; a failure is `step` on `what`.
pub fn send_with_fd(sock: BorrowedFd<'_>, payload: &[u8], fd: BorrowedFd<'_>, step: &str, what: &str) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(payload)];
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(InitError::sys(step, what, e)),
        }
    }
}

/// Receives one descriptor and its name (runc's `RecvFd`): for receivers such as the recvtty
/// example and the tests. The descriptor is CLOEXEC.
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<(OwnedFd, String)> {
    let mut buf = vec![0u8; MAX_NAME_LEN];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(InitError::sys("receive console", "", e)),
        };
        let mut fds: Vec<OwnedFd> = Vec::new();
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(v) = c {
                    // SAFETY: descriptors just received, owned by nobody else.
                    fds.extend(v.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                }
            }
        }
        let n = msg.bytes;
        if fds.len() != 1 {
            return Err(InitError::msg(
                "receive console",
                "",
                format!("expected 1 descriptor, got {}", fds.len()),
            ));
        }
        let name = String::from_utf8_lossy(&buf[..n]).into_owned();
        return Ok((fds.pop().unwrap(), name));
    }
}

/// The first of stderr, stdout, stdin that is a terminal (runc's `initHostConsole` order).
pub fn host_terminal() -> Option<RawFd> {
    // SAFETY: isatty only inspects the descriptor.
    [2, 1, 0]
        .into_iter()
        .find(|fd| unsafe { libc::isatty(*fd) } == 1)
}

/// Puts a terminal in raw mode with output post-processing kept (containerd/console's
/// `SetRaw`: cfmakeraw, then OPOST back on); returns the previous settings.
pub fn set_raw(fd: BorrowedFd<'_>) -> Result<Termios> {
    let old =
        termios::tcgetattr(fd).map_err(|e| InitError::sys("tcgetattr", "host terminal", e))?;
    let mut raw = old.clone();
    termios::cfmakeraw(&mut raw);
    raw.output_flags.insert(OutputFlags::OPOST);
    termios::tcsetattr(fd, SetArg::TCSANOW, &raw)
        .map_err(|e| InitError::sys("tcsetattr", "host terminal", e))?;
    Ok(old)
}

/// How long the proxy keeps reading after it was told to finish and the master stays quiet
/// (a process outside the container's pid namespace may keep the slave open forever), and the
/// most it drains in all.
const DRAIN_IDLE: Duration = Duration::from_millis(200);
const DRAIN_MAX: Duration = Duration::from_secs(2);
/// Input read ahead of what the master accepted, at most.
const INPUT_BUFFER: usize = 64 * 1024;

/// Copies `input` → master and master → `output` on a thread until the master reports EIO
/// (every slave descriptor closed: the container is gone) or [`Proxy::finish`] is called;
/// with a host terminal it is in raw mode meanwhile and restored at the end.
pub struct Proxy {
    master: Arc<OwnedFd>,
    host: Option<RawFd>,
    saved: Option<Termios>,
    /// Closing it tells the thread to drain and stop.
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts the proxy. `host` is the caller's terminal (see [`host_terminal`]): it is put in
    /// raw mode and its size copied to the master. `input` and `output` are borrowed for the
    /// life of the proxy (the process's 0 and 1 in `run`).
    pub fn start(
        master: OwnedFd,
        input: RawFd,
        output: RawFd,
        host: Option<RawFd>,
    ) -> Result<Proxy> {
        // The master only: our own stdio keeps its flags (its file description is shared).
        set_nonblocking(master.as_fd())?;
        // The pty's termios is shared by both ends; harmless if the slave side changes it.
        let _ = clear_onlcr(master.as_fd());
        let (stop_r, stop_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| InitError::sys("pipe", "console proxy", e))?;
        let master = Arc::new(master);
        let mut p = Proxy {
            master: master.clone(),
            host,
            saved: None,
            stop: Some(stop_w),
            thread: None,
        };
        if let Some(h) = host {
            // SAFETY: the caller's terminal descriptor, open for the life of the process.
            let b = unsafe { BorrowedFd::borrow_raw(h) };
            p.saved = Some(set_raw(b)?);
            let _ = p.resize();
        }
        let thread = std::thread::Builder::new()
            .name("runts-console".into())
            .spawn(move || pump(&master, input, output, stop_r))
            .map_err(|e| {
                let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN));
                InitError::sys("spawn console proxy thread", "", errno)
            })?;
        p.thread = Some(thread);
        Ok(p)
    }

    /// Copies the host terminal's window size to the master (on SIGWINCH); no host terminal,
    /// nothing to do.
    pub fn resize(&self) -> Result<()> {
        let Some(h) = self.host else { return Ok(()) };
        // SAFETY: as in start.
        let size = get_size(unsafe { BorrowedFd::borrow_raw(h) })?;
        if size.rows == 0 && size.cols == 0 {
            return Ok(()); // a terminal that does not know its size
        }
        set_size(self.master.as_fd(), size)
    }

    /// Waits for the output still in the pty to reach `output` (until EIO, or the master has been
    /// quiet for a moment), stops the thread and restores the host terminal. Idempotent.
    pub fn finish(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let (Some(h), Some(saved)) = (self.host, self.saved.take()) {
            // SAFETY: as in start.
            let _ = termios::tcsetattr(
                unsafe { BorrowedFd::borrow_raw(h) },
                SetArg::TCSANOW,
                &saved,
            );
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.finish();
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags =
        fcntl(fd, FcntlArg::F_GETFL).map_err(|e| InitError::sys("fcntl", "pty master", e))?;
    fcntl(
        fd,
        FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
    )
    .map_err(|e| InitError::sys("fcntl", "pty master", e))?;
    Ok(())
}

/// write(2) all of `buf` to `fd`, waiting for POLLOUT when it is non-blocking and full. False
/// when the descriptor is unusable (closed pipe, EBADF): the rest of the output is discarded.
fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: writing from a live slice.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf = &buf[n as usize..];
            continue;
        }
        match Errno::last() {
            Errno::EINTR => {}
            Errno::EAGAIN => {
                // SAFETY: fd stays open while the proxy runs (see Proxy::start).
                let b = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = poll(&mut [PollFd::new(b, PollFlags::POLLOUT)], PollTimeout::NONE);
            }
            _ => return false,
        }
    }
    true
}

/// The proxy loop (see [`Proxy`]).
fn pump(master: &OwnedFd, input: RawFd, output: RawFd, stop: OwnedFd) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new(); // input not yet accepted by the master
    let mut input_open = true;
    let mut output_ok = true;
    let mut drain_since: Option<Instant> = None;
    // SAFETY: `input` stays open while the proxy runs (see Proxy::start).
    let input_fd = unsafe { BorrowedFd::borrow_raw(input) };
    loop {
        let draining = drain_since.is_some();
        let mut mflags = PollFlags::POLLIN;
        if !pending.is_empty() && !draining {
            mflags |= PollFlags::POLLOUT;
        }
        let want_input = input_open && !draining && pending.len() < INPUT_BUFFER;
        let mut fds = vec![PollFd::new(master.as_fd(), mflags)];
        if !draining {
            fds.push(PollFd::new(stop.as_fd(), PollFlags::POLLIN));
        }
        if want_input {
            fds.push(PollFd::new(input_fd, PollFlags::POLLIN));
        }
        let timeout = match drain_since {
            None => PollTimeout::NONE,
            Some(t0) => {
                if t0.elapsed() >= DRAIN_MAX {
                    return;
                }
                PollTimeout::try_from(DRAIN_IDLE).unwrap_or(PollTimeout::ZERO)
            }
        };
        match poll(&mut fds, timeout) {
            Ok(0) => return, // drained: quiet for DRAIN_IDLE
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
        let rev = |i: usize| fds[i].revents().unwrap_or(PollFlags::empty());
        let master_ev = rev(0);
        let stop_ev = if draining { PollFlags::empty() } else { rev(1) };
        let input_ev = if want_input {
            rev(fds.len() - 1)
        } else {
            PollFlags::empty()
        };

        if master_ev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            match nix::unistd::read(master.as_fd(), &mut buf) {
                // EIO: no slave descriptor is open any more; everything written was read.
                Ok(0) | Err(Errno::EIO) => return,
                Ok(n) => {
                    if output_ok {
                        output_ok = write_all(output, &buf[..n]);
                    }
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(_) => return,
            }
        }
        if master_ev.contains(PollFlags::POLLOUT) && !pending.is_empty() {
            match nix::unistd::write(master, &pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(_) => pending.clear(),
            }
        }
        if input_ev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            let room = INPUT_BUFFER - pending.len();
            let want = room.min(buf.len());
            match nix::unistd::read(input_fd, &mut buf[..want]) {
                // End of input is not passed on (runc's io.Copy from stdin just stops).
                Ok(0) => input_open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(_) => input_open = false,
            }
        }
        if !stop_ev.is_empty() {
            drain_since = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::socketpair;

    fn read_to_end(fd: &OwnedFd) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(fd.as_fd(), &mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    #[test]
    fn send_and_receive_a_descriptor_with_its_name() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        let (r, w) = nix::unistd::pipe().unwrap();
        send_fd(a.as_fd(), MASTER_NAME, w.as_fd()).unwrap();
        drop(w);
        let (got, name) = recv_fd(b.as_fd()).unwrap();
        assert_eq!(name, "/dev/ptmx");
        // The received descriptor is the same pipe: a write through it reaches `r`.
        nix::unistd::write(&got, b"hello").unwrap();
        drop(got);
        assert_eq!(read_to_end(&r), b"hello");
        // CLOEXEC on receipt, so it never leaks into a container.
        // (checked on a fresh one: the pipe above is gone)
        let (_r2, w2) = nix::unistd::pipe().unwrap();
        send_fd(a.as_fd(), "x", w2.as_fd()).unwrap();
        let (got2, _) = recv_fd(b.as_fd()).unwrap();
        let fl = nix::fcntl::fcntl(got2.as_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(fl & libc::FD_CLOEXEC, 0);
    }

    #[test]
    fn receiving_without_a_descriptor_is_an_error() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        nix::unistd::write(&a, b"/dev/ptmx").unwrap();
        let e = recv_fd(b.as_fd()).unwrap_err();
        assert_eq!(e.detail, "expected 1 descriptor, got 0");
        assert!(send_fd(a.as_fd(), &"x".repeat(MAX_NAME_LEN), a.as_fd()).is_err());
    }

    #[test]
    fn connect_to_a_missing_socket_names_it() {
        let e = connect_socket("/nonexistent/console.sock").unwrap_err();
        assert_eq!(
            e.to_string(),
            "connect console socket `/nonexistent/console.sock`: ENOENT (No such file or directory)"
        );
    }

    /// A pty from the host's /dev/ptmx (needs a devpts at /dev/pts, as on any Linux host: its
    /// absence fails the test).
    fn host_pty() -> Pty {
        open_pty().unwrap_or_else(|e| panic!("a host pty (devpts at /dev/pts): {e}"))
    }

    #[test]
    fn pty_pair_sizes_and_onlcr() {
        let p = host_pty();
        assert!(p.slave_path.starts_with("/dev/pts/"));
        let st = nix::sys::stat::fstat(p.slave.as_fd()).unwrap();
        let by_path = nix::sys::stat::stat(p.slave_path.as_str()).unwrap();
        assert_eq!(st.st_rdev, by_path.st_rdev);
        let size = WinSize {
            rows: 24,
            cols: 132,
        };
        set_size(p.master.as_fd(), size).unwrap();
        assert_eq!(get_size(p.slave.as_fd()).unwrap(), size);
        clear_onlcr(p.master.as_fd()).unwrap();
        nix::unistd::write(&p.slave, b"a\n").unwrap();
        let mut buf = [0u8; 16];
        let n = nix::unistd::read(p.master.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"a\n");
        let (pipe_r, _pipe_w) = nix::unistd::pipe().unwrap();
        assert_eq!(get_size(pipe_r.as_fd()).unwrap_err().errno, libc::ENOTTY);
    }

    /// The proxy copies input to the container side and its output back, and drains what the
    /// container wrote before the slave closed.
    #[test]
    fn proxy_copies_both_ways_and_drains() {
        let p = host_pty();
        let (in_r, in_w) = nix::unistd::pipe().unwrap();
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        // Raw on the slave side, so the input comes back byte for byte without echo.
        let mut t = termios::tcgetattr(p.slave.as_fd()).unwrap();
        termios::cfmakeraw(&mut t);
        termios::tcsetattr(p.slave.as_fd(), SetArg::TCSANOW, &t).unwrap();
        let mut proxy = Proxy::start(p.master, in_r.as_raw_fd(), out_w.as_raw_fd(), None).unwrap();
        nix::unistd::write(&in_w, b"ping").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        while got.len() < 4 {
            let n = nix::unistd::read(p.slave.as_fd(), &mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"ping");
        let big = vec![b'x'; 100_000];
        // Written in full before the slave closes: more than the pty buffers, so this
        // also checks the proxy keeps reading while we write.
        let writer = std::thread::spawn(move || {
            let mut rest: &[u8] = &big;
            while !rest.is_empty() {
                let n = nix::unistd::write(&p.slave, rest).unwrap();
                rest = &rest[n..];
            }
            nix::unistd::write(&p.slave, b"END").unwrap();
            drop(p.slave); // EIO on the master once read
        });
        let reader = std::thread::spawn(move || read_to_end(&out_r));
        writer.join().unwrap();
        proxy.finish();
        drop(out_w);
        let out = reader.join().unwrap();
        assert_eq!(out.len(), 100_003);
        assert!(out.ends_with(b"xEND"));
        drop(in_w);
        drop(in_r);
    }
}
