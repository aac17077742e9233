//! One spec mount: create the destination inside the rootfs, mount, then the follow-up calls
//! runc makes (remount of a bind with flags, chmod of a tmpfs root, propagation, recursive
//! attributes). Every call goes through `/proc/self/fd/<fd>` of the resolved destination.

use super::cgroup;
use super::path::{self, InRoot};
use crate::config::{Config, Mount};
use crate::error::{InitError, Result};
use crate::rootfs::mount_opts::{self, attr::MountAttr, MountOptions};
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fchmodat, fstatat, stat, FchmodatFlags, Mode, SFlag};
use nix::sys::statfs::{statfs, PROC_SUPER_MAGIC};
use nix::sys::statvfs::{fstatvfs, FsFlags};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

/// Mount flags that a remount must repeat or the kernel refuses it inside a user namespace
/// (they are locked, mount_namespaces(7)) and that runc's readonlyPath keeps.
pub(super) const KEPT: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Files under /proc that may be mounted over: the ones lxcfs emulates (runc's checkProcMount).
const PROC_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// How a mount call is described in errors: `source "proc", type "proc", flags 0xe`.
pub(super) fn describe(
    source: Option<&str>,
    fs_type: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if let Some(s) = source {
        parts.push(format!("source {s:?}"));
    }
    if let Some(t) = fs_type {
        parts.push(format!("type {t:?}"));
    }
    parts.push(format!("flags {:#x}", flags.bits()));
    if let Some(d) = data {
        parts.push(format!("data {d:?}"));
    }
    parts.join(", ")
}

/// mount(2) onto a resolved destination; `dest` is the container path for the error.
pub(super) fn mount_at(
    source: Option<&str>,
    target: &InRoot,
    fs_type: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    dest: &str,
) -> Result<()> {
    mount(source, target.mount_target().as_str(), fs_type, flags, data).map_err(|e| {
        InitError::sys("mount", dest, e).with_detail(describe(source, fs_type, flags, data))
    })
}

/// The nosuid/nodev/noexec (and ro) flags a mount has now, from statvfs(3).
pub(super) fn current_flags(target: &InRoot) -> Result<MsFlags> {
    let st = fstatvfs(target.fd.as_fd()).map_err(|e| InitError::sys("statfs", &target.path, e))?;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (st_flag, ms_flag) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if f.contains(st_flag) {
            out |= ms_flag;
        }
    }
    Ok(out)
}

/// Changes the per-mount flags of the mount at `target` (MS_REMOUNT|MS_BIND|flags). The atime
/// setting is kept by the kernel when no atime flag is given. Inside a user namespace the
/// flags the mount already has may be locked; on EPERM we retry with them added (crun does the
/// same; runc retries with MS_RDONLY only).
pub(super) fn remount(target: &InRoot, dest: &str, flags: MsFlags, step: &str) -> Result<()> {
    let flags = (flags - MsFlags::MS_REC) | MsFlags::MS_REMOUNT | MsFlags::MS_BIND;
    let call = |f: MsFlags| {
        mount(
            None::<&str>,
            target.mount_target().as_str(),
            None::<&str>,
            f,
            None::<&str>,
        )
    };
    match call(flags) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM) => {
            let locked = current_flags(target)?;
            let retry = flags | locked;
            call(retry).map_err(|e| {
                InitError::sys(step, dest, e).with_detail(describe(None, None, retry, None))
            })
        }
        Err(e) => Err(InitError::sys(step, dest, e).with_detail(describe(None, None, flags, None))),
    }
}

/// Each propagation change as its own mount(2) call, on the mount now at `dest`.
pub(super) fn propagate(root: BorrowedFd<'_>, dest: &str, changes: &[MsFlags]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let target = path::resolve(root, dest)?;
    for &p in changes {
        mount(
            None::<&str>,
            target.mount_target().as_str(),
            None::<&str>,
            p,
            None::<&str>,
        )
        .map_err(|e| {
            InitError::sys("set propagation", dest, e).with_detail(describe(None, None, p, None))
        })?;
    }
    Ok(())
}

