//! `tmpcopyup`: a tmpfs mounted over a directory of the image starts with a copy of what the
//! directory held (podman adds it to every tmpfs it generates: `--read-only`, `--tmpfs`,
//! `--systemd`). runc copies with `fileutils.CopyDirectory` through paths; here both trees are
//! walked on descriptors with `*at` calls and O_NOFOLLOW, so a symlink in the image is copied
//! as a symlink (its target unchanged) and never followed, in or out of the rootfs. Modes,
//! owners, timestamps, symlinks, device nodes and fifos are kept; hard links become separate
//! files and extended attributes are not copied (as runc).

use crate::error::{InitError, Result};
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fstat, fstatat, futimens, mkdirat, mknodat, utimensat, FileStat, Mode, SFlag,
    UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Deeper trees than this are refused rather than risking the init's stack.
const MAX_DEPTH: usize = 128;

/// Opens a directory that `dir` resolved to (an O_PATH descriptor) for reading its entries.
pub(super) fn open_dir(dir: BorrowedFd<'_>, what: &str) -> Result<OwnedFd> {
    openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| InitError::sys("open", what, e))
}

/// Copies the entries of the directory `src` into the (empty) directory `dst`; `dest` is the
/// container path, for errors.
pub(super) fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, dest: &str) -> Result<()> {
    copy_entries(src, dst, dest, 0)
}

fn err(step: &'static str, path: &str, name: &OsStr, e: Errno) -> InitError {
    InitError::sys(step, format!("{path}/{}", name.to_string_lossy()), e)
        .with_detail("tmpcopyup")
}

fn copy_entries(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, path: &str, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(InitError::msg("tmpcopyup", path, "directory tree too deep"));
    }
    // Dir takes ownership of a descriptor: give it its own, so `src` stays usable.
    let fd = openat(
        src,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| InitError::sys("open", path, e).with_detail("tmpcopyup"))?;
    let mut dir = Dir::from_fd(fd).map_err(|e| InitError::sys("opendir", path, e))?;
    let mut names = Vec::new();
    for entry in dir.iter() {
        let entry = entry.map_err(|e| InitError::sys("readdir", path, e))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_owned());
        }
    }
    drop(dir);
    for name in names {
        let st = fstatat(src, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| err("stat", path, &name, e))?;
        copy_one(src, dst, path, &name, &st, depth)?;
    }
    Ok(())
}

fn copy_one(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    path: &str,
    name: &OsStr,
    st: &FileStat,
    depth: usize,
) -> Result<()> {
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let uid = Some(Uid::from_raw(st.st_uid));
    let gid = Some(Gid::from_raw(st.st_gid));
    let times = [
        TimeSpec::new(st.st_atime, st.st_atime_nsec),
        TimeSpec::new(st.st_mtime, st.st_mtime_nsec),
    ];
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, Mode::from_bits_truncate(0o700))
                .map_err(|e| err("mkdir", path, name, e))?;
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let from = openat(src, name, flags, Mode::empty()).map_err(|e| err("open", path, name, e))?;
            let to = openat(dst, name, flags, Mode::empty()).map_err(|e| err("open", path, name, e))?;
            let sub = format!("{path}/{}", name.to_string_lossy());
            copy_entries(from.as_fd(), to.as_fd(), &sub, depth + 1)?;
            finish(&to, uid, gid, mode, &times, path, name)
        }
        SFlag::S_IFREG => {
            let from = openat(src, name, OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| err("open", path, name, e))?;
            // A file swapped for another kind between the stat and the open is refused.
            let now = fstat(&from).map_err(|e| err("stat", path, name, e))?;
            if now.st_ino != st.st_ino || now.st_dev != st.st_dev {
                return Err(err("open", path, name, Errno::ESTALE));
            }
            let to = openat(
                dst,
                name,
                OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )
            .map_err(|e| err("create", path, name, e))?;
            let (mut r, mut w) = (File::from(from), File::from(to));
            std::io::copy(&mut r, &mut w).map_err(|e| {
                err("copy", path, name, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
            })?;
            finish(&OwnedFd::from(w), uid, gid, mode, &times, path, name)
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name).map_err(|e| err("readlink", path, name, e))?;
            symlinkat(target.as_os_str(), dst, name).map_err(|e| err("symlink", path, name, e))?;
            fchownat(dst, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| err("lchown", path, name, e))?;
            utimensat(dst, name, &times[0], &times[1], UtimensatFlags::NoFollowSymlink)
                .map_err(|e| err("utimensat", path, name, e))
        }
        SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO | SFlag::S_IFSOCK => {
            mknodat(dst, name, kind, Mode::from_bits_truncate(0o600), st.st_rdev)
                .map_err(|e| err("mknod", path, name, e))?;
            let node = openat(dst, name, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| err("open", path, name, e))?;
            // fchown/fchmod do not take O_PATH descriptors: go through the magic link, which
            // names exactly this node.
            let link = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&node));
            nix::unistd::chown(link.as_str(), uid, gid).map_err(|e| err("chown", path, name, e))?;
            nix::sys::stat::fchmodat(nix::fcntl::AT_FDCWD, link.as_str(), mode, nix::sys::stat::FchmodatFlags::FollowSymlink)
                .map_err(|e| err("chmod", path, name, e))?;
            utimensat(dst, name, &times[0], &times[1], UtimensatFlags::NoFollowSymlink)
                .map_err(|e| err("utimensat", path, name, e))
        }
        _ => Ok(()),
    }
}

