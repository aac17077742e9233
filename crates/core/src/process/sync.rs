//! The parent/child synchronisation protocol: one typed [`Message`] enum over an
//! `AF_UNIX`/`SOCK_SEQPACKET` socketpair (one datagram per message, so no framing), with a
//! small hand-written binary encoding and descriptors passed with SCM_RIGHTS.
//!
//! ```text
//!  parent (runtime thread)         stage 1: runts:[1:CHILD]       stage 2: runts:[2:INIT]
//!  -----------------------         ------------------------       -----------------------
//!  socketpair(SEQPACKET|CLOEXEC)
//!  posix_spawn(init program) ---->  reset signals, PDEATHSIG
//!                                  oom_score_adj, join cgroups
//!                                  setns(<path>) (user first)
//!                                  unshare(CLONE_NEWUSER)
//!        <----------- UsernsReady --
//!  write /proc/<pid>/uid_map, gid_map
//!        ----------- MapsWritten -->
//!                                  setresgid/setresuid(0)
//!                                  unshare(CLONE_NEW{NS,UTS,IPC,NET,CGROUP,PID,TIME})
//!                                  clone(CLONE_PARENT) --------->  (pid 1 of the new pid ns;
//!        <---------- InitPid(pid) --                               child of the runtime)
//!  waitpid(stage 1)                _exit(0)                        waits for Proceed
//!        ------------------------------- Proceed ------------------->
//!                                                                  setsid, keyring, rootfs
//!                                                                  mounts
//!  with hooks only:
//!        <------------------------------- Hooks ----------------------
//!  prestart, createRuntime hooks
//!        ---------------------------- HooksDone ------------------->
//!                                                                  createContainer hooks
//!                                                                  (pivot_root)
//!                                                                  process.terminal only:
//!                                                                  open /dev/ptmx, bind the
//!                                                                  slave on /dev/console
//!        <------------- Console(pty master, SCM_RIGHTS) ------------
//!  with --console-socket: sendmsg                                  slave on 0,1,2, TIOCSCTTY
//!  it there (payload "/dev/ptmx"),
//!  close ours; else keep it for the
//!  caller (Spawned.console_fd)
//!                                                                  hostname, sysctl, rlimits,
//!                                                                  user, caps, cwd, lookup
//!                                                                  clear PDEATHSIG
//!        <------------------------------ Ready ----------------------
//!        ------------------------------- Created ------------------->
//!  create() returns
//!
//!  start():
//!        ------------------------------- Start --------------------->  startContainer hooks,
//!                                                                  execve(args)
//!        <------------ EOF (the socket is CLOEXEC) or Error ---------
//!
//!  Before Ready the init may send Log(level, text) lines: the parent hands them to the
//!  caller's log (Spawned.logs).
//!  Any failing child step:   --- Error(InitError) --> parent, then the child _exit(1)s; the
//!                            parent SIGKILLs and reaps stage 1 and the init.
//!  With an exec fifo:        the parent closes its end after Created; the init opens the fifo
//!                            for writing (blocks until `start` reads it), writes "0", execs.
//! ```
//!
//! Encoding: a tag byte, then the fields in order; integers are 4-byte little endian, strings
//! a u32 length followed by UTF-8 bytes. A descriptor field is not in the bytes: it travels in
//! the SCM_RIGHTS control message of the same datagram.

use crate::error::{shorten, InitError, Result, DETAIL_MAX, QUOTE_MAX};
use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::RawFd;

/// Every message of the protocol (see the diagram in the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// stage 1 → parent: I unshared the user namespace, write my uid/gid maps.
    UsernsReady,
    /// parent → stage 1: the maps are written.
    MapsWritten,
    /// stage 1 → parent: the init's pid in the parent's pid namespace.
    InitPid(i32),
    /// parent → init: the parent knows your pid; build the container. (The parent may do work
    /// on the init pid before sending it: cgroup placement, network setup.)
    Proceed,
    /// init → parent: the container is built; waiting to exec.
    Ready,
    /// parent → init: `create` is done. With an exec fifo the init now waits on the fifo (and
    /// the parent closes its end); otherwise it waits for Start.
    Created,
    /// parent → init: exec the process now.
    Start,
    /// child → parent: a setup step failed; the child exits after sending it.
    Error(InitError),
    /// init → parent, between Proceed and Ready, only with `process.terminal`: the pty master
    /// of the console, as SCM_RIGHTS (the fd is the receiver's descriptor number after
    /// `recv`). Ready without it is a protocol error.
    Console(RawFd),
    /// init → parent, any time before Ready: a line for the runtime's log (crun's model: the
    /// init never prints), e.g. a step it skipped.
    Log(LogLevel, String),
    /// init → parent, with hooks, after the rootfs is prepared and before pivot_root: run the
    /// prestart and createRuntime hooks now.
    Hooks,
    /// parent → init: they ran.
    HooksDone,
    /// init → parent, before Ready, with an SCMP_ACT_NOTIFY filter: its listener, as
    /// SCM_RIGHTS, for the parent to pass on to the seccomp agent at listenerPath.
    SeccompFd(RawFd),
    /// parent → init, before Proceed: the detached idmapped tree of mount `index` (of
    /// `mounts`), as SCM_RIGHTS, to move into place instead of a bind mount (idmap.rs).
    MountTree(u32, RawFd),
    /// parent → init, before Proceed: the `tasks` file of one cgroup v1 hierarchy of the
    /// container's cgroup, opened by the runtime, as SCM_RIGHTS, with its path (for errors).
    /// The init moves itself in by writing "0" to it (cgroups/join.rs: no RCU grace period).
    CgroupTasks(String, RawFd),
}

