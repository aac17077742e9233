//! Talking to CRIU as runc does: `criu swrk FD`, one end of a SOCK_SEQPACKET socketpair, each
//! request and answer one datagram holding a protobuf message of CRIU's rpc.proto (rpc.rs).
//! `checkpoint` (dump.rs) and `restore` (restore.rs) are built on it, as runc's
//! libcontainer/criu_linux.go; the version and check requests also say why CRIU cannot work
//! on a host.
//!
//! ```text
//!  runtime                                criu swrk
//!    | ---- Req {DUMP | RESTORE, opts} ----> |
//!    | <--- Resp {NOTIFY, script, pid} ----- |  (notify_scripts: "setup-namespaces",
//!    | ---- Req {NOTIFY, notify_success} --> |   "post-restore", "orphan-pts-master" with
//!    |            ... (each notification)    |   the pty master as SCM_RIGHTS, ...)
//!    | <--- Resp {DUMP | RESTORE, success} - |
//! ```

pub mod dump;
pub mod restore;
pub mod rpc;

use crate::error::{InitError, Result};
use nix::errno::Errno;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use prost::Message as _;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;

/// Largest answer read (CRIU's are a few hundred bytes).
const MAX_RESP: usize = 1 << 20;

/// How `criu swrk` is started.
#[derive(Default)]
pub struct Setup {
    /// Restore: criu gets our stdio (the restored process's pipes are inherited from there, as
    /// runc's criuSwrk gives it the process's stdio); otherwise /dev/null (what it has to say
    /// goes to its log; `criu check` would print "Looks good." into ours).
    pub inherit_stdio: bool,
    /// Descriptors criu inherits at their own numbers (the images and work directories,
    /// namespace files named in inherit_fd); their close-on-exec flag is cleared in the child
    /// only, so no other spawn of ours inherits them.
    pub keep: Vec<RawFd>,
    /// Restore: (rootfs, dir). CRIU wants its root to be a mount point whose parent is not
    /// overmounted; runc bind-mounts the rootfs on `<state>/criu-root` in its own mount
    /// namespace and unmounts it after. criu here gets a mount namespace of its own (slave of
    /// ours, so nothing it mounts shows up in the runtime's), made before it runs, with the
    /// bind in it: a runtime killed meanwhile leaves no mount behind. criu makes its swrk
    /// socket there too, so that it is its own peer (see `start`).
    pub root_bind: Option<(String, String)>,
    /// With `root_bind`: directories among `keep` opened again by path in criu's mount
    /// namespace, onto the same numbers. A descriptor opened in ours stays on our copies of
    /// the mounts, which are not in criu's namespace: CRIU makes its cgroup yard relative to
    /// its work directory, and mount(2) there fails with EINVAL.
    pub reopen: Vec<(RawFd, String)>,
}

/// A running `criu swrk`.
pub struct Swrk {
    child: std::process::Child,
    sock: OwnedFd,
    criu: String,
    waited: bool,
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| InitError::msg("criu swrk", s, "path holds a NUL byte"))
}

/// One datagram into `buf`, and a descriptor that came with it (SCM_RIGHTS).
fn recv_msg(sock: RawFd, buf: &mut [u8]) -> std::result::Result<(usize, Option<OwnedFd>), Errno> {
    // Room for one descriptor (CMSG_SPACE(sizeof(int)), kept generous).
    let mut control = [0u64; 8];
    loop {
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        // SAFETY: a zeroed msghdr pointing at live buffers of the sizes given.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1 as _;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: recvmsg into the buffers described above.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        if n < 0 {
            return Err(Errno::last());
        }
        let mut fd = None;
        // SAFETY: walking the control messages the kernel just wrote into `control`.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let raw = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const RawFd);
                    fd = Some(OwnedFd::from_raw_fd(raw));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        return Ok((n as usize, fd));
    }
}

/// In the forked child (pre_exec; system calls only, on the stack): sends `fd` over `sock`
/// with one byte.
unsafe fn send_fd_raw(sock: RawFd, fd: RawFd) -> bool {
    let mut byte = [0u8; 1];
    let mut control = [0u64; 4];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1 as _;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
    let c = libc::CMSG_FIRSTHDR(&msg);
    (*c).cmsg_level = libc::SOL_SOCKET;
    (*c).cmsg_type = libc::SCM_RIGHTS;
    (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
    std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
    libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) == 1
}

