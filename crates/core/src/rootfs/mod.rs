//! The container's root filesystem, built by the init inside its new mount namespace.
//!
//! The three entry points are the contract with `process::init`, called in this order in the
//! single-threaded init (after it has entered its namespaces, its cgroups and set the hostname,
//! before it drops privileges):
//!
//! ```text
//!   prepare(cfg)          propagation of /, rootfs bound onto itself, spec mounts in order,
//!                         /dev nodes and links            (host / still visible)
//!   [prestart hooks, console]
//!   enter(cfg, no_pivot)  pivot_root (or MS_MOVE + chroot), /dev/null stdio re-opened,
//!                         process.cwd created             (now inside the rootfs)
//!   [sysctl writes: /proc/sys is still writable here]
//!   finalize(cfg)         /dev and / read-only if asked, readonlyPaths, maskedPaths,
//!                         shared/unbindable rootfsPropagation on the new /
//! ```
//!
//! Layout: [`path`] resolves container paths inside the rootfs without leaving it, [`mounts`]
//! makes one spec mount, [`cgroup`] the `cgroup` mount, [`devices`] /dev, [`mountinfo`] reads
//! the mount table. Behaviour follows runc 1.1 (checked against runc 1.1.5's mount table on the
//! same bundle); differences are noted where they are.

pub mod cgroup;
mod copyup;
mod devices;
pub mod mount_opts;
pub mod mountinfo;
mod mounts;
pub mod path;
pub use devices::device_list;
#[cfg(test)]
mod root_tests;

use crate::config::Config;
use crate::error::{InitError, Result, StepExt};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, umask, Mode, SFlag};
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// Sets the umask for the life of the guard: 0 while we create directories and device nodes,
/// so their modes are the ones asked for.
struct UmaskGuard(Mode);

impl UmaskGuard {
    fn set(mode: Mode) -> Self {
        UmaskGuard(umask(mode))
    }
}

impl Drop for UmaskGuard {
    fn drop(&mut self) {
        umask(self.0);
    }
}

/// The rootfs on the host with symlinks resolved: mountinfo shows real paths, and MS_MOVE
/// needs the mount point itself.
fn host_rootfs(cfg: &Config) -> Result<String> {
    std::fs::canonicalize(&cfg.rootfs)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| {
            InitError::sys(
                "realpath",
                &cfg.rootfs,
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            )
        })
}

/// `linux.rootfsPropagation`: the flags for / before the pivot, and those for the new / after
/// it, if any. Unset means MS_SLAVE|MS_REC (runc's default): nothing we mount propagates back
/// to the host while host mounts still reach us.
///
/// Shared and unbindable need a second call after the pivot (runc issue #1755, fixed in runc
/// 1.3 / 1.2.7 by PR #4724; runc 1.1 ends up private): the rootfs is bound from a parent made
/// private, so the new / is private until then. Unbindable cannot be set before the pivot at
/// all, since the rootfs could then not be bound onto itself: private until the pivot.
fn root_propagation(cfg: &Config) -> Result<(MsFlags, Option<MsFlags>)> {
    let name = match cfg.rootfs_propagation.as_deref() {
        None | Some("") => return Ok((MsFlags::MS_SLAVE | MsFlags::MS_REC, None)),
        Some(name) => name,
    };
    let flags = mount_opts::propagation(name).ok_or_else(|| {
        InitError::msg(
            "set propagation",
            "/",
            format!("unknown rootfsPropagation {name:?}"),
        )
    })?;
    Ok(if flags.contains(MsFlags::MS_UNBINDABLE) {
        (
            (flags - MsFlags::MS_UNBINDABLE) | MsFlags::MS_PRIVATE,
            Some(flags),
        )
    } else if flags.contains(MsFlags::MS_SHARED) {
        (flags, Some(flags))
    } else {
        (flags, None)
    })
}