/// mount_setattr(fd, "", AT_EMPTY_PATH|AT_RECURSIVE): the `r*` options, on the whole tree.
fn set_recursive_attrs(root: BorrowedFd<'_>, dest: &str, set: u64, clr: u64) -> Result<()> {
    let target = path::resolve(root, dest)?;
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a NUL-terminated empty string and attr lives across the call; the
    // kernel reads size_of::<MountAttr>() bytes from it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            target.fd.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(rc).map(drop).map_err(|e| {
        InitError::sys("mount_setattr", dest, e)
            .with_detail(format!("attr_set {set:#x}, attr_clr {clr:#x}"))
    })
}

fn is_procfs(path: &str) -> bool {
    statfs(path)
        .map(|s| s.filesystem_type() == PROC_SUPER_MAGIC)
        .unwrap_or(false)
}

/// Nothing but a proc filesystem on /proc, and nothing inside /proc except the files lxcfs
/// emulates: a mount there could hide what maskedPaths and readonlyPaths protect (runc's
/// checkProcMount).
fn check_proc(dest: &str, source: &str) -> Result<()> {
    if !super::mountinfo::is_under(dest, "/proc") {
        return Ok(());
    }
    if dest == "/proc" {
        if is_procfs(source) {
            return Ok(());
        }
        return Err(InitError::msg(
            "mount",
            dest,
            format!("{source:?} is not a proc filesystem"),
        ));
    }
    if PROC_ALLOWED.contains(&dest) {
        return Ok(());
    }
    Err(InitError::msg(
        "mount",
        dest,
        "mount points inside /proc are not allowed",
    ))
}

/// A bind mount: the destination is a directory or an empty file like the source; the flags
/// other than MS_BIND|MS_REC need a remount, as bind ignores them.
pub(super) fn bind(
    root: BorrowedFd<'_>,
    dest: &str,
    source: &str,
    flags: MsFlags,
    changes: &[MsFlags],
    tree: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let st = stat(source).map_err(|e| {
        InitError::sys("stat", source, e).with_detail(format!("bind source for {dest}"))
    })?;
    let is_dir = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR;
    check_proc(dest, source)?;
    let target = if is_dir {
        path::mkdir_all(root, dest, Mode::from_bits_truncate(0o755))?
    } else {
        path::create_file(root, dest, Mode::from_bits_truncate(0o755))?
    };
    check_proc(&target.path, source)?;
    let bind_flags = MsFlags::MS_BIND | (flags & MsFlags::MS_REC);
    match tree {
        Some(tree) => move_tree(tree, &target, dest)?,
        None => mount_at(Some(source), &target, None, bind_flags, None, dest)?,
    }
    let extra = flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    if !extra.is_empty() {
        let target = path::resolve(root, dest)?;
        remount(&target, dest, extra, "remount")?;
    }
    propagate(root, dest, changes)
}

/// move_mount(2) of a detached tree (an idmapped mount the runtime made) onto `target`, given
/// by its descriptor (MOVE_MOUNT_T_EMPTY_PATH: the kernel refuses the /proc/self/fd path of it
/// with EINVAL).
fn move_tree(tree: BorrowedFd<'_>, target: &InRoot, dest: &str) -> Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
    // SAFETY: move_mount between two descriptors we hold, with empty C strings for the paths.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.fd.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(rc).map(drop).map_err(|e| InitError::sys("move_mount", dest, e).with_detail("the idmapped mount"))
}