/// The level of a [`Message::Log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Warn,
    /// What hooks print.
    Info,
    Debug,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Warn => "warning",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

const TAG_USERNS_READY: u8 = 1;
const TAG_MAPS_WRITTEN: u8 = 2;
const TAG_INIT_PID: u8 = 3;
const TAG_PROCEED: u8 = 4;
const TAG_READY: u8 = 5;
const TAG_CREATED: u8 = 6;
const TAG_START: u8 = 7;
const TAG_ERROR: u8 = 8;
const TAG_CONSOLE: u8 = 9;
const TAG_LOG: u8 = 10;
const TAG_HOOKS: u8 = 11;
const TAG_HOOKS_DONE: u8 = 12;
const TAG_SECCOMP_FD: u8 = 13;
const TAG_MOUNT_TREE: u8 = 14;
const TAG_CGROUP_TASKS: u8 = 15;

/// Largest datagram we accept: an InitError (its fields shortened as its message quotes
/// them, error.rs) fits many times over.
const MAX_MESSAGE: usize = 64 * 1024;

impl Message {
    /// The variant name, for errors ("sync send `Ready`").
    pub fn name(&self) -> &'static str {
        match self {
            Message::UsernsReady => "UsernsReady",
            Message::MapsWritten => "MapsWritten",
            Message::InitPid(_) => "InitPid",
            Message::Proceed => "Proceed",
            Message::Ready => "Ready",
            Message::Created => "Created",
            Message::Start => "Start",
            Message::Error(_) => "Error",
            Message::Console(_) => "Console",
            Message::Log(..) => "Log",
            Message::Hooks => "Hooks",
            Message::HooksDone => "HooksDone",
            Message::SeccompFd(_) => "SeccompFd",
            Message::MountTree(..) => "MountTree",
            Message::CgroupTasks(..) => "CgroupTasks",
        }
    }

    /// The bytes of the datagram (the descriptor of `Console` is not among them).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(16);
        match self {
            Message::UsernsReady => b.push(TAG_USERNS_READY),
            Message::MapsWritten => b.push(TAG_MAPS_WRITTEN),
            Message::InitPid(pid) => {
                b.push(TAG_INIT_PID);
                b.extend_from_slice(&pid.to_le_bytes());
            }
            Message::Proceed => b.push(TAG_PROCEED),
            Message::Ready => b.push(TAG_READY),
            Message::Created => b.push(TAG_CREATED),
            Message::Start => b.push(TAG_START),
            Message::Error(e) => {
                // Each field shortened so that any error fits one datagram whole (a config
                // value quoted in it can be megabytes).
                b.push(TAG_ERROR);
                put_str(&mut b, &shorten(&e.step, QUOTE_MAX));
                put_str(&mut b, &shorten(&e.path, QUOTE_MAX));
                b.extend_from_slice(&e.errno.to_le_bytes());
                put_str(&mut b, &shorten(&e.detail, DETAIL_MAX));
            }
            Message::Console(_) => b.push(TAG_CONSOLE),
            Message::Log(level, text) => {
                b.push(TAG_LOG);
                b.push(match level {
                    LogLevel::Warn => 1,
                    LogLevel::Debug => 2,
                    LogLevel::Info => 3,
                });
                put_str(&mut b, &shorten(text, DETAIL_MAX));
            }
            Message::Hooks => b.push(TAG_HOOKS),
            Message::HooksDone => b.push(TAG_HOOKS_DONE),
            Message::SeccompFd(_) => b.push(TAG_SECCOMP_FD),
            Message::MountTree(index, _) => {
                b.push(TAG_MOUNT_TREE);
                b.extend_from_slice(&index.to_le_bytes());
            }
            Message::CgroupTasks(path, _) => {
                b.push(TAG_CGROUP_TASKS);
                put_str(&mut b, &shorten(path, QUOTE_MAX));
            }
        }
        b
    }

    /// Parses a datagram; `fd` is the descriptor that came with it, if any.
    pub fn decode(bytes: &[u8], fd: Option<RawFd>) -> Result<Message> {
        let mut r = Reader { b: bytes, pos: 0 };
        let tag = r.u8()?;
        let msg = match tag {
            TAG_USERNS_READY => Message::UsernsReady,
            TAG_MAPS_WRITTEN => Message::MapsWritten,
            TAG_INIT_PID => Message::InitPid(r.i32()?),
            TAG_PROCEED => Message::Proceed,
            TAG_READY => Message::Ready,
            TAG_CREATED => Message::Created,
            TAG_START => Message::Start,
            TAG_ERROR => {
                let step = r.string()?;
                let path = r.string()?;
                let errno = r.i32()?;
                let detail = r.string()?;
                Message::Error(InitError {
                    step,
                    path,
                    errno,
                    detail,
                })
            }
            TAG_LOG => {
                let level = match r.u8()? {
                    1 => LogLevel::Warn,
                    2 => LogLevel::Debug,
                    3 => LogLevel::Info,
                    l => return Err(malformed(&format!("unknown log level {l}"))),
                };
                Message::Log(level, r.string()?)
            }
            TAG_HOOKS => Message::Hooks,
            TAG_HOOKS_DONE => Message::HooksDone,
            TAG_CONSOLE => match fd {
                Some(fd) => return Ok(Message::Console(fd)),
                None => return Err(malformed("Console message without a descriptor")),
            },
            TAG_SECCOMP_FD => match fd {
                Some(fd) => return Ok(Message::SeccompFd(fd)),
                None => return Err(malformed("SeccompFd message without a descriptor")),
            },
            TAG_MOUNT_TREE => match fd {
                Some(fd) => Message::MountTree(r.u32()?, fd),
                None => return Err(malformed("MountTree message without a descriptor")),
            },
            TAG_CGROUP_TASKS => match fd {
                Some(fd) => Message::CgroupTasks(r.string()?, fd),
                None => return Err(malformed("CgroupTasks message without a descriptor")),
            },
            t => return Err(malformed(&format!("unknown tag {t}"))),
        };
        if r.pos != bytes.len() {
            return Err(malformed(&format!(
                "{} trailing bytes after {}",
                bytes.len() - r.pos,
                msg.name()
            )));
        }
        Ok(msg)
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn malformed(detail: &str) -> InitError {
    InitError::msg("sync", "", format!("malformed message: {detail}"))
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| malformed("truncated"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn i32(&mut self) -> Result<i32> {
        let s = self.take(4)?;
        Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u32(&mut self) -> Result<u32> {
        self.i32().map(|v| v as u32)
    }
    fn string(&mut self) -> Result<String> {
        let s = self.take(4)?;
        let n = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| malformed("string is not UTF-8"))
    }
}

/// Sends one message (with its descriptor for `Console`). MSG_NOSIGNAL: a peer that is gone is
/// an EPIPE error, not a SIGPIPE that would kill the init before it can report anything.
pub fn send(sock: RawFd, msg: &Message) -> Result<()> {
    let bytes = msg.encode();
    let iov = [IoSlice::new(&bytes)];
    let fds;
    let cmsgs: &[ControlMessage] = match msg {
        Message::Console(fd) | Message::SeccompFd(fd) | Message::MountTree(_, fd) | Message::CgroupTasks(_, fd) => {
            fds = [*fd];
            &[ControlMessage::ScmRights(&fds)]
        }
        _ => &[],
    };
    loop {
        match sendmsg::<()>(sock, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(InitError::sys("sync send", msg.name(), e)),
        }
    }
}

/// Receives one message; `None` when the peer is gone (every copy of its end closed: after
/// exit, or after a successful execve since the socket is CLOEXEC). Received descriptors are
/// CLOEXEC.
pub fn recv(sock: RawFd) -> Result<Option<Message>> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut cmsg = nix::cmsg_space!([RawFd; 2]);
    loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let (n, fds, truncated) =
            match recvmsg::<()>(sock, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
                Ok(r) => {
                    let mut fds = Vec::new();
                    if let Ok(it) = r.cmsgs() {
                        for c in it {
                            if let ControlMessageOwned::ScmRights(v) = c {
                                fds.extend(v);
                            }
                        }
                    }
                    let truncated = r
                        .flags
                        .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
                    (r.bytes, fds, truncated)
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(InitError::sys("sync recv", "", e)),
            };
        let close_all = |fds: &[RawFd]| {
            for fd in fds {
                // SAFETY: descriptors we just received and own.
                unsafe { libc::close(*fd) };
            }
        };
        if truncated {
            close_all(&fds);
            return Err(malformed("message or its descriptors truncated"));
        }
        if n == 0 {
            close_all(&fds);
            return Ok(None);
        }
        let msg = Message::decode(&buf[..n], fds.first().copied());
        match &msg {
            Ok(Message::Console(_) | Message::SeccompFd(_) | Message::MountTree(..) | Message::CgroupTasks(..)) => close_all(&fds[1..]),
            _ => close_all(&fds),
        }
        return msg.map(Some);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsRawFd;

    fn all() -> Vec<Message> {
        vec![
            Message::UsernsReady,
            Message::MapsWritten,
            Message::InitPid(123456),
            Message::InitPid(-1),
            Message::Proceed,
            Message::Ready,
            Message::Created,
            Message::Start,
            Message::Error(InitError::sys("mount", "/rootfs/proc", Errno::EPERM)),
            Message::Error(InitError::msg(
                "exec",
                "ünïcode",
                "executable file not found in $PATH",
            )),
            Message::Error(InitError::msg("", "", "")),
            Message::Log(LogLevel::Warn, "join session keyring: EDQUOT".into()),
            Message::Log(LogLevel::Debug, String::new()),
            Message::Log(LogLevel::Info, "createContainer hook #0 (/h): ok".into()),
            Message::Hooks,
            Message::HooksDone,
        ]
    }

    #[test]
    fn encoding_round_trips() {
        for m in all() {
            assert_eq!(Message::decode(&m.encode(), None).unwrap(), m);
        }
        assert_eq!(
            Message::decode(&Message::Console(-1).encode(), Some(7)).unwrap(),
            Message::Console(7)
        );
        assert_eq!(
            Message::decode(&Message::SeccompFd(-1).encode(), Some(8)).unwrap(),
            Message::SeccompFd(8)
        );
        assert_eq!(
            Message::decode(&Message::MountTree(3, -1).encode(), Some(9)).unwrap(),
            Message::MountTree(3, 9)
        );
        assert!(Message::decode(&Message::MountTree(3, -1).encode(), None).is_err());
        let tasks = Message::CgroupTasks("/sys/fs/cgroup/pids/c1/tasks".into(), -1);
        assert_eq!(
            Message::decode(&tasks.encode(), Some(10)).unwrap(),
            Message::CgroupTasks("/sys/fs/cgroup/pids/c1/tasks".into(), 10)
        );
        assert!(Message::decode(&tasks.encode(), None).is_err());
    }

    #[test]
    fn an_error_quoting_megabytes_arrives_whole_and_shortened() {
        let (a, b) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).unwrap();
        let big = InitError::msg("sethostname", "h".repeat(3 << 20), "d".repeat(1 << 20));
        send(a.as_raw_fd(), &Message::Error(big)).unwrap();
        let Some(Message::Error(got)) = recv(b.as_raw_fd()).unwrap() else { panic!() };
        assert_eq!(got.step, "sethostname");
        assert!(got.path.starts_with("hhhh") && got.path.ends_with(&format!("… ({} bytes)", 3 << 20)));
        assert!(got.detail.len() <= DETAIL_MAX);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(Message::decode(&[], None).is_err());
        assert!(Message::decode(&[200], None).is_err());
        assert!(Message::decode(&[TAG_INIT_PID, 1, 2], None).is_err());
        assert!(Message::decode(&[TAG_READY, 0], None).is_err());
        assert!(Message::decode(&[TAG_CONSOLE], None).is_err());
        let mut e = Message::Error(InitError::msg("a", "b", "c")).encode();
        e.truncate(e.len() - 1);
        assert!(Message::decode(&e, None).is_err());
        // A length far past the end must not panic.
        assert!(Message::decode(&[TAG_ERROR, 0xff, 0xff, 0xff, 0xff], None).is_err());
    }

    #[test]
    fn send_recv_over_seqpacket_with_fd() {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap();
        for m in all() {
            send(a.as_raw_fd(), &m).unwrap();
            assert_eq!(recv(b.as_raw_fd()).unwrap(), Some(m));
        }
        let f = std::fs::File::open("/proc/self/status").unwrap();
        send(a.as_raw_fd(), &Message::Console(f.as_raw_fd())).unwrap();
        let Some(Message::Console(got)) = recv(b.as_raw_fd()).unwrap() else {
            panic!()
        };
        assert_ne!(got, f.as_raw_fd());
        let flags = nix::fcntl::fcntl(
            unsafe { std::os::fd::BorrowedFd::borrow_raw(got) },
            nix::fcntl::FcntlArg::F_GETFD,
        )
        .unwrap();
        assert_ne!(flags & libc::FD_CLOEXEC, 0);
        unsafe { libc::close(got) };
        drop(a);
        assert_eq!(recv(b.as_raw_fd()).unwrap(), None);
    }
}
