//! /dev inside the container: the device nodes (runc's defaults plus `linux.devices`), the
//! /dev/ptmx link to the devpts instance and the /proc/self/fd links.
//!
//! As runc: skipped entirely when the spec bind-mounts /dev from somewhere; nodes are made with
//! mknod, or bind-mounted from the same path on the host when mknod is not permitted (inside a
//! user namespace). The caller holds the umask at 0 so the modes are exact.

use super::path::{self, InRoot};
use crate::cgroups::devices::DEFAULT_ALLOWED;
use crate::config::{Config, Device};
use crate::error::{InitError, Result};
use crate::rootfs::mount_opts;
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use std::os::fd::AsFd;

/// The device types of `linux.devices` and the node each makes (config-linux.md: "u" is an
/// unbuffered character device, which mknod makes like "c"). Validation lists the same types
/// (DEVICE_TYPES in src/spec/validate.ts); it cannot be rendered into tables.generated.ts while
/// this module is private to `rootfs`.
const DEVICE_TYPES: [(&str, SFlag); 4] = [
    ("c", SFlag::S_IFCHR),
    ("b", SFlag::S_IFBLK),
    ("u", SFlag::S_IFCHR),
    ("p", SFlag::S_IFIFO),
];

/// The nodes every container gets: the entries of runc 1.1's `specconv.AllowedDevices` that
/// have a path, in its order. The list is kept once, with the cgroup rules it also makes
/// ([`DEFAULT_ALLOWED`]); runc gives each node mode 0666 and root as its owner.
fn default_devices() -> impl Iterator<Item = Device> {
    DEFAULT_ALLOWED
        .iter()
        .filter(|(p, _)| !p.is_empty())
        .map(|(p, rule)| Device {
            path: (*p).to_owned(),
            dev_type: char::from(rule.kind).to_string(),
            major: rule.major,
            minor: rule.minor,
            file_mode: Some(0o666),
            uid: Some(0),
            gid: Some(0),
        })
}

/// Whether we build /dev: not when the spec bind-mounts it (runc's needsSetupDev).
pub(super) fn needs_setup(cfg: &Config) -> bool {
    !cfg.mounts.iter().any(|m| {
        path::clean(&m.destination) == "/dev"
            && (m.mount_type.as_deref() == Some("bind") || mount_opts::parse(&m.options).is_bind())
    })
}

/// The nodes to create, in creation order, as runc 1.1 does it (specconv.createDevices, then
/// libcontainer's createDevices in that order): the defaults, without those whose path a spec
/// device spells the same way, then `linux.devices` in spec order. runc compares the strings as
/// written, not cleaned paths, and creating a node keeps one that exists (EEXIST); so when a
/// spec device names a default node another way ("/dev//null", "dev/null"), the default, made
/// first, is the one the container gets. Checked with runc 1.1.5 (Debian 1.1.5+ds1-1+deb12u1):
/// inode numbers on the /dev tmpfs follow the creation order.
pub fn device_list(cfg: &Config) -> Vec<Device> {
    let mut out: Vec<Device> = default_devices()
        .filter(|d| !cfg.devices.iter().any(|s| s.path == d.path))
        .collect();
    out.extend(cfg.devices.iter().cloned());
    out
}

/// mknod is refused in a user namespace even to uid 0; not worth trying there.
fn in_user_namespace(cfg: &Config) -> bool {
    if cfg.has_ns("user") {
        return true;
    }
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"],
        Err(_) => false,
    }
}

fn node_kind(d: &Device) -> Result<SFlag> {
    DEVICE_TYPES
        .iter()
        .find(|(t, _)| *t == d.dev_type)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            InitError::msg(
                "mknod",
                &d.path,
                format!("unknown device type {:?}", d.dev_type),
            )
        })
}

/// An empty file at `name` with the host's device bind-mounted on it.
fn bind_from_host(dir: &InRoot, name: &str, d: &Device) -> Result<()> {
    let create =
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match openat(
        dir.fd.as_fd(),
        name,
        create,
        Mode::from_bits_truncate(0o666),
    ) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(InitError::sys("create", &d.path, e)),
    }
    let fd = openat(
        dir.fd.as_fd(),
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| InitError::sys("open", &d.path, e))?;
    let target = InRoot {
        fd,
        path: d.path.clone(),
    };
    if target.kind()? == SFlag::S_IFLNK {
        return Err(InitError::sys("open", &d.path, Errno::ELOOP));
    }
    let host = path::clean(&d.path);
    mount(
        Some(host.as_str()),
        target.mount_target().as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| {
        InitError::sys("mount", &d.path, e)
            .with_detail(format!("bind of the host's {host}, mknod not permitted"))
    })
}