/// A tmpfs. As runc: mounted read-write first, its root given the mode the directory had
/// before (a tmpfs on /tmp stays 1777, on /sys/fs/cgroup stays 555), then made read-only,
/// except /dev which finalize makes read-only once the devices are in. With `copyup`
/// (`tmpcopyup`), what the directory held is copied in before that.
pub(super) fn tmpfs(
    root: BorrowedFd<'_>,
    dest: &str,
    source: &str,
    flags: MsFlags,
    data: Option<&str>,
    changes: &[MsFlags],
    copyup: bool,
) -> Result<()> {
    let mut lower = None;
    let before = match path::resolve(root, dest) {
        Ok(existing) => {
            let st =
                nix::sys::stat::fstat(&existing.fd).map_err(|e| InitError::sys("stat", dest, e))?;
            // Held open across the mount: the descriptor still reaches the directory the tmpfs
            // then hides (runc mounts on a temporary directory and moves it instead).
            if copyup && existing.is_dir()? {
                lower = Some(super::copyup::open_dir(existing.fd.as_fd(), dest)?);
            }
            Some(Mode::from_bits_truncate(st.st_mode & 0o7777))
        }
        Err(e) if e.errno == Errno::ENOENT as i32 => None,
        Err(e) => return Err(e),
    };
    let target = path::mkdir_all(root, dest, Mode::from_bits_truncate(0o755))?;
    mount_at(
        Some(source),
        &target,
        Some("tmpfs"),
        flags - MsFlags::MS_RDONLY,
        data,
        dest,
    )?;
    let target = path::resolve(root, dest)?;
    if let Some(lower) = lower {
        let upper = super::copyup::open_dir(target.fd.as_fd(), dest)?;
        super::copyup::copy_dir(lower.as_fd(), upper.as_fd(), dest)?;
    }
    if let Some(mode) = before {
        fchmodat(
            AT_CWD,
            target.mount_target().as_str(),
            mode,
            FchmodatFlags::FollowSymlink,
        )
        .map_err(|e| {
            InitError::sys("chmod", dest, e).with_detail(format!("mode {:o}", mode.bits()))
        })?;
    }
    if flags.contains(MsFlags::MS_RDONLY) && dest != "/dev" {
        // A tmpfs, not a bind: MS_REMOUNT alone makes the superblock read-only, as runc does.
        let f = flags | MsFlags::MS_REMOUNT;
        mount(
            None::<&str>,
            target.mount_target().as_str(),
            None::<&str>,
            f,
            None::<&str>,
        )
        .map_err(|e| {
            InitError::sys("remount read-only", dest, e).with_detail(describe(None, None, f, None))
        })?;
    }
    propagate(root, dest, changes)
}

const AT_CWD: BorrowedFd<'static> = unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) };

/// Any other filesystem (proc, sysfs, devpts, mqueue, overlay, ...) on a directory.
fn filesystem(
    root: BorrowedFd<'_>,
    dest: &str,
    source: &str,
    fs_type: &str,
    flags: MsFlags,
    data: Option<&str>,
    changes: &[MsFlags],
) -> Result<()> {
    let target = path::mkdir_all(root, dest, Mode::from_bits_truncate(0o755))?;
    // /dev gets its nodes after this; finalize makes it read-only if asked (runc).
    let flags = if dest == "/dev" {
        flags - MsFlags::MS_RDONLY
    } else {
        flags
    };
    mount_at(Some(source), &target, Some(fs_type), flags, data, dest)?;
    propagate(root, dest, changes)
}

/// proc and sysfs only on a real directory, never through a symlink in its place: an old
/// attack swapped /proc for a link to redirect the mount (runc refuses the same way).
fn check_ordinary_dir(root: BorrowedFd<'_>, dest: &str, fs_type: &str) -> Result<()> {
    let (dir, name) = path::parent(root, dest, Mode::from_bits_truncate(0o755))?;
    match fstatat(dir.fd.as_fd(), name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st)
            if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFDIR =>
        {
            Err(InitError::msg(
                "mount",
                dest,
                format!("{fs_type} must be mounted on an ordinary directory"),
            ))
        }
        Ok(_) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(InitError::sys("stat", dest, e)),
    }
}

