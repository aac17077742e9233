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

/// `linux.netDevices`: moves the host interface `name` into the network namespace `netns`
/// (a descriptor of /proc/<pid>/ns/net), renamed `new_name` there, in one RTM_NEWLINK request
/// (IFLA_NET_NS_FD with IFLA_IFNAME: the kernel renames it as it moves it). The runtime does
/// this from the host's namespaces once the init has its own, before the container is built.
pub fn move_device(name: &str, new_name: &str, netns: std::os::fd::BorrowedFd<'_>) -> Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let step = "move network device";
    let what = || format!("{name} -> {new_name}");
    let cname = std::ffi::CString::new(name).map_err(|_| InitError::msg(step, name, "contains a NUL byte"))?;
    // SAFETY: if_nametoindex with a C string.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(InitError::sys(step, what(), Errno::last()).with_detail("no such interface on the host"));
    }
    if new_name.is_empty() || new_name.len() >= libc::IFNAMSIZ {
        return Err(InitError::msg(step, what(), "an interface name has 1 to 15 bytes"));
    }
    // nlmsghdr + ifinfomsg + IFLA_NET_NS_FD (u32) + IFLA_IFNAME (NUL-terminated), each
    // attribute padded to 4 bytes.
    fn attr(buf: &mut Vec<u8>, kind: u16, data: &[u8]) {
        buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(data);
        while buf.len() % 4 != 0 {
            buf.push(0);
        }
    }
    let mut msg = vec![0u8; 16];
    // struct ifinfomsg { u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change }
    msg.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    msg.extend_from_slice(&(index as i32).to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    attr(&mut msg, libc::IFLA_NET_NS_FD, &(netns.as_raw_fd() as u32).to_ne_bytes());
    let mut ifname = new_name.as_bytes().to_vec();
    ifname.push(0);
    attr(&mut msg, libc::IFLA_IFNAME, &ifname);
    let len = msg.len() as u32;
    msg[0..4].copy_from_slice(&len.to_ne_bytes());
    msg[4..6].copy_from_slice(&libc::RTM_NEWLINK.to_ne_bytes());
    msg[6..8].copy_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16).to_ne_bytes());
    msg[8..12].copy_from_slice(&1u32.to_ne_bytes());

    // SAFETY: socket(2); owned below.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if fd < 0 {
        return Err(InitError::sys(step, what(), Errno::last()).with_detail("netlink socket"));
    }
    // SAFETY: the descriptor socket(2) just returned.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: send/recv of plain buffers on our socket (the kernel is the default peer).
    if unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) } < 0 {
        return Err(InitError::sys(step, what(), Errno::last()).with_detail("netlink send"));
    }
    let mut reply = [0u8; 4096];
    let n = unsafe { libc::recv(sock.as_raw_fd(), reply.as_mut_ptr().cast(), reply.len(), 0) };
    if n < 20 {
        return Err(InitError::sys(step, what(), Errno::last()).with_detail("netlink reply"));
    }
    // NLMSG_ERROR carries the request's errno (0: done).
    let kind = u16::from_ne_bytes([reply[4], reply[5]]);
    if kind == libc::NLMSG_ERROR as u16 {
        let code = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
        if code != 0 {
            return Err(InitError::sys(step, what(), Errno::from_raw(-code)));
        }
    }
    Ok(())
}
