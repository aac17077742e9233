//! AppArmor profiles and SELinux process labels: what the container's process execs under.
//!
//! Both are set through the LSM's "exec" attribute of the init's own thread, which the kernel
//! applies at the next execve. The attribute files are reached through a directory descriptor
//! opened on the runtime's procfs before pivot_root and checked to be procfs (fstatfs), never
//! through the container's /proc: a container that controls its /proc mount (or races shared
//! mounts, CVE-2025-52881) cannot redirect the write to another file.
//!
//! On a host without the LSM a config that asks for it fails (the TypeScript side checks
//! first, with runc's wording); the writes here fail closed too.

use crate::error::{InitError, Result};
use nix::errno::Errno;
use nix::fcntl::{open, openat, OFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, OwnedFd};

/// Whether AppArmor is enabled on this host (its module parameter, as runc reads it).
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.starts_with('Y'))
}

/// Whether SELinux is enabled on this host (selinuxfs mounted with its `enforce` file).
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// The init thread's LSM attribute directory (`/proc/thread-self/attr`), opened once.
pub struct AttrDir(OwnedFd);

impl AttrDir {
    /// Opens `/proc/thread-self/attr` of the current procfs and checks that it is procfs.
    pub fn open() -> Result<AttrDir> {
        let path = "/proc/thread-self/attr";
        let fd = open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| InitError::sys("open", path, e))?;
        let fs = nix::sys::statfs::fstatfs(&fd).map_err(|e| InitError::sys("statfs", path, e))?;
        if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
            return Err(InitError::msg("open", path, "not on procfs"));
        }
        Ok(AttrDir(fd))
    }

    /// A directory standing in for the attribute directory (tests).
    pub fn from_fd(fd: OwnedFd) -> AttrDir {
        AttrDir(fd)
    }

    /// Writes `value` to the attribute `name` (relative, no symlinks followed).
    fn write(&self, name: &str, value: &str) -> Result<()> {
        let fd = openat(self.0.as_fd(), name, OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| InitError::sys("open", format!("/proc/thread-self/attr/{name}"), e))?;
        match nix::unistd::write(&fd, value.as_bytes()) {
            Ok(n) if n == value.len() => Ok(()),
            Ok(_) => Err(InitError::sys("write", format!("/proc/thread-self/attr/{name}"), Errno::EIO)),
            Err(e) => Err(InitError::sys("write", format!("/proc/thread-self/attr/{name}"), e)),
        }
    }
}

/// Sets what the next execve runs under: an AppArmor profile (`exec <profile>` to
/// `apparmor/exec`, or the shared `exec` of kernels before 5.8), an SELinux label (to `exec`).
pub fn set_exec_labels(dir: &AttrDir, apparmor: Option<&str>, selinux: Option<&str>) -> Result<()> {
    if let Some(profile) = apparmor.filter(|p| !p.is_empty()) {
        let value = format!("exec {profile}");
        if let Err(e) = dir.write("apparmor/exec", &value) {
            if e.errno != libc::ENOENT {
                return Err(e.with_detail(format!("apparmor profile {profile:?}")));
            }
            dir.write("exec", &value).map_err(|e| e.with_detail(format!("apparmor profile {profile:?}")))?;
        }
    }
    if let Some(label) = selinux.filter(|l| !l.is_empty()) {
        dir.write("exec", label).map_err(|e| e.with_detail(format!("selinux label {label:?}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(d: &std::path::Path) -> AttrDir {
        AttrDir::from_fd(open(d, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap())
    }

    #[test]
    fn writes_the_attributes_and_never_follows_links() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("apparmor")).unwrap();
        std::fs::write(d.path().join("apparmor/exec"), "").unwrap();
        std::fs::write(d.path().join("exec"), "").unwrap();
        set_exec_labels(&dir(d.path()), Some("docker-default"), Some("system_u:system_r:container_t:s0")).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("apparmor/exec")).unwrap(), "exec docker-default");
        assert_eq!(std::fs::read_to_string(d.path().join("exec")).unwrap(), "system_u:system_r:container_t:s0");

        // Kernels before 5.8 have only the shared attribute.
        let old = tempfile::tempdir().unwrap();
        std::fs::write(old.path().join("exec"), "").unwrap();
        set_exec_labels(&dir(old.path()), Some("p"), None).unwrap();
        assert_eq!(std::fs::read_to_string(old.path().join("exec")).unwrap(), "exec p");

        // A symlink where an attribute should be is refused, not followed.
        let evil = tempfile::tempdir().unwrap();
        let target = evil.path().join("target");
        std::fs::write(&target, "").unwrap();
        std::os::unix::fs::symlink(&target, evil.path().join("exec")).unwrap();
        let e = set_exec_labels(&dir(evil.path()), None, Some("x")).unwrap_err();
        assert_eq!(e.errno, libc::ELOOP);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
        // Nothing to set: nothing opened.
        set_exec_labels(&dir(evil.path()), Some(""), None).unwrap();
    }

    #[test]
    fn the_attribute_directory_is_procfs() {
        let dir = AttrDir::open().unwrap();
        let fs = nix::sys::statfs::fstatfs(&dir.0).unwrap();
        assert_eq!(fs.filesystem_type(), nix::sys::statfs::PROC_SUPER_MAGIC);
    }
}
