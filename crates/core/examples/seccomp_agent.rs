//! A seccomp agent for the tests (runc's contrib/cmd/seccompagent in miniature): listens on a
//! unix socket for the runtime's one message (the container's process state as JSON, the
//! SCMP_ACT_NOTIFY listener as SCM_RIGHTS), writes the JSON to a file, then answers every
//! notification with an errno, until the listener closes (the container is gone).
//!
//! ```text
//! seccomp_agent SOCKET STATE_FILE ERRNO
//! ```

use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use nix::sys::socket::{accept, bind, listen, recvmsg, socket, AddressFamily, Backlog, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, socket_path, state_file, errno] = &args[..] else {
        eprintln!("usage: seccomp_agent SOCKET STATE_FILE ERRNO");
        std::process::exit(2);
    };
    let errno: i32 = errno.parse().expect("ERRNO is a number");
    let tmp = format!("{socket_path}.tmp");
    let _ = std::fs::remove_file(&tmp);
    let sock = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).expect("socket");
    bind(sock.as_raw_fd(), &UnixAddr::new(tmp.as_str()).expect("address")).expect("bind");
    listen(&sock, Backlog::new(1).expect("backlog")).expect("listen");
    // Renamed into place once listening, so that a waiter sees it only when it can connect.
    std::fs::rename(&tmp, socket_path).expect("rename");
    // SAFETY: accept returned a new descriptor, ours.
    let conn = unsafe { OwnedFd::from_raw_fd(accept(sock.as_raw_fd()).expect("accept")) };
    let mut buf = vec![0u8; 1 << 20];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC).expect("recvmsg");
    let mut listener = None;
    for c in msg.cmsgs().expect("cmsgs") {
        if let ControlMessageOwned::ScmRights(fds) = c {
            listener = fds.first().copied();
        }
    }
    let len = msg.bytes;
    std::fs::write(state_file, &buf[..len]).expect("write state");
    let Some(fd) = listener else {
        eprintln!("seccomp_agent: no descriptor came with the message");
        std::process::exit(1);
    };
    loop {
        match ScmpNotifReq::receive(fd) {
            Ok(req) => {
                if let Err(e) = ScmpNotifResp::new_error(req.id, -errno, ScmpNotifRespFlags::empty()).respond(fd) {
                    eprintln!("seccomp_agent: respond: {e}");
                }
            }
            Err(e) => {
                eprintln!("seccomp_agent: receive: {e}");
                break;
            }
        }
    }
}