/// The host path of a bind source; relative sources are relative to the bundle (runc).
fn bind_source(m: &Mount, cfg: &Config, dest: &str) -> Result<String> {
    let source = m.source.as_deref().unwrap_or("");
    if source.is_empty() {
        return Err(InitError::msg("mount", dest, "bind mount without a source"));
    }
    if source.starts_with('/') {
        Ok(source.to_owned())
    } else {
        Ok(format!("{}/{}", cfg.bundle.trim_end_matches('/'), source))
    }
}

/// Makes one `mounts` entry of the spec, inside the rootfs open at `root`.
/// `tree`: the detached idmapped tree of this mount, moved into place instead of a bind mount.
pub(super) fn mount_entry(root: BorrowedFd<'_>, m: &Mount, cfg: &Config, tree: Option<BorrowedFd<'_>>) -> Result<()> {
    let dest = path::clean(&m.destination);
    let opts: MountOptions = mount_opts::parse(&m.options);
    let fs_type = m.mount_type.as_deref().unwrap_or("");
    let source = m
        .source
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(fs_type);
    if opts.is_bind() || fs_type == "bind" {
        let source = bind_source(m, cfg, &dest)?;
        bind(
            root,
            &dest,
            &source,
            opts.flags | MsFlags::MS_BIND,
            &opts.propagation,
            tree,
        )?;
    } else {
        match fs_type {
            "" => {
                return Err(InitError::msg(
                    "mount",
                    &dest,
                    "no type and not a bind mount",
                ))
            }
            "cgroup" => cgroup::mount(root, &dest, source, &opts, cfg)?,
            "proc" | "sysfs" => {
                check_ordinary_dir(root, &dest, fs_type)?;
                filesystem(
                    root,
                    &dest,
                    source,
                    fs_type,
                    opts.flags,
                    opts.data(),
                    &opts.propagation,
                )?;
            }
            "tmpfs" => {
                check_proc(&dest, source)?;
                let data = labelled(opts.data(), cfg.mount_label.as_deref());
                tmpfs(
                    root,
                    &dest,
                    source,
                    opts.flags,
                    data.as_deref(),
                    &opts.propagation,
                    // On other filesystems runc ignores it too.
                    opts.tmpcopyup,
                )?;
            }
            _ => {
                check_proc(&dest, source)?;
                let data = labelled(opts.data(), cfg.mount_label.as_deref());
                filesystem(
                    root,
                    &dest,
                    source,
                    fs_type,
                    opts.flags,
                    data.as_deref(),
                    &opts.propagation,
                )?;
            }
        }
    }
    if opts.has_recursive_attrs() {
        set_recursive_attrs(root, &dest, opts.attr_set, opts.attr_clr)?;
    }
    Ok(())
}/// `linux.mountLabel` as SELinux's `context=` mount option (runc's label.FormatMountLabel):
/// for the filesystems the runtime makes (tmpfs, devpts, mqueue, ...), not binds, proc,
/// sysfs or cgroups, which keep their own labels. The TypeScript side passes a label only when
/// the host has SELinux.
pub(crate) fn labelled(data: Option<&str>, label: Option<&str>) -> Option<String> {
    match (data.filter(|d| !d.is_empty()), label.filter(|l| !l.is_empty())) {
        (d, None) => d.map(str::to_owned),
        (None, Some(l)) => Some(format!("context=\"{l}\"")),
        (Some(d), Some(l)) => Some(format!("{d},context=\"{l}\"")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn mount_label_as_a_context_option() {
        assert_eq!(super::labelled(Some("mode=755"), None).as_deref(), Some("mode=755"));
        assert_eq!(
            super::labelled(None, Some("system_u:object_r:container_file_t:s0")).as_deref(),
            Some("context=\"system_u:object_r:container_file_t:s0\"")
        );
        assert_eq!(super::labelled(Some("mode=755,size=65536k"), Some("l")).as_deref(), Some("mode=755,size=65536k,context=\"l\""));
        assert_eq!(super::labelled(Some(""), None), None);
    }
}