impl Swrk {
    /// Starts `criu swrk N`, N its end of the socketpair (inherited: its close-on-exec flag is
    /// cleared in the child and our copy closed after).
    pub fn start(criu: &str, setup: Setup) -> Result<Swrk> {
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| InitError::sys("socketpair", "criu swrk", e))?;
        let mut keep = setup.keep.clone();
        let swrk_fd = theirs.as_raw_fd();
        keep.push(swrk_fd);
        let bind = match &setup.root_bind {
            Some((from, to)) => Some((cstring(from)?, cstring(to)?)),
            None => None,
        };
        let reopen = setup.reopen.iter().map(|(fd, path)| Ok((*fd, cstring(path)?))).collect::<Result<Vec<_>>>()?;
        let mut cmd = std::process::Command::new(criu);
        cmd.arg("swrk").arg(theirs.as_raw_fd().to_string());
        if !setup.inherit_stdio {
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
        // SAFETY: the closure runs in the forked child before exec and makes only system
        // calls on memory prepared before the fork (no allocation, no locks).
        unsafe {
            cmd.pre_exec(move || {
                for fd in &keep {
                    if libc::fcntl(*fd, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if let Some((from, to)) = &bind {
                    let root = c"/";
                    if libc::unshare(libc::CLONE_NEWNS) < 0
                        || libc::mount(std::ptr::null(), root.as_ptr(), std::ptr::null(), libc::MS_SLAVE | libc::MS_REC, std::ptr::null()) < 0
                        || libc::mount(from.as_ptr(), to.as_ptr(), std::ptr::null(), libc::MS_BIND | libc::MS_REC, std::ptr::null()) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    for (fd, path) in &reopen {
                        let new = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC);
                        if new < 0 || libc::dup2(new, *fd) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        libc::close(new);
                    }
                    // CRIU opens the directories it is given as /proc/<peer>/fd/N, the peer
                    // being who made the socket (SO_PEERCRED): made here, criu is its own
                    // peer and finds them in its namespace. Our end goes back over the
                    // inherited socket, whose number the swrk socket then takes.
                    let mut sv = [0; 2];
                    if libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) < 0
                        || !send_fd_raw(swrk_fd, sv[0])
                        || libc::dup2(sv[1], swrk_fd) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(sv[0]);
                    libc::close(sv[1]);
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| {
            let step = if setup.root_bind.is_some() { "exec (in a mount namespace with the rootfs bound on criu-root)" } else { "exec" };
            InitError::sys(step, criu, crate::cgroups::fs::io_errno(&e)).with_detail("criu swrk: is criu installed? --criu gives its path")
        })?;
        drop(theirs);
        let mut swrk = Swrk { child, sock: ours, criu: criu.to_owned(), waited: false };
        if setup.root_bind.is_some() {
            // The socket criu made for itself (sent before its exec, which spawn waited for).
            let mut byte = [0u8; 1];
            match recv_msg(swrk.sock.as_raw_fd(), &mut byte) {
                Ok((1, Some(fd))) => swrk.sock = fd,
                Ok(_) => return Err(InitError::msg("criu swrk", criu, "no socket came from criu's mount namespace")),
                Err(e) => return Err(InitError::sys("criu swrk", criu, e)),
            }
        }
        Ok(swrk)
    }

    /// criu's pid (a restore moves it into the container's cgroup before the request).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends one request.
    pub fn send(&self, req: &rpc::Req) -> Result<()> {
        let bytes = req.encode_to_vec();
        // SAFETY: send from a live buffer on our socket.
        let n = unsafe { libc::send(self.sock.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            return Err(InitError::sys("send to criu", &self.criu, Errno::last()));
        }
        Ok(())
    }

    /// Reads one answer, and the descriptor that came with it (the orphan pts master); an
    /// error when CRIU closed the socket (it exited).
    pub fn recv_with_fd(&mut self) -> Result<(rpc::Resp, Option<OwnedFd>)> {
        let mut buf = vec![0u8; MAX_RESP];
        let (n, fd) = recv_msg(self.sock.as_raw_fd(), &mut buf).map_err(|e| InitError::sys("read from criu", &self.criu, e))?;
        if n == 0 {
            let status = self.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
            return Err(InitError::msg("criu swrk", &self.criu, format!("exited without an answer ({status})")));
        }
        let resp = rpc::Resp::decode(&buf[..n]).map_err(|e| InitError::msg("criu answer", &self.criu, e.to_string()))?;
        Ok((resp, fd))
    }

    /// Reads one answer.
    pub fn recv(&mut self) -> Result<rpc::Resp> {
        self.recv_with_fd().map(|(r, _)| r)
    }

    /// One request and its answer.
    pub fn call(&mut self, req: &rpc::Req) -> Result<rpc::Resp> {
        self.send(req)?;
        self.recv()
    }

    /// Acknowledges a notification (runc answers every one with notify_success).
    pub fn ack(&self) -> Result<()> {
        self.send(&rpc::Req { r#type: rpc::ReqType::Notify as i32, notify_success: Some(true), ..Default::default() })
    }

    /// Ends the session and waits for criu to exit.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let _ = nix::sys::socket::shutdown(self.sock.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        let status = self.child.wait();
        self.waited = true;
        status
    }
}

impl Drop for Swrk {
    fn drop(&mut self) {
        // Shutting our end down ends swrk's loop; reap it (it exits on EOF).
        if !self.waited {
            let _ = self.wait();
        }
    }
}

/// The criu version as one number (runc's: 3.17.1 is 31701), for the checks of what a
/// version has.
pub fn version_number(criu: &str) -> Result<i32> {
    let v = version(criu)?;
    Ok(v.major_number * 10000 + v.minor_number * 100 + v.sublevel.unwrap_or(0))
}

/// runc's minimum: the VERSION request came with CRIU 3.0.
pub fn require_version(criu: &str, min: i32, what: &str) -> Result<i32> {
    let v = version_number(criu)?;
    if v < min {
        return Err(InitError::msg(what, criu, format!("CRIU version {v} must be {min} or higher")));
    }
    Ok(v)
}

/// Opens a directory for CRIU (created 0700 when missing, as runc: a container is often
/// checkpointed more than once into the same place).
pub fn open_dir(path: &str, create: bool) -> Result<OwnedFd> {
    if create {
        use std::os::unix::fs::DirBuilderExt;
        if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path) {
            return Err(InitError::sys("mkdir", path, crate::cgroups::fs::io_errno(&e)));
        }
    }
    nix::fcntl::open(path, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| InitError::sys("open", path, e))
}

/// `--manage-cgroups-mode`: runc's names ("" is CRIU's default, soft).
pub fn cg_mode(mode: Option<&str>) -> Result<rpc::CgMode> {
    Ok(match mode.unwrap_or("") {
        "" => rpc::CgMode::Default,
        "soft" => rpc::CgMode::Soft,
        "full" => rpc::CgMode::Full,
        "strict" => rpc::CgMode::Strict,
        "ignore" => rpc::CgMode::Ignore,
        other => return Err(InitError::msg("manage-cgroups-mode", other, "invalid manage-cgroups-mode value (soft, full, strict or ignore)")),
    })
}

/// The key CRIU knows an external namespace by (runc's criuNsToKey: "extRootNetNS").
pub fn ns_key(oci: &str) -> Option<&'static str> {
    match oci {
        "network" => Some("extRootNetNS"),
        "pid" => Some("extRootPidNS"),
        _ => None,
    }
}

/// CRIU's name of an OCI namespace type (join_ns, external).
pub fn ns_name(oci: &str) -> &str {
    match oci {
        "network" => "net",
        "mount" => "mnt",
        other => other,
    }
}

/// The bind mounts CRIU must be told about, as (destination, host source): the spec's bind
/// mounts, the device nodes (bound from the host where mknod is not permitted; runc lists
/// them all). Destinations are cleaned, as the mounts were made.
pub fn external_binds(cfg: &crate::Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for m in &cfg.mounts {
        let opts = crate::rootfs::mount_opts::parse(&m.options);
        if opts.is_bind() || m.mount_type.as_deref() == Some("bind") {
            let source = m.source.clone().unwrap_or_default();
            let source = if source.starts_with('/') { source } else { format!("{}/{}", cfg.bundle.trim_end_matches('/'), source) };
            out.push((crate::rootfs::path::clean(&m.destination), source));
        }
    }
    for d in crate::rootfs::device_list(cfg) {
        let p = crate::rootfs::path::clean(&d.path);
        out.push((p.clone(), p));
    }
    out
}

/// CRIU's version, as `runc --version` shows it.
pub fn version(criu: &str) -> Result<rpc::Version> {
    let mut s = Swrk::start(criu, Setup::default())?;
    let resp = s.call(&rpc::Req { r#type: rpc::ReqType::Version as i32, ..Default::default() })?;
    match resp.version {
        Some(v) if resp.success => Ok(v),
        _ => Err(InitError::msg("criu version", criu, "no version in CRIU's answer")),
    }
}

/// CRIU's CHECK request (what `criu check` does): Ok when CRIU can dump and restore on this
/// host; else the error, with the last error line of CRIU's log (in `work_dir`) on it.
pub fn check(criu: &str, work_dir: &std::path::Path) -> Result<()> {
    // The images dir is required by the protocol; the log goes to the work dir.
    let dir = open_dir(&work_dir.display().to_string(), false)?;
    let mut s = Swrk::start(criu, Setup { keep: vec![dir.as_raw_fd()], ..Default::default() })?;
    let opts = rpc::Opts {
        images_dir_fd: dir.as_raw_fd(),
        work_dir_fd: Some(dir.as_raw_fd()),
        log_file: Some("check.log".into()),
        log_level: Some(4),
        ..Default::default()
    };
    let resp = s.call(&rpc::Req { r#type: rpc::ReqType::Check as i32, opts: Some(opts), ..Default::default() })?;
    drop(s);
    if resp.success {
        return Ok(());
    }
    Err(criu_failure("criu check", &resp, &work_dir.join("check.log")))
}

/// The error of a failed request, naming CRIU's log: CRIU's message or errno, and the last
/// error line of the log without its timestamp ("Error (criu/kerndat.c:1615): ...").
pub fn criu_failure(step: &str, resp: &rpc::Resp, log: &std::path::Path) -> InitError {
    let last = std::fs::read_to_string(log).ok().and_then(|t| {
        t.lines().rev().find(|l| l.contains("Error")).map(|l| {
            let l = l.trim();
            // "(00.011994) Error ...": the time since CRIU started.
            match l.strip_prefix('(').and_then(|r| r.split_once(") ")) {
                Some((time, rest)) if time.chars().all(|c| c.is_ascii_digit() || c == '.') => rest.to_string(),
                _ => l.to_string(),
            }
        })
    });
    let said = resp.cr_errmsg.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
    let detail = match (said, last) {
        (Some(m), Some(l)) if m == l => m,
        (Some(m), Some(l)) => format!("{m}; {l}"),
        (Some(m), None) => m,
        (None, Some(l)) => l,
        (None, None) => "CRIU failed; its log has more".into(),
    };
    InitError { step: step.into(), path: log.display().to_string(), errno: resp.cr_errno.unwrap_or(0), detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criu() -> Option<&'static str> {
        ["/usr/sbin/criu", "/usr/bin/criu"].into_iter().find(|p| std::path::Path::new(p).exists())
    }

    #[test]
    fn messages_round_trip_with_rpc_proto_field_numbers() {
        let req = rpc::Req {
            r#type: rpc::ReqType::Dump as i32,
            opts: Some(rpc::Opts { images_dir_fd: 7, leave_running: Some(true), external: vec!["mnt[/a]:a".into()], ..Default::default() }),
            ..Default::default()
        };
        let bytes = req.encode_to_vec();
        // type = 1 (varint 1), then opts = 2 (length-delimited) holding images_dir_fd = 1 (7).
        assert_eq!(&bytes[..4], &[0x08, 0x01, 0x12, bytes[3]]);
        assert_eq!(&bytes[4..6], &[0x08, 0x07]);
        assert_eq!(rpc::Req::decode(bytes.as_slice()).unwrap(), req);
    }

    #[test]
    fn version_and_check_through_swrk() {
        let Some(criu) = criu() else {
            eprintln!("skipped: criu not installed");
            return;
        };
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: criu swrk needs root");
            return;
        }
        let v = version(criu).unwrap();
        assert!(v.major_number >= 3, "{v:?}");
        let dir = tempfile::TempDir::new().unwrap();
        // On a host where CRIU works, Ok; where it cannot (this project's 6.18 kernels with
        // CRIU 3.17), CRIU's own error line.
        // RUNTS_EXPECT_CRIU=1 (the cgroup v2 VM, kernel 6.1): it must work.
        let expect = std::env::var("RUNTS_EXPECT_CRIU").is_ok_and(|v| v == "1");
        match check(criu, dir.path()) {
            Ok(()) => {}
            Err(e) if expect => panic!("criu check failed where CRIU works: {e}"),
            Err(e) => {
                eprintln!("criu check here: {e}");
                assert_eq!(e.step, "criu check");
                assert!(e.detail.contains("Error"), "{e:?}");
            }
        }
    }
}
