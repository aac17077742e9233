//! The network setup runc does for a new network namespace: only the loopback interface, up
//! (runc's specconv adds a "loopback" network whenever it creates a network namespace).

use crate::error::{InitError, Result};
use nix::errno::Errno;

/// Brings `lo` up in the current network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS, IFF_UP).
pub fn loopback_up() -> Result<()> {
    // SAFETY: plain socket(2); closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(InitError::sys("socket", "lo", Errno::last()));
    }
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: ioctls on a live socket with a properly sized ifreq.
    let r = unsafe {
        if libc::ioctl(sock, libc::SIOCGIFFLAGS as _, &mut req) < 0 {
            -1
        } else {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            libc::ioctl(sock, libc::SIOCSIFFLAGS as _, &req)
        }
    };
    let err = Errno::last();
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(sock) };
    if r < 0 {
        return Err(InitError::sys("bring up loopback", "lo", err));
    }
    Ok(())
}
