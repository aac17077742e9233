//! Idmapped mounts (runtime-spec 1.2's mount `uidMappings`/`gidMappings` and the `idmap` and
//! `ridmap` options). The runtime, with the host's privileges, makes each such mount as a
//! detached tree: open_tree(OPEN_TREE_CLONE) of the source (the whole tree for `rbind`), then
//! mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace that holds the mount's mapping (all
//! submounts too for `ridmap`). The init moves the tree onto its destination inside the rootfs
//! (rootfs/mounts.rs) in place of the bind mount.
//!
//! An on-disk id `containerID + n` is seen through the mount as `hostID + n` (the ids of the
//! runtime's user namespace): with the container's own mapping, a file owned by 0 on disk is
//! owned by the container's root, and what the container's root writes there lands owned by 0.

use crate::config::{Config, IdMapping, Mount};
use crate::error::{InitError, Result};
use crate::namespaces::format_id_map;
use crate::rootfs::mount_opts::attr::{self, MountAttr};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const OPEN_TREE_CLONE: libc::c_uint = 1;

/// How a mount of the spec is idmapped, when it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idmap {
    pub uid: Vec<IdMapping>,
    pub gid: Vec<IdMapping>,
    /// `ridmap`: every submount of the tree gets the mapping, not only its top.
    pub recursive: bool,
}

/// Whether `m` is idmapped and with which mapping: its own, or with an `idmap`/`ridmap` option
/// and none of its own, the container's (runtime-spec 1.2). Mappings without either option
/// are `idmap`.
pub fn of_mount(m: &Mount, cfg: &Config) -> Option<Idmap> {
    let ridmap = m.options.iter().any(|o| o == "ridmap");
    let idmap = ridmap || m.options.iter().any(|o| o == "idmap");
    if !idmap && m.uid_mappings.is_empty() && m.gid_mappings.is_empty() {
        return None;
    }
    let pick = |own: &[IdMapping], container: &[IdMapping]| if own.is_empty() { container.to_vec() } else { own.to_vec() };
    Some(Idmap {
        uid: pick(&m.uid_mappings, &cfg.uid_mappings),
        gid: pick(&m.gid_mappings, &cfg.gid_mappings),
        recursive: ridmap,
    })
}

/// The detached, idmapped tree of each idmapped mount of `cfg`, by index in `cfg.mounts`
/// (close-on-exec descriptors), cloned in the mount namespace of the init `pid`, where it is
/// attached: the source resolves as that namespace sees it, and the tree is cloned from it.
/// (On this project's 6.18 kernel a tree cloned in the runtime's namespace attaches there too;
/// the init's own namespace is the conservative choice.) The idmapping needs the runtime's
/// privileges over the filesystem, so a thread of ours does it, with a filesystem context of
/// its own (unshare(CLONE_FS)) so that it can setns(2) alone. One user namespace per distinct
/// mapping.
pub fn trees_in(cfg: &Config, pid: i32) -> Result<Vec<(usize, OwnedFd)>> {
    let wanted: Vec<(usize, &Mount, Idmap)> =
        cfg.mounts.iter().enumerate().filter_map(|(i, m)| of_mount(m, cfg).map(|map| (i, m, map))).collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut userns: Vec<((Vec<IdMapping>, Vec<IdMapping>), OwnedFd)> = Vec::new();
    // (mount index, mount, ridmap, which user namespace)
    let mut jobs: Vec<(usize, &Mount, bool, usize)> = Vec::new();
    for (i, m, map) in wanted {
        let dest = m.destination.as_str();
        if map.uid.is_empty() || map.gid.is_empty() {
            return Err(InitError::msg(
                "idmapped mount",
                dest,
                "needs uidMappings and gidMappings: the mount's, or the container's user namespace's",
            ));
        }
        let key = (map.uid.clone(), map.gid.clone());
        let ns = match userns.iter().position(|(k, _)| *k == key) {
            Some(n) => n,
            None => {
                userns.push((key, userns_with(&map.uid, &map.gid)?));
                userns.len() - 1
            }
        };
        jobs.push((i, m, map.recursive, ns));
    }
    let ns_fds: Vec<RawFd> = userns.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
    let mnt_path = format!("/proc/{pid}/ns/mnt");
    let mnt = nix::fcntl::open(mnt_path.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| InitError::sys("open", &mnt_path, e))?;
    let made = std::thread::scope(|s| {
        s.spawn(|| -> Result<Vec<(usize, OwnedFd)>> {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS).map_err(|e| InitError::sys("unshare", "CLONE_FS", e))?;
            nix::sched::setns(&mnt, nix::sched::CloneFlags::CLONE_NEWNS).map_err(|e| InitError::sys("setns", &mnt_path, e))?;
            jobs.iter()
                .map(|&(i, m, recursive, ns)| {
                    let rbind = m.options.iter().any(|o| o == "rbind");
                    let source = m.source.as_deref().unwrap_or("");
                    Ok((i, idmapped_tree(source, &m.destination, rbind, recursive, ns_fds[ns])?))
                })
                .collect()
        })
        .join()
    });
    made.unwrap_or_else(|_| Err(InitError::msg("idmapped mount", "", "the thread making the trees panicked")))
}