fn open_dir(path: &str, flags: OFlag) -> Result<OwnedFd> {
    open(
        path,
        flags | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .step("open", path)
}

/// pivot_root(2) refuses a new root whose parent mount is shared, and a shared parent would
/// also carry our bind of the rootfs to the host: make it private if it is (runc's
/// rootfsParentMountPrivate).
fn make_parent_private(rootfs: &str) -> Result<()> {
    let table = mountinfo::read()?;
    if let Some(parent) = mountinfo::containing(&table, rootfs) {
        if parent.is_shared() {
            mount(
                None::<&str>,
                parent.mount_point.as_str(),
                None::<&str>,
                MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .step("make private", &parent.mount_point)
            .map_err(|e| e.with_detail(format!("parent mount of the rootfs {rootfs}")))?;
        }
    }
    Ok(())
}

/// Before the pivot: propagation of /, the rootfs bound onto itself (so it is a mount point we
/// can pivot to), every spec mount in order, then /dev.
/// `idmapped` holds the detached tree of each idmapped mount, by index in `cfg.mounts`.
pub fn prepare(cfg: &Config, idmapped: &[(usize, std::os::fd::OwnedFd)]) -> Result<()> {
    let _umask = UmaskGuard::set(Mode::empty());
    if !cfg.has_ns("mount") {
        return check_shared_mount_ns(cfg);
    }
    let rootfs = host_rootfs(cfg)?;
    let (propagation, _) = root_propagation(cfg)?;
    mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>)
        .step("set propagation", "/")
        .map_err(|e| e.with_detail(format!("flags {:#x}", propagation.bits())))?;
    make_parent_private(&rootfs)?;
    mount(
        Some(rootfs.as_str()),
        rootfs.as_str(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .step("mount", &rootfs)
    .map_err(|e| e.with_detail("bind the rootfs onto itself"))?;
    // Opened after the bind, so it is the root of the new mount that the spec mounts go under.
    let root = open_dir(&rootfs, OFlag::O_PATH)?;
    for (i, m) in cfg.mounts.iter().enumerate() {
        let tree = idmapped.iter().find(|(n, _)| *n == i).map(|(_, fd)| fd.as_fd());
        mounts::mount_entry(root.as_fd(), m, cfg, tree)?;
    }
    if devices::needs_setup(cfg) {
        devices::setup(root.as_fd(), cfg)?;
    }
    Ok(())
}

/// Without a mount namespace of its own (neither new nor joined) the container shares the one
/// runts was started in, where a mount would reach every process of the host (runc 1.1 mounts
/// there, and makes `/` rslave). runts never changes that namespace: a config asking for
/// anything mounted is refused (validation reports it first, with the JSON paths), and the init
/// only chroots into the rootfs.
fn check_shared_mount_ns(cfg: &Config) -> Result<()> {
    let asks = [
        (!cfg.mounts.is_empty(), "mounts"),
        (cfg.rootfs_readonly, "root.readonly"),
        (cfg.rootfs_propagation.is_some(), "linux.rootfsPropagation"),
        (!cfg.masked_paths.is_empty(), "linux.maskedPaths"),
        (!cfg.readonly_paths.is_empty(), "linux.readonlyPaths"),
    ];
    match asks.iter().find(|(asked, _)| *asked) {
        Some((_, field)) => Err(InitError::msg(
            "rootfs",
            *field,
            "needs a mount namespace: linux.namespaces has no \"mount\", and runts does not mount in the namespace it was started in",
        )),
        None => Ok(()),
    }
}

/// runc's pivotRoot: pivot_root(".", ".") stacks the old root on top of the new one at the same
/// place, so no put_old directory is needed in the image; then the old root is detached.
fn pivot(rootfs: &str) -> Result<()> {
    let old = open_dir("/", OFlag::O_RDONLY)?;
    let new = open_dir(rootfs, OFlag::O_RDONLY)?;
    fchdir(&new).step("fchdir", rootfs)?;
    pivot_root(".", ".").step("pivot_root", rootfs)?;
    fchdir(&old).step("fchdir", "old root")?;
    // The old root is the host's tree: rslave first, so detaching it does not propagate.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .step("set propagation", "old root")?;
    umount2(".", MntFlags::MNT_DETACH).step("umount", "old root")?;
    chdir("/").step("chdir", "/")
}

/// `--no-pivot` (runc's msMoveRoot): the host's proc and sysfs mounts outside the rootfs stay
/// reachable under chroot, and the kernel lets a new proc/sysfs be mounted only when no fully
/// visible one is hidden by masks (mount_too_revealing), so they are detached (or covered with
/// a tmpfs when that is refused) before the rootfs is moved onto / and chrooted into.
fn move_root(rootfs: &str) -> Result<()> {
    let table = mountinfo::read()?;
    for m in table.iter().filter(|m| {
        m.root == "/"
            && (m.fs_type == "proc" || m.fs_type == "sysfs")
            && !mountinfo::is_under(&m.mount_point, rootfs)
    }) {
        let mp = m.mount_point.as_str();
        match mount(
            None::<&str>,
            mp,
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        ) {
            Ok(()) => {}
            // A parent was detached already.
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(InitError::sys("set propagation", mp, e)),
        }
        match umount2(mp, MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(Errno::EINVAL) | Err(Errno::EPERM) => {
                mount(
                    Some("tmpfs"),
                    mp,
                    Some("tmpfs"),
                    MsFlags::empty(),
                    None::<&str>,
                )
                .step("mount", mp)
                .map_err(|e| e.with_detail("cover the host's filesystem"))?;
            }
            Err(e) => return Err(InitError::sys("umount", mp, e)),
        }
    }
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .step("mount", rootfs)
    .map_err(|e| e.with_detail("move the rootfs onto /"))?;
    chroot(".").step("chroot", rootfs)?;
    chdir("/").step("chdir", "/")
}

/// stdio that is the host's /dev/null becomes the container's (runc's reOpenDevNull), so the
/// process cannot reach a host inode through /proc/self/fd/0.
fn reopen_dev_null() -> Result<()> {
    let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .step("open", "/dev/null")?;
    let null_st = fstat(&null).step("stat", "/dev/null")?;
    for fd in 0..3 {
        // SAFETY: 0..3 are only looked at while this function runs; a closed one gives EBADF.
        let st = match fstat(unsafe { BorrowedFd::borrow_raw(fd) }) {
            Ok(st) => st,
            Err(Errno::EBADF) => continue,
            Err(e) => return Err(InitError::sys("stat", format!("fd {fd}"), e)),
        };
        let is_chr = st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFCHR.bits();
        if is_chr && st.st_rdev == null_st.st_rdev {
            // SAFETY: plain dup3 onto a stdio number; `null` stays open until after the call.
            let rc = unsafe { libc::dup3(null.as_raw_fd(), fd, 0) };
            Errno::result(rc).step("dup3", &format!("/dev/null onto fd {fd}"))?;
        }
    }
    Ok(())
}

/// Makes the rootfs the new / and the cwd "/", then re-opens /dev/null stdio and creates
/// `process.cwd` (as root, before the user switch, like runc).
pub fn enter(cfg: &Config, no_pivot: bool) -> Result<()> {
    let _umask = UmaskGuard::set(Mode::empty());
    let rootfs = host_rootfs(cfg)?;
    chdir(rootfs.as_str()).step("chdir", &rootfs)?;
    if !cfg.has_ns("mount") {
        // The caller's mount namespace: chroot, as runc does there; pivot_root would change
        // the root of every process in it.
        chroot(".").step("chroot", &rootfs)?;
        chdir("/").step("chdir", "/")?;
    } else if no_pivot {
        move_root(&rootfs)?;
    } else {
        pivot(&rootfs)?;
    }
    // /proc is now the container's, if it has one.
    path::forget_procfs();
    if cfg.has_ns("mount") && devices::needs_setup(cfg) {
        reopen_dev_null()?;
    }
    if !cfg.process.cwd.is_empty() {
        let root = open_dir("/", OFlag::O_PATH)?;
        path::mkdir_all(
            root.as_fd(),
            &cfg.process.cwd,
            Mode::from_bits_truncate(0o755),
        )?;
    }
    Ok(())
}

/// Bind remount read-only of the mount at `path`, keeping its nosuid/nodev/noexec.
fn remount_read_only(root: BorrowedFd<'_>, path: &str) -> Result<()> {
    let target = path::resolve(root, path)?;
    let flags = MsFlags::MS_RDONLY | (mounts::current_flags(&target)? & mounts::KEPT);
    mounts::remount(&target, path, flags, "remount read-only")
}

fn skip_missing<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.errno == Errno::ENOENT as i32 => Ok(None),
        Err(e) => Err(e),
    }
}

/// A readonlyPaths entry: bound onto itself (recursively) and the bind made read-only.
fn readonly_path(root: BorrowedFd<'_>, path: &str) -> Result<()> {
    let Some(target) = skip_missing(path::resolve(root, path))? else {
        return Ok(());
    };
    let at = target.mount_target();
    let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
    mount(
        Some(at.as_str()),
        at.as_str(),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .step("mount", path)
    .map_err(|e| e.with_detail(format!("bind onto itself, flags {:#x}", flags.bits())))?;
    remount_read_only(root, path)
}

/// The container's /dev/null as the source of masks: opened without following a link and
/// checked to be the null device (1:3) itself, then bound from that descriptor. A rootfs that
/// makes it a symlink (to /proc/sys/kernel/core_pattern, CVE-2025-31133) or another file, or
/// a container racing the mount through a shared /dev, cannot get a writable host file bound
/// over the masked paths.
fn dev_null() -> Result<path::InRoot> {
    let fd = open("/dev/null", OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .step("open", "/dev/null")?;
    let st = fstat(&fd).step("stat", "/dev/null")?;
    let is_chr = st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFCHR.bits();
    if !is_chr || st.st_rdev != nix::sys::stat::makedev(1, 3) {
        return Err(InitError::msg(
            "mask",
            "/dev/null",
            "not the null device (a symlink or another file): refusing to mask with it",
        ));
    }
    Ok(path::InRoot { fd, path: "/dev/null".into() })
}

/// What masks are bound from, each made (or opened and checked) once: /dev/null for files, and
/// one empty read-only tmpfs for every directory (Kubernetes masks a directory per CPU, and
/// a tmpfs each contends in the kernel, runc#5275).
#[derive(Default)]
struct Masks {
    null: Option<path::InRoot>,
    dir: Option<path::InRoot>,
}

/// A maskedPaths entry: /dev/null bound over a file, the empty read-only tmpfs over a directory.
fn mask_path(root: BorrowedFd<'_>, path: &str, masks: &mut Masks) -> Result<()> {
    let Some(target) = skip_missing(path::resolve(root, path))? else {
        return Ok(());
    };
    if target.is_dir()? {
        if let Some(empty) = &masks.dir {
            return mounts::mount_at(Some(empty.mount_target().as_str()), &target, None, MsFlags::MS_BIND, None, path);
        }
        mounts::mount_at(
            Some("tmpfs"),
            &target,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None,
            path,
        )?;
        // The tmpfs just mounted there, for the next masked directories to bind.
        masks.dir = Some(path::resolve(root, path)?);
        Ok(())
    } else {
        let source = match &mut masks.null {
            Some(n) => n,
            None => masks.null.insert(dev_null()?),
        };
        mounts::mount_at(
            Some(source.mount_target().as_str()),
            &target,
            None,
            MsFlags::MS_BIND,
            None,
            path,
        )
    }
}

/// After the pivot: /dev read-only if its mount asked for it (deferred so the nodes could be
/// made), / read-only for `root.readonly`, then readonlyPaths and maskedPaths (missing ones
/// skipped), then a shared/unbindable rootfsPropagation. Sysctls must be written before
/// this: /proc/sys is usually a readonly path.
pub fn finalize(cfg: &Config) -> Result<()> {
    if !cfg.has_ns("mount") {
        return Ok(());
    }
    let root = open_dir("/", OFlag::O_PATH)?;
    let root = root.as_fd();
    if let Some(m) = cfg
        .mounts
        .iter()
        .find(|m| path::clean(&m.destination) == "/dev")
    {
        if mount_opts::parse(&m.options)
            .flags
            .contains(MsFlags::MS_RDONLY)
        {
            remount_read_only(root, "/dev")?;
        }
    }
    if cfg.rootfs_readonly {
        remount_read_only(root, "/")?;
    }
    for p in &cfg.readonly_paths {
        readonly_path(root, p)?;
    }
    let mut masks = Masks::default();
    for p in &cfg.masked_paths {
        mask_path(root, p, &mut masks)?;
    }
    // A shared or unbindable rootfsPropagation reaches the new / only now (see
    // root_propagation), after the readonlyPaths binds, which an unbindable tree would refuse.
    if let (_, Some(propagation)) = root_propagation(cfg)? {
        mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>)
            .step("set propagation", "/")
            .map_err(|e| e.with_detail(format!("flags {:#x}", propagation.bits())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_propagation_default_and_configured() {
        let mut cfg = Config::default();
        let (rslave, rshared) = (
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
        );
        assert_eq!(root_propagation(&cfg).unwrap(), (rslave, None));
        cfg.rootfs_propagation = Some("".into());
        assert_eq!(root_propagation(&cfg).unwrap(), (rslave, None));
        cfg.rootfs_propagation = Some("rshared".into());
        assert_eq!(root_propagation(&cfg).unwrap(), (rshared, Some(rshared)));
        cfg.rootfs_propagation = Some("private".into());
        assert_eq!(root_propagation(&cfg).unwrap(), (MsFlags::MS_PRIVATE, None));
        cfg.rootfs_propagation = Some("runbindable".into());
        assert_eq!(
            root_propagation(&cfg).unwrap(),
            (
                MsFlags::MS_PRIVATE | MsFlags::MS_REC,
                Some(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC)
            )
        );
        cfg.rootfs_propagation = Some("sideways".into());
        let e = root_propagation(&cfg).unwrap_err();
        assert_eq!(
            e.to_string(),
            "set propagation `/` (unknown rootfsPropagation \"sideways\")"
        );
    }
}
