//! What the runtime hands stage 1 across its execve: the config, the init options and the
//! descriptor numbers it inherits, as JSON in a memfd (any size: a datagram of the sync socket
//! is bounded by its buffer), and the entry point of the init program, [`main`].
//!
//! ```text
//!  runtime                                       init program (stage 1)
//!  Plan::new (checks, opens fds)
//!  memfd "runts-bootstrap" <- JSON {cfg, opts, inherited}
//!  posix_spawn(init program,
//!    argv ["runts:[1:CHILD]", <sync fd>, <bootstrap fd>],
//!    no environment, fds inherited by number) --->  main(): read and close the bootstrap,
//!                                                   Plan::adopt, stage 1 (sync.rs diagram)
//! ```

use super::plan::{Inherited, Plan};
use super::stage1;
use super::util::{exit_now, fail};
use crate::config::{Config, InitOptions};
use crate::error::{InitError, Result};
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The process name of stage 1 (argv[0] of the init program, and its comm).
pub(crate) const STAGE1_NAME: &std::ffi::CStr = c"runts:[1:CHILD]";

#[derive(serde::Serialize)]
struct Outgoing<'a> {
    cfg: &'a Config,
    opts: &'a InitOptions,
    inherited: &'a Inherited,
}

#[derive(serde::Deserialize)]
struct Incoming {
    cfg: Config,
    opts: InitOptions,
    inherited: Inherited,
}

/// The bootstrap of `plan` and the descriptors stage 1 inherits, in a memfd for stage 1.
pub(crate) fn write(plan: &Plan<'_>, inherited: &Inherited) -> Result<OwnedFd> {
    let out = Outgoing { cfg: plan.cfg, opts: plan.opts, inherited };
    let json = serde_json::to_vec(&out).map_err(|e| InitError::msg("bootstrap", "", e.to_string()))?;
    super::program::memfd_with(c"runts-bootstrap", &json, false)
}

fn read(fd: RawFd) -> Result<Incoming> {
    // SAFETY: the runtime passed this descriptor for us alone; it is closed when dropped here.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut json = Vec::new();
    file.read_to_end(&mut json)
        .map_err(|e| InitError::sys("read bootstrap", fd.to_string(), super::util::errno_of(&e)))?;
    serde_json::from_slice(&json).map_err(|e| InitError::msg("read bootstrap", fd.to_string(), e.to_string()))
}

/// The init program's `main`: stage 1, then (in its clone) the container init. Never returns.
pub fn main() -> ! {
    let args: Vec<String> = std::env::args().collect();
    let fd = |i: usize| args.get(i).and_then(|a| a.parse::<RawFd>().ok()).filter(|fd| *fd > 2);
    let (Some(sock), Some(boot)) = (fd(1), fd(2)) else {
        let line = "runts-init: this program is started by the runts runtime, not by hand\n";
        // SAFETY: writing a static buffer to fd 2.
        unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
        exit_now(2)
    };
    let incoming = match read(boot) {
        Ok(b) => Box::leak(Box::new(b)),
        Err(e) => fail(sock, e),
    };
    match Plan::adopt(&incoming.cfg, &incoming.opts, &incoming.inherited) {
        Ok(plan) => stage1::run(plan, sock),
        Err(e) => fail(sock, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_field() {
        let cfg = Config {
            id: "c1".into(),
            hostname: Some("h".into()),
            process: crate::config::Process { args: vec!["true".into()], env: vec!["A=b".into()], ..Default::default() },
            ..Default::default()
        };
        let opts = InitOptions { preserve_fds: 2, exec_fifo: Some("/run/x/exec.fifo".into()), ..Default::default() };
        let seccomp = Some(crate::seccomp::Filter { program: vec![6, 0, 0, 0, 0, 0, 0xff, 0x7f], flags: 2, notify: true });
        let inherited = Inherited { joins: vec![7, 8], fifo: Some(9), parent_pid: 42, seccomp };
        let json = serde_json::to_vec(&Outgoing { cfg: &cfg, opts: &opts, inherited: &inherited }).unwrap();
        let back: Incoming = serde_json::from_slice(&json).unwrap();
        assert_eq!(format!("{:?}", back.cfg), format!("{cfg:?}"));
        assert_eq!(format!("{:?}", back.opts), format!("{opts:?}"));
        assert_eq!(back.inherited, inherited);
    }
}
