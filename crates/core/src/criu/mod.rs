//! Talking to CRIU as runc does: `criu swrk FD`, one end of a SOCK_SEQPACKET socketpair, each
//! request and answer one datagram holding a protobuf message of CRIU's rpc.proto (rpc.rs).
//! What `checkpoint` and `restore` will be built on (issue 13); for now the version and check
//! requests, which also say why CRIU cannot work on a host.

pub mod rpc;

use crate::error::{InitError, Result};
use nix::errno::Errno;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use prost::Message as _;
use std::os::fd::{AsRawFd, OwnedFd};

/// Largest answer read (CRIU's are a few hundred bytes).
const MAX_RESP: usize = 1 << 20;

/// A running `criu swrk`.
pub struct Swrk {
    child: std::process::Child,
    sock: OwnedFd,
    criu: String,
}

impl Swrk {
    /// Starts `criu swrk N`, N its end of the socketpair (inherited: its close-on-exec flag is
    /// cleared for the spawn and our copy closed after). Its own stdio is /dev/null (what it
    /// has to say goes to its log; `criu check` would print "Looks good." into ours).
    pub fn start(criu: &str) -> Result<Swrk> {
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| InitError::sys("socketpair", "criu swrk", e))?;
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(theirs.as_raw_fd(), libc::F_SETFD, 0) };
        let child = std::process::Command::new(criu)
            .arg("swrk")
            .arg(theirs.as_raw_fd().to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| InitError::sys("exec", criu, crate::cgroups::fs::io_errno(&e)).with_detail("criu swrk (is criu installed? --criu PATH)"))?;
        drop(theirs);
        Ok(Swrk { child, sock: ours, criu: criu.to_owned() })
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

    /// Reads one answer; an error when CRIU closed the socket (it exited).
    pub fn recv(&mut self) -> Result<rpc::Resp> {
        let mut buf = vec![0u8; MAX_RESP];
        let n = loop {
            // SAFETY: recv into a live buffer of that size.
            let n = unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            break n;
        };
        if n < 0 {
            return Err(InitError::sys("read from criu", &self.criu, Errno::last()));
        }
        if n == 0 {
            let status = self.child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
            return Err(InitError::msg("criu swrk", &self.criu, format!("exited without an answer ({status})")));
        }
        rpc::Resp::decode(&buf[..n as usize]).map_err(|e| InitError::msg("criu answer", &self.criu, e.to_string()))
    }

    /// One request and its answer.
    pub fn call(&mut self, req: &rpc::Req) -> Result<rpc::Resp> {
        self.send(req)?;
        self.recv()
    }
}

impl Drop for Swrk {
    fn drop(&mut self) {
        // Shutting our end down ends swrk's loop; reap it (it exits on EOF).
        let _ = nix::sys::socket::shutdown(self.sock.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        let _ = self.child.wait();
    }
}

/// CRIU's version, as `runc --version` shows it.
pub fn version(criu: &str) -> Result<rpc::Version> {
    let mut s = Swrk::start(criu)?;
    let resp = s.call(&rpc::Req { r#type: rpc::ReqType::Version as i32, ..Default::default() })?;
    match resp.version {
        Some(v) if resp.success => Ok(v),
        _ => Err(InitError::msg("criu version", criu, "no version in CRIU's answer")),
    }
}

/// CRIU's CHECK request (what `criu check` does): Ok when CRIU can dump and restore on this
/// host; else the error, with the last error line of CRIU's log (in `work_dir`) on it.
pub fn check(criu: &str, work_dir: &std::path::Path) -> Result<()> {
    let dir = nix::fcntl::open(work_dir, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| InitError::sys("open", work_dir.display().to_string(), e))?;
    // The images dir is required by the protocol; the log goes to the work dir.
    // SAFETY: fcntl on a descriptor we own (criu inherits it and resolves it in /proc).
    unsafe { libc::fcntl(dir.as_raw_fd(), libc::F_SETFD, 0) };
    let mut s = Swrk::start(criu)?;
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
    Err(criu_failure("criu check", criu, &resp, &work_dir.join("check.log")))
}

/// The error of a failed request: CRIU's message or errno, and the last error line of its log.
pub fn criu_failure(step: &str, criu: &str, resp: &rpc::Resp, log: &std::path::Path) -> InitError {
    let last = std::fs::read_to_string(log)
        .ok()
        .and_then(|t| t.lines().rev().find(|l| l.contains("Error")).map(|l| l.trim().to_string()));
    let said = resp.cr_errmsg.clone().filter(|m| !m.is_empty());
    let detail = match (said, last) {
        (Some(m), Some(l)) => format!("{m}; {l}"),
        (Some(m), None) => m,
        (None, Some(l)) => l,
        (None, None) => format!("see {}", log.display()),
    };
    InitError { step: step.into(), path: criu.into(), errno: resp.cr_errno.unwrap_or(0), detail }
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