fn create_device(root: std::os::fd::BorrowedFd<'_>, d: &Device, bind: bool) -> Result<()> {
    let kind = node_kind(d)?;
    let (dir, name) = path::parent(root, &d.path, Mode::from_bits_truncate(0o755))?;
    if bind {
        return bind_from_host(&dir, &name, d);
    }
    // fileMode may carry the type bits too; the type comes from `type`.
    let perm = Mode::from_bits_truncate(d.file_mode.unwrap_or(0o666) & 0o7777);
    let dev = if kind == SFlag::S_IFIFO {
        0
    } else {
        makedev(d.major as u64, d.minor as u64)
    };
    match mknodat(dir.fd.as_fd(), name.as_str(), kind, perm, dev) {
        Ok(()) => {}
        // Already there (the image's own node, or a link): kept, as runc does.
        Err(Errno::EEXIST) => return Ok(()),
        Err(Errno::EPERM) => return bind_from_host(&dir, &name, d),
        Err(e) => {
            return Err(InitError::sys("mknod", &d.path, e).with_detail(format!(
                "type {}, {}:{}, mode {:04o}",
                d.dev_type,
                d.major,
                d.minor,
                perm.bits()
            )))
        }
    }
    let uid = Uid::from_raw(d.uid.unwrap_or(0));
    let gid = Gid::from_raw(d.gid.unwrap_or(0));
    fchownat(
        dir.fd.as_fd(),
        name.as_str(),
        Some(uid),
        Some(gid),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| InitError::sys("chown", &d.path, e).with_detail(format!("to {uid}:{gid}")))
}

fn link(dev: &InRoot, target: &str, name: &str) -> Result<()> {
    match symlinkat(target, dev.fd.as_fd(), name) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(InitError::sys("symlink", format!("/dev/{name}"), e)
            .with_detail(format!("to {target:?}"))),
    }
}

