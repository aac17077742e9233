//! /dev inside the container: the device nodes (runc's defaults plus `linux.devices`), the
//! /dev/ptmx link to the devpts instance and the /proc/self/fd links.
//!
//! As runc: skipped entirely when the spec bind-mounts /dev from somewhere; nodes are made with
//! mknod, or bind-mounted from the same path on the host when mknod is not permitted (inside a
//! user namespace). The caller holds the umask at 0 so the modes are exact.

use super::path::{self, InRoot};
use crate::config::{Config, Device};
use crate::error::{InitError, Result};
use crate::mount_opts;
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use std::os::fd::AsFd;

/// The nodes every container gets (runc's AllowedDevices that have a path), all `c`, 0666,
/// owned by root: (name, major, minor).
const DEFAULT_DEVICES: &[(&str, i64, i64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// Whether we build /dev: not when the spec bind-mounts it (runc's needsSetupDev).
pub(super) fn needs_setup(cfg: &Config) -> bool {
    !cfg.mounts.iter().any(|m| {
        path::clean(&m.destination) == "/dev"
            && (m.mount_type.as_deref() == Some("bind") || mount_opts::parse(&m.options).is_bind())
    })
}

/// The spec's devices, then the defaults whose path the spec does not already use.
pub(super) fn device_list(cfg: &Config) -> Vec<Device> {
    let mut out = cfg.devices.clone();
    for &(p, major, minor) in DEFAULT_DEVICES {
        if !cfg.devices.iter().any(|d| path::clean(&d.path) == p) {
            out.push(Device {
                path: p.to_owned(),
                dev_type: "c".to_owned(),
                major,
                minor,
                file_mode: Some(0o666),
                uid: Some(0),
                gid: Some(0),
            });
        }
    }
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
    match d.dev_type.as_str() {
        "c" | "u" => Ok(SFlag::S_IFCHR),
        "b" => Ok(SFlag::S_IFBLK),
        "p" => Ok(SFlag::S_IFIFO),
        other => Err(InitError::msg(
            "mknod",
            &d.path,
            format!("unknown device type {other:?}"),
        )),
    }
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

    #[test]
    fn spec_devices_override_defaults() {
        let mut cfg = Config::default();
        cfg.devices.push(Device {
            path: "/dev/null".into(),
            dev_type: "c".into(),
            major: 1,
            minor: 3,
            file_mode: Some(0o600),
            uid: Some(1000),
            gid: None,
        });
        cfg.devices.push(Device {
            path: "/dev/fuse".into(),
            dev_type: "c".into(),
            major: 10,
            minor: 229,
            ..Default::default()
        });
        let list = device_list(&cfg);
        assert_eq!(list.len(), 2 + 5);
        assert_eq!(list.iter().filter(|d| d.path == "/dev/null").count(), 1);
        assert_eq!(list[0].file_mode, Some(0o600));
        assert!(list
            .iter()
            .any(|d| d.path == "/dev/tty" && d.major == 5 && d.minor == 0));
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