/// open_tree(OPEN_TREE_CLONE) of `source` (with its submounts for `rbind`), idmapped through
/// the user namespace `userns` (the submounts too when `recursive`).
fn idmapped_tree(source: &str, dest: &str, rbind: bool, recursive: bool, userns: RawFd) -> Result<OwnedFd> {
    let path = std::ffi::CString::new(source).map_err(|_| InitError::msg("open_tree", source, "contains a NUL byte"))?;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | if rbind { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: open_tree with a NUL-terminated path; the result is a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if fd < 0 {
        return Err(InitError::sys("open_tree", source, Errno::last()).with_detail(format!("idmapped mount source for {dest}")));
    }
    // SAFETY: a descriptor that nothing else owns.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let attr = MountAttr { attr_set: attr::IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns as u64 };
    let at = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { libc::AT_RECURSIVE as libc::c_uint } else { 0 };
    // SAFETY: the path is an empty C string and attr outlives the call, which reads its size.
    let rc = unsafe {
        libc::syscall(libc::SYS_mount_setattr, tree.as_raw_fd(), c"".as_ptr(), at, &attr as *const MountAttr, std::mem::size_of::<MountAttr>())
    };
    if rc < 0 {
        let e = Errno::last();
        let why = match e {
            Errno::EINVAL => format!("the filesystem of {source} cannot be idmapped here (or a submount of it, with ridmap)"),
            Errno::ENOSYS => "this kernel has no mount_setattr (Linux 5.12+)".to_string(),
            _ => format!("idmapped mount of {source} for {dest}"),
        };
        return Err(InitError::sys("mount_setattr MOUNT_ATTR_IDMAP", dest, e).with_detail(why));
    }
    Ok(tree)
}

/// A descriptor of a new user namespace with these maps. A helper process is cloned into it
/// (sharing our memory, on a stack of its own, every signal blocked: it only sleeps), its maps
/// are written, its namespace opened, and it is killed and reaped.
pub fn userns_with(uid: &[IdMapping], gid: &[IdMapping]) -> Result<OwnedFd> {
    extern "C" fn sleep_forever(_: *mut libc::c_void) -> libc::c_int {
        loop {
            // SAFETY: ppoll on no descriptors with no timeout: blocks until killed. No libc
            // state of the parent's thread is touched (the raw syscall sets no errno on success,
            // and it never returns).
            unsafe { libc::syscall(libc::SYS_ppoll, 0usize, 0usize, 0usize, 0usize) };
        }
    }
    let mut stack = vec![0u8; 64 * 1024];
    // SAFETY: the top of the stack, 16-byte aligned (stacks grow down on every Linux arch we build for).
    let top = unsafe { stack.as_mut_ptr().add(stack.len()) } as usize & !15;
    // SAFETY: sigset calls on local sets; clone with CLONE_VM runs sleep_forever on its own
    // stack, which lives until the child is reaped below.
    let pid = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(sleep_forever, top as *mut libc::c_void, libc::CLONE_VM | libc::CLONE_NEWUSER | libc::SIGCHLD, std::ptr::null_mut());
        let e = Errno::last();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if pid < 0 {
            return Err(InitError::sys("clone", "user namespace", e).with_detail("for an idmapped mount"));
        }
        pid
    };
    let made = (|| {
        for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
            let path = format!("/proc/{pid}/{file}");
            std::fs::write(&path, format_id_map(maps))
                .map_err(|e| InitError::sys("write", &path, crate::cgroups::fs::io_errno(&e)).with_detail("idmapped mount mapping"))?;
        }
        let path = format!("/proc/{pid}/ns/user");
        nix::fcntl::open(path.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
            .map_err(|e| InitError::sys("open", &path, e))
    })();
    // SAFETY: our own child, killed and reaped (its stack is freed only after).
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        while libc::waitpid(pid, std::ptr::null_mut(), 0) < 0 && Errno::last() == Errno::EINTR {}
    }
    drop(stack);
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(c: u32, h: u32, size: u32) -> IdMapping {
        IdMapping { container_id: c, host_id: h, size }
    }

    #[test]
    fn which_mounts_are_idmapped_and_how() {
        let cfg = Config { uid_mappings: vec![map(0, 100000, 65536)], gid_mappings: vec![map(0, 200000, 65536)], ..Default::default() };
        let m = |opts: &[&str], uid: Vec<IdMapping>, gid: Vec<IdMapping>| Mount {
            destination: "/d".into(),
            mount_type: Some("bind".into()),
            source: Some("/s".into()),
            options: opts.iter().map(|o| o.to_string()).collect(),
            uid_mappings: uid,
            gid_mappings: gid,
        };
        assert_eq!(of_mount(&m(&["rbind"], vec![], vec![]), &cfg), None);
        // The option without mappings: the container's.
        let i = of_mount(&m(&["bind", "idmap"], vec![], vec![]), &cfg).unwrap();
        assert_eq!((i.uid, i.gid, i.recursive), (cfg.uid_mappings.clone(), cfg.gid_mappings.clone(), false));
        // Its own mappings, without the option: idmap; ridmap is recursive.
        let own = vec![map(1000, 0, 1)];
        assert_eq!(of_mount(&m(&["bind"], own.clone(), own.clone()), &cfg).unwrap().uid, own);
        assert!(of_mount(&m(&["rbind", "ridmap"], own.clone(), own), &cfg).unwrap().recursive);
    }

    #[test]
    fn a_user_namespace_holds_the_mapping() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let fd = userns_with(&[map(0, 100000, 10), map(10, 5000, 1)], &[map(0, 100000, 10)]).unwrap();
        // A namespace file, not ours.
        let ns = nix::sys::stat::fstat(&fd).unwrap();
        let own = nix::sys::stat::stat("/proc/self/ns/user").unwrap();
        assert_ne!(ns.st_ino, own.st_ino);
        // SAFETY: ioctl NS_GET_OWNER_UID on a namespace descriptor writes one uid_t.
        let mut owner: libc::uid_t = 99;
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), 0xb704 as _, &mut owner) };
        assert_eq!((rc, owner), (0, 0), "owned by the runtime's uid");
    }
}