/// Creates the devices and links. Runs before the pivot (it looks at the host's /proc/kcore).
pub(super) fn setup(root: std::os::fd::BorrowedFd<'_>, cfg: &Config) -> Result<()> {
    let bind = in_user_namespace(cfg);
    for d in device_list(cfg) {
        create_device(root, &d, bind)?;
    }
    let dev = path::mkdir_all(root, "/dev", Mode::from_bits_truncate(0o755))?;
    // /dev/ptmx is the devpts instance's ptmx (newinstance), replacing any node the image has.
    match unlinkat(dev.fd.as_fd(), "ptmx", UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(InitError::sys("unlink", "/dev/ptmx", e)),
    }
    link(&dev, "pts/ptmx", "ptmx")?;
    link(&dev, "/proc/self/fd", "fd")?;
    link(&dev, "/proc/self/fd/0", "stdin")?;
    link(&dev, "/proc/self/fd/1", "stdout")?;
    link(&dev, "/proc/self/fd/2", "stderr")?;
    // Only when the kernel has CONFIG_PROC_KCORE, as runc.
    if std::path::Path::new("/proc/kcore").exists() {
        link(&dev, "/proc/kcore", "core")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mount;

    fn mnt(dest: &str, ty: Option<&str>, opts: &[&str]) -> Mount {
        Mount {
            destination: dest.to_owned(),
            mount_type: ty.map(str::to_owned),
            source: Some("/x".to_owned()),
            options: opts.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn dev_bind_mount_disables_setup() {
        let mut cfg = Config::default();
        cfg.mounts.push(mnt("/dev", Some("tmpfs"), &["nosuid"]));
        assert!(needs_setup(&cfg));
        cfg.mounts.push(mnt("/dev/", None, &["rbind"]));
        assert!(!needs_setup(&cfg));
        let mut cfg = Config::default();
        cfg.mounts.push(mnt("/dev", Some("bind"), &[]));
        assert!(!needs_setup(&cfg));
    }

    fn dev(path: &str, major: i64, minor: i64, mode: Option<u32>, uid: Option<u32>) -> Device {
        Device {
            path: path.into(),
            dev_type: "c".into(),
            major,
            minor,
            file_mode: mode,
            uid,
            gid: None,
        }
    }

    fn paths(list: &[Device]) -> Vec<&str> {
        list.iter().map(|d| d.path.as_str()).collect()
    }

    #[test]
    fn defaults_are_runcs_allowed_devices_with_a_path() {
        let list = device_list(&Config::default());
        assert_eq!(
            paths(&list),
            [
                "/dev/null",
                "/dev/random",
                "/dev/full",
                "/dev/tty",
                "/dev/zero",
                "/dev/urandom"
            ]
        );
        for d in &list {
            assert_eq!(
                (d.dev_type.as_str(), d.file_mode, d.uid, d.gid),
                ("c", Some(0o666), Some(0), Some(0)),
                "{}",
                d.path
            );
        }
        let n = |p: &str| {
            list.iter()
                .find(|d| d.path == p)
                .map(|d| (d.major, d.minor))
        };
        assert_eq!(n("/dev/null"), Some((1, 3)));
        assert_eq!(n("/dev/tty"), Some((5, 0)));
        assert_eq!(n("/dev/urandom"), Some((1, 9)));
    }

    /// runc 1.1.5 on a spec with /dev/fuse, /dev/null (0600, uid 1000) and /dev/aaa: the inodes of
    /// its /dev tmpfs run random, full, tty, zero, urandom, fuse, null, aaa, and /dev/null is the
    /// spec's.
    #[test]
    fn defaults_first_then_spec_devices_in_spec_order() {
        let mut cfg = Config::default();
        cfg.devices.push(dev("/dev/fuse", 10, 229, None, None));
        cfg.devices
            .push(dev("/dev/null", 1, 3, Some(0o600), Some(1000)));
        cfg.devices.push(dev("/dev/aaa", 1, 5, None, None));
        let list = device_list(&cfg);
        assert_eq!(
            paths(&list),
            [
                "/dev/random",
                "/dev/full",
                "/dev/tty",
                "/dev/zero",
                "/dev/urandom",
                "/dev/fuse",
                "/dev/null",
                "/dev/aaa"
            ]
        );
        assert_eq!(list[6].file_mode, Some(0o600));
        assert_eq!(list[6].uid, Some(1000));
    }

    /// runc compares the paths as written: "/dev//null" and "dev/null" do not replace the default
    /// node, which is made first and kept (runc 1.1.5: /dev/null stays 0666, root's).
    #[test]
    fn only_the_same_spelling_replaces_a_default() {
        for p in ["/dev//null", "dev/null", "/dev/null/"] {
            let mut cfg = Config::default();
            cfg.devices.push(dev(p, 1, 3, Some(0o600), Some(1000)));
            let list = device_list(&cfg);
            assert_eq!(list.len(), 7, "{p}");
            assert_eq!(list[0].path, "/dev/null", "{p}");
            assert_eq!(list[0].file_mode, Some(0o666), "{p}");
            assert_eq!(list[6].path, p);
        }
    }

    /// Real nodes, as root, in a private mount namespace: the creation order and which node
    /// wins, read back from the inode numbers of a fresh tmpfs (allocated in sequence per
    /// superblock since Linux 5.9), as the runc comparison above was.
    #[test]
    #[ignore = "needs root: mknod on a tmpfs in a private mount namespace"]
    fn setup_creates_in_list_order_and_keeps_the_first_node() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

        let tmp = tempfile::TempDir::new().unwrap();
        let root = tmp.path().join("rootfs");
        std::fs::create_dir_all(root.join("dev")).unwrap();
        let mut cfg = Config::default();
        cfg.devices.push(dev("/dev/fuse", 10, 229, None, None));
        cfg.devices
            .push(dev("/dev/null", 1, 3, Some(0o600), Some(1000)));
        cfg.devices
            .push(dev("/dev//zero", 1, 5, Some(0o600), Some(1000)));
        let run = || -> std::result::Result<(), String> {
            let none = None::<&str>;
            mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
                .map_err(|e| format!("make / private: {e}"))?;
            let devdir = root.join("dev");
            mount(
                Some("tmpfs"),
                &devdir,
                Some("tmpfs"),
                MsFlags::empty(),
                none,
            )
            .map_err(|e| format!("mount tmpfs: {e}"))?;
            let fd = nix::fcntl::open(&root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())
                .map_err(|e| format!("open rootfs: {e}"))?;
            let old = nix::sys::stat::umask(Mode::empty());
            setup(fd.as_fd(), &cfg).map_err(|e| e.to_string())?;
            nix::sys::stat::umask(old);
            let mut nodes: Vec<(u64, String)> = std::fs::read_dir(&devdir)
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_char_device()).unwrap_or(false))
                .map(|e| {
                    (
                        e.metadata().unwrap().ino(),
                        e.file_name().to_string_lossy().into_owned(),
                    )
                })
                .collect();
            nodes.sort();
            let order: Vec<&str> = nodes.iter().map(|(_, n)| n.as_str()).collect();
            if order != ["random", "full", "tty", "zero", "urandom", "fuse", "null"] {
                return Err(format!("creation order {order:?}"));
            }
            let meta = |n: &str| std::fs::metadata(devdir.join(n)).unwrap();
            let (null, zero) = (meta("null"), meta("zero"));
            if (null.permissions().mode() & 0o7777, null.uid()) != (0o600, 1000) {
                return Err(format!(
                    "/dev/null is not the spec's: {:o} {}",
                    null.permissions().mode(),
                    null.uid()
                ));
            }
            if (zero.permissions().mode() & 0o7777, zero.uid()) != (0o666, 0) {
                return Err(format!(
                    "/dev/zero is not the default: {:o} {}",
                    zero.permissions().mode(),
                    zero.uid()
                ));
            }
            Ok(())
        };
        // In a child with its own mount namespace (in_child unshares it).
        super::super::root_tests::in_child(run);
    }

    #[test]
    fn device_types() {
        let d = |t: &str| Device {
            path: "/dev/x".into(),
            dev_type: t.into(),
            ..Default::default()
        };
        assert_eq!(node_kind(&d("c")).unwrap(), SFlag::S_IFCHR);
        assert_eq!(node_kind(&d("u")).unwrap(), SFlag::S_IFCHR);
        assert_eq!(node_kind(&d("b")).unwrap(), SFlag::S_IFBLK);
        assert_eq!(node_kind(&d("p")).unwrap(), SFlag::S_IFIFO);
        assert!(node_kind(&d("x")).is_err());
    }
}