/// Owner, then mode (chown clears set-id bits), then times (last: the writes changed them).
fn finish(
    fd: &OwnedFd,
    uid: Option<Uid>,
    gid: Option<Gid>,
    mode: Mode,
    times: &[TimeSpec; 2],
    path: &str,
    name: &OsStr,
) -> Result<()> {
    fchown(fd, uid, gid).map_err(|e| err("chown", path, name, e))?;
    fchmod(fd, mode).map_err(|e| err("chmod", path, name, e))?;
    futimens(fd, &times[0], &times[1]).map_err(|e| err("utimensat", path, name, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn dir_fd(p: &std::path::Path) -> OwnedFd {
        nix::fcntl::open(p, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
    }

    #[test]
    fn copies_files_dirs_symlinks_modes_and_times_without_following_links() {
        let base = std::env::temp_dir().join(format!("runts-copyup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (src, dst) = (base.join("src"), base.join("dst"));
        std::fs::create_dir_all(src.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(src.join("file"), b"hello").unwrap();
        std::fs::set_permissions(src.join("file"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::write(src.join("sub/deeper/x"), b"deep").unwrap();
        std::fs::set_permissions(src.join("sub"), std::fs::Permissions::from_mode(0o1750)).unwrap();
        // A link out of the tree: copied as a link, the outside file is never read.
        std::os::unix::fs::symlink("/etc/shadow", src.join("escape")).unwrap();
        std::os::unix::fs::symlink("file", src.join("rel")).unwrap();
        let old = TimeSpec::new(1_000_000, 0);
        utimensat(nix::fcntl::AT_FDCWD, &src.join("file"), &old, &old, UtimensatFlags::NoFollowSymlink).unwrap();

        let (s, d) = (dir_fd(&src), dir_fd(&dst));
        copy_dir(s.as_fd(), d.as_fd(), "/t").unwrap();

        assert_eq!(std::fs::read(dst.join("file")).unwrap(), b"hello");
        let m = std::fs::metadata(dst.join("file")).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!(m.mtime(), 1_000_000);
        assert_eq!(std::fs::metadata(dst.join("sub")).unwrap().mode() & 0o7777, 0o1750);
        assert_eq!(std::fs::read(dst.join("sub/deeper/x")).unwrap(), b"deep");
        assert_eq!(std::fs::read_link(dst.join("escape")).unwrap().to_str(), Some("/etc/shadow"));
        assert!(std::fs::symlink_metadata(dst.join("escape")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_link(dst.join("rel")).unwrap().to_str(), Some("file"));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
