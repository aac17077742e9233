//! Paths inside the container's root, resolved the way the container will see them.
//!
//! Mount destinations, device paths and masked paths come from the bundle, and the rootfs is an
//! image we do not trust: it may hold `etc -> /etc` or `x -> ../../..` to make a privileged
//! mount land on the host (CVE-2021-30465, runc's securejoin and WithProcfd). So a path is walked
//! one component at a time on O_PATH|O_NOFOLLOW descriptors; a symlink is read and followed by
//! hand with the rootfs as its `/`, and `..` never climbs above the rootfs. That is the semantics
//! of openat2(RESOLVE_IN_ROOT), extended to create the missing tail (mkdir -p, or an empty file
//! for a file bind mount) on the descriptors we hold. The caller then mounts onto
//! `/proc/self/fd/<fd>` of the result, so a component swapped for a symlink after the walk
//! cannot redirect the mount.
//!
//! A path that exists is first resolved in one openat2(RESOLVE_IN_ROOT) call where the kernel
//! has it (5.6+): the same rules, done by the kernel, where the walk costs two or three syscalls
//! per component (a container's set-up resolves ~40 paths). The walk remains for what is
//! missing (it creates the tail), for the messages of a failed lookup, and for kernels or
//! filters without openat2.

use crate::error::{InitError, Result};
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Linux's limit on symlinks followed in one lookup (MAXSYMLINKS, path_resolution(7)).
const MAX_SYMLINKS: usize = 40;

/// A path resolved inside the root: an O_PATH descriptor on it and where it is, as seen from
/// inside the container (symlinks resolved, for messages).
#[derive(Debug)]
pub struct InRoot {
    pub fd: OwnedFd,
    pub path: String,
}

impl InRoot {
    /// The magic link to mount on (or from): `/proc/self/fd/<fd>`.
    pub fn proc_path(&self) -> String {
        format!("/proc/self/fd/{}", self.fd.as_raw_fd())
    }

    /// What to pass to mount(2): the magic link when /proc is a procfs. Before the pivot it
    /// always is (the host's); after it, a container without a /proc mount gets the resolved
    /// path, which is then a path in the current root and nothing else runs there yet.
    pub fn mount_target(&self) -> String {
        if procfs_fd_links() {
            self.proc_path()
        } else {
            self.path.clone()
        }
    }

    /// The file type bits (S_IFDIR, S_IFREG, ...).
    pub fn kind(&self) -> Result<SFlag> {
        let st = fstat(&self.fd).map_err(|e| InitError::sys("stat", &self.path, e))?;
        Ok(SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()))
    }

    pub fn is_dir(&self) -> Result<bool> {
        Ok(self.kind()? == SFlag::S_IFDIR)
    }
}

/// Whether /proc/self/fd is procfs's (its magic links usable): checked once and remembered
/// until [`forget_procfs`] (the root changes at the pivot).
fn procfs_fd_links() -> bool {
    match PROC_FD.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let ok = nix::sys::statfs::statfs("/proc/self/fd")
                .map(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
                .unwrap_or(false);
            PROC_FD.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
            ok
        }
    }
}

/// 0: not known; 1: /proc/self/fd is procfs's; 2: it is not.
static PROC_FD: AtomicU8 = AtomicU8::new(0);
/// Cleared when openat2 turns out to be missing (ENOSYS) or filtered (EPERM).
static OPENAT2: AtomicBool = AtomicBool::new(true);

/// Called once the process's root has changed (pivot_root, chroot): /proc is another mount.
pub fn forget_procfs() {
    PROC_FD.store(0, Ordering::Relaxed);
}

/// Where the descriptor is, from /proc/self/fd: the path in the process's root. (Into a
/// buffer on the stack: nix's readlink allocates 16 KB, which musl's allocator maps and
/// unmaps on every call.)
fn fd_path(fd: BorrowedFd<'_>) -> Option<String> {
    let link = std::ffi::CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    let mut buf = [0u8; 4096];
    // SAFETY: `link` is NUL-terminated and `buf` is writable for its length.
    let n = unsafe { libc::readlink(link.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 || n as usize >= buf.len() {
        return None;
    }
    String::from_utf8(buf[..n as usize].to_vec()).ok()
}

/// `path` resolved by the kernel in one call (openat2 with RESOLVE_IN_ROOT, magic links
/// refused), when it exists; with its resolved path inside the root (from /proc/self/fd, for
/// messages and for [`InRoot::mount_target`]). None for anything else, which the walk then
/// handles (and explains).
fn resolve_fast(root: BorrowedFd<'_>, path: &str) -> Option<InRoot> {
    if !OPENAT2.load(Ordering::Relaxed) || !procfs_fd_links() {
        return None;
    }
    // Absolute paths are taken from the root too; ".." is left to the kernel (after a
    // symlink it is not lexical).
    let rel = if path.trim_matches('/').is_empty() {
        "."
    } else {
        path
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = match openat2(root, rel, how) {
        Ok(fd) => fd,
        Err(Errno::ENOSYS) | Err(Errno::EPERM) => {
            OPENAT2.store(false, Ordering::Relaxed);
            return None;
        }
        Err(_) => return None,
    };
    let base = fd_path(root)?;
    let full = fd_path(fd.as_fd())?;
    let inside = if base == "/" {
        full
    } else if full == base {
        "/".to_owned()
    } else {
        full.strip_prefix(base.as_str())?
            .strip_prefix('/')
            .map(|r| format!("/{r}"))?
    };
    Some(InRoot { fd, path: inside })
}

/// For a path whose last component is missing: its parent resolved by [`resolve_fast`] and
/// the last name (a plain one, not `..`). The common case of `mkdir -p` and of a file mount
/// point (`/dev/pts`, `/sys/fs/cgroup/cpu`): one call instead of the walk from the root.
fn parent_fast(root: BorrowedFd<'_>, path: &str) -> Option<(InRoot, String)> {
    let mut comps = components(path);
    let name = comps.pop_back().filter(|n| n != "..")?;
    let dir: Vec<String> = comps.into_iter().collect();
    Some((resolve_fast(root, &format!("/{}", dir.join("/")))?, name))
}

/// `name` made as a directory in `dir` (or there already) and opened without following it;
/// None when that fails, for the walk to handle (a symlink there, a race) or explain.
fn mkdir_leaf_fast(dir: &InRoot, name: &str, mode: Mode) -> Option<InRoot> {
    match mkdirat(&dir.fd, name, mode) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(_) => return None,
    }
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fd = openat(&dir.fd, name, flags, Mode::empty()).ok()?;
    Some(InRoot {
        fd,
        path: format!("{}/{}", dir.path.trim_end_matches('/'), name),
    })
}

/// A container path made absolute and lexical: "/" first, no "." or empty components, ".."
/// applied (never above "/"). For messages and comparisons ("/dev"), not for resolution,
/// which must see the symlinks.
pub fn clean(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// The components of a path, without empty ones and ".", keeping "..".
fn components(path: &str) -> VecDeque<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
        .collect()
}

/// The walk so far: the directories entered below the root, each with its name.
struct Walk<'a> {
    root: BorrowedFd<'a>,
    stack: Vec<(OwnedFd, String)>,
}

impl<'a> Walk<'a> {
    fn current(&self) -> BorrowedFd<'_> {
        match self.stack.last() {
            Some((fd, _)) => fd.as_fd(),
            None => self.root,
        }
    }

    fn path(&self) -> String {
        if self.stack.is_empty() {
            return "/".to_owned();
        }
        self.stack
            .iter()
            .fold(String::new(), |acc, (_, name)| acc + "/" + name)
    }

    /// The descriptor of where the walk is, as an [`InRoot`].
    fn finish(mut self, what: &str) -> Result<InRoot> {
        let path = self.path();
        let fd = match self.stack.pop() {
            Some((fd, _)) => fd,
            None => self.root.try_clone_to_owned().map_err(|e| {
                InitError::sys("dup", what, Errno::from_raw(e.raw_os_error().unwrap_or(0)))
            })?,
        };
        Ok(InRoot { fd, path })
    }

    /// Enters `name`, an entry that exists in the current directory.
    fn enter(&mut self, name: &str, what: &str) -> Result<()> {
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = openat(self.current(), name, flags, Mode::empty()).map_err(|e| {
            InitError::sys("open", what, e).with_detail(format!(
                "{} in {}",
                quote(name),
                self.path()
            ))
        })?;
        self.stack.push((fd, name.to_owned()));
        Ok(())
    }

    /// `..`: up one level, never above the root.
    fn up(&mut self) {
        self.stack.pop();
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// Follows `path` inside `root` as far as it exists. Returns the walk and the components that
/// do not exist yet (empty when the whole path exists). Every symlink met, including the last
/// component, is followed inside the root.
fn walk<'a>(root: BorrowedFd<'a>, path: &str) -> Result<(Walk<'a>, VecDeque<String>)> {
    let mut w = Walk {
        root,
        stack: Vec::new(),
    };
    let mut rest = components(path);
    let mut links = 0;
    while let Some(name) = rest.pop_front() {
        if name == ".." {
            w.up();
            continue;
        }
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = match openat(w.current(), name.as_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                rest.push_front(name);
                return Ok((w, rest));
            }
            Err(e) => {
                return Err(InitError::sys("open", path, e).with_detail(format!(
                    "{} in {}",
                    quote(&name),
                    w.path()
                )))
            }
        };
        let st = fstat(&fd).map_err(|e| InitError::sys("stat", path, e))?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFLNK {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(InitError::sys("open", path, Errno::ELOOP));
            }
            // readlinkat(fd, "") reads the link an O_PATH|O_NOFOLLOW descriptor refers to.
            let target = readlinkat(&fd, "").map_err(|e| {
                InitError::sys("readlink", path, e).with_detail(format!(
                    "{} in {}",
                    quote(&name),
                    w.path()
                ))
            })?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                // Absolute: from the container's root, which is our root.
                w.stack.clear();
            }
            for c in components(&target).into_iter().rev() {
                rest.push_front(c);
            }
            continue;
        }
        if kind != SFlag::S_IFDIR && !rest.is_empty() {
            return Err(
                InitError::sys("open", path, Errno::ENOTDIR).with_detail(format!(
                    "{} in {}",
                    quote(&name),
                    w.path()
                )),
            );
        }
        w.stack.push((fd, name));
    }
    Ok((w, rest))
}

/// The missing components, with `..` applied: a `..` cancels a missing component before it, or
/// leaves a directory the walk had entered (never the root).
fn missing(w: &mut Walk<'_>, rest: VecDeque<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in rest {
        if c == ".." {
            if out.pop().is_none() {
                w.up();
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn mkdir_in(w: &mut Walk<'_>, name: &str, mode: Mode, what: &str) -> Result<()> {
    match mkdirat(w.current(), name, mode) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => {
            return Err(InitError::sys("mkdir", what, e).with_detail(format!(
                "{} in {}",
                quote(name),
                w.path()
            )))
        }
    }
    // O_NOFOLLOW|O_DIRECTORY: if something raced a symlink in, this fails instead of following.
    w.enter(name, what)
}

/// Opens an existing path inside the root (ENOENT in the error when some component is missing).
pub fn resolve(root: BorrowedFd<'_>, path: &str) -> Result<InRoot> {
    if let Some(found) = resolve_fast(root, path) {
        return Ok(found);
    }
    let (w, rest) = walk(root, path)?;
    if let Some(first) = rest.front() {
        return Err(
            InitError::sys("open", path, Errno::ENOENT).with_detail(format!(
                "{} in {}",
                quote(first),
                w.path()
            )),
        );
    }
    w.finish(path)
}

/// `mkdir -p` inside the root: the directory at `path`, created with `mode` (and the umask)
/// where missing, symlinks on the way followed inside the root.
pub fn mkdir_all(root: BorrowedFd<'_>, path: &str, mode: Mode) -> Result<InRoot> {
    let quick = || {
        let (dir, name) = parent_fast(root, path)?;
        mkdir_leaf_fast(&dir, &name, mode)
    };
    let (dir, existed) = match resolve_fast(root, path) {
        Some(found) => (found, true),
        None => match quick() {
            Some(made) => (made, false),
            None => {
                let (mut w, rest) = walk(root, path)?;
                let existed = rest.is_empty();
                for name in missing(&mut w, rest) {
                    mkdir_in(&mut w, &name, mode, path)?;
                }
                (w.finish(path)?, existed)
            }
        },
    };
    if existed && !dir.is_dir()? {
        return Err(
            InitError::sys("mkdir", path, Errno::ENOTDIR).with_detail(format!("at {}", dir.path))
        );
    }
    Ok(dir)
}

/// The file at `path`, created empty with `mode` if missing (parents created with 0755): the
/// mount point of a bind mount whose source is not a directory. An existing entry of any type is
/// returned as is; the mount then reports a type mismatch.
pub fn create_file(root: BorrowedFd<'_>, path: &str, mode: Mode) -> Result<InRoot> {
    if let Some(found) = resolve_fast(root, path) {
        return Ok(found);
    }
    if let Some((dir, name)) = parent_fast(root, path) {
        // Made here, or left to the walk (a dangling symlink there is followed inside the root).
        if openat(&dir.fd, name.as_str(), CREATE_EXCL, mode).is_ok() {
            return open_created(dir.fd.as_fd(), &dir.path, &name, path);
        }
    }
    let (mut w, rest) = walk(root, path)?;
    let mut names = missing(&mut w, rest);
    let Some(name) = names.pop() else {
        return w.finish(path);
    };
    for dir in names {
        mkdir_in(&mut w, &dir, Mode::from_bits_truncate(0o755), path)?;
    }
    match openat(w.current(), name.as_str(), CREATE_EXCL, mode) {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(e) => {
            return Err(InitError::sys("create", path, e).with_detail(format!(
                "{} in {}",
                quote(&name),
                w.path()
            )))
        }
    }
    open_created(w.current(), &w.path(), &name, path)
}

const CREATE_EXCL: OFlag = OFlag::O_CREAT
    .union(OFlag::O_EXCL)
    .union(OFlag::O_WRONLY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// The file `name` just created in `dir` (at `dir_path`), opened without following it.
fn open_created(dir: BorrowedFd<'_>, dir_path: &str, name: &str, path: &str) -> Result<InRoot> {
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(dir, name, flags, Mode::empty()).map_err(|e| {
        InitError::sys("open", path, e).with_detail(format!("{} in {}", quote(name), dir_path))
    })?;
    let file = InRoot {
        path: format!("{}/{}", dir_path.trim_end_matches('/'), name),
        fd,
    };
    if file.kind()? == SFlag::S_IFLNK {
        // Raced: a symlink appeared where we just created a file.
        return Err(
            InitError::sys("create", path, Errno::ELOOP).with_detail(format!("at {}", file.path))
        );
    }
    Ok(file)
}

/// The parent directory of `path` (created with `mode` where missing) and the last component,
/// not followed: for mknodat, symlinkat and unlinkat, which act on the name itself.
pub fn parent(root: BorrowedFd<'_>, path: &str, mode: Mode) -> Result<(InRoot, String)> {
    let mut comps = components(path);
    let name = match comps.pop_back() {
        Some(n) if n != ".." => n,
        _ => return Err(InitError::sys("open", path, Errno::EINVAL).with_detail("no file name")),
    };
    let dir: Vec<String> = comps.into_iter().collect();
    let dir = mkdir_all(root, &dir.join("/"), mode)?;
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::open;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};
    use tempfile::TempDir;

    struct Fixture {
        _tmp: TempDir,
        root: PathBuf,
        outside: PathBuf,
        root_fd: OwnedFd,
    }

    fn fixture() -> Fixture {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path().join("rootfs");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("etc/hostname"), "inside").unwrap();
        std::fs::write(outside.join("secret"), "outside").unwrap();
        let root_fd = open(
            &root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        Fixture {
            _tmp: tmp,
            root,
            outside,
            root_fd,
        }
    }

    /// Where the descriptor really is, on the host.
    fn real(r: &InRoot) -> PathBuf {
        std::fs::read_link(format!("/proc/self/fd/{}", r.fd.as_raw_fd())).unwrap()
    }

    fn mode(m: u32) -> Mode {
        Mode::from_bits_truncate(m)
    }

    #[test]
    fn clean_is_lexical_and_absolute() {
        assert_eq!(clean("dev"), "/dev");
        assert_eq!(clean("/dev/"), "/dev");
        assert_eq!(clean("//dev/./pts/../shm"), "/dev/shm");
        assert_eq!(clean("/../../x"), "/x");
        assert_eq!(clean(""), "/");
    }

    #[test]
    fn resolves_plain_paths() {
        let f = fixture();
        let r = resolve(f.root_fd.as_fd(), "/etc/hostname").unwrap();
        assert_eq!(real(&r), f.root.join("etc/hostname"));
        assert_eq!(r.path, "/etc/hostname");
        let r = resolve(f.root_fd.as_fd(), "/").unwrap();
        assert_eq!(real(&r), f.root);
        assert_eq!(r.path, "/");
        let e = resolve(f.root_fd.as_fd(), "/nope/x").unwrap_err();
        assert_eq!(e.errno, Errno::ENOENT as i32);
    }

    #[test]
    fn absolute_symlink_stays_inside() {
        let f = fixture();
        // rootfs/evil -> <host path of outside>: must resolve to rootfs/<that path>.
        symlink(&f.outside, f.root.join("evil")).unwrap();
        let e = resolve(f.root_fd.as_fd(), "/evil/secret").unwrap_err();
        assert_eq!(e.errno, Errno::ENOENT as i32);
        let d = mkdir_all(f.root_fd.as_fd(), "/evil/sub", mode(0o755)).unwrap();
        let inside = f
            .root
            .join(f.outside.strip_prefix("/").unwrap())
            .join("sub");
        assert_eq!(real(&d), inside);
        assert!(inside.is_dir());
        assert!(!f.outside.join("sub").exists());
        // rootfs/etc2 -> /etc: the container's /etc, not the host's.
        symlink("/etc", f.root.join("etc2")).unwrap();
        let r = resolve(f.root_fd.as_fd(), "/etc2/hostname").unwrap();
        assert_eq!(real(&r), f.root.join("etc/hostname"));
        assert_eq!(r.path, "/etc/hostname");
    }

    #[test]
    fn dotdot_symlink_stays_inside() {
        let f = fixture();
        symlink("../../../../..", f.root.join("etc/up")).unwrap();
        let r = resolve(f.root_fd.as_fd(), "/etc/up/etc/hostname").unwrap();
        assert_eq!(real(&r), f.root.join("etc/hostname"));
        let r = resolve(f.root_fd.as_fd(), "/../../../etc/../etc/./hostname").unwrap();
        assert_eq!(real(&r), f.root.join("etc/hostname"));
        // A relative link to the outside dir by its real relative position.
        symlink("../outside", f.root.join("rel")).unwrap();
        let d = mkdir_all(f.root_fd.as_fd(), "/rel/made", mode(0o755)).unwrap();
        assert_eq!(real(&d), f.root.join("outside/made"));
        assert!(!f.outside.join("made").exists());
    }

    /// The kernel's resolution (openat2) and the walk give the same descriptor and path.
    #[test]
    fn openat2_and_the_walk_agree() {
        let f = fixture();
        std::fs::create_dir_all(f.root.join("a/b")).unwrap();
        symlink("/a", f.root.join("abs")).unwrap();
        symlink("a/b", f.root.join("rel")).unwrap();
        symlink("../../../../..", f.root.join("a/up")).unwrap();
        symlink(&f.outside, f.root.join("evil")).unwrap();
        let paths = [
            "/",
            "",
            "/etc/hostname",
            "/abs/b",
            "/rel/..",
            "/rel/../b",
            "/a/up/etc",
            "/../../a/./b/",
            "/abs/../etc/hostname",
        ];
        for p in paths {
            let fast = resolve_fast(f.root_fd.as_fd(), p);
            let walked = {
                let (w, rest) = walk(f.root_fd.as_fd(), p).unwrap();
                assert!(rest.is_empty(), "{p}: {rest:?}");
                w.finish(p).unwrap()
            };
            let fast = fast.unwrap_or_else(|| panic!("{p}: openat2 did not resolve it"));
            assert_eq!(real(&fast), real(&walked), "{p}");
            assert_eq!(fast.path, walked.path, "{p}");
        }
        // A missing last component is made in its parent, found by openat2 (through a link).
        let made = mkdir_all(f.root_fd.as_fd(), "/abs/new", mode(0o755)).unwrap();
        assert_eq!(real(&made), f.root.join("a/new"));
        assert_eq!(made.path, "/a/new");
        let file = create_file(f.root_fd.as_fd(), "/rel/file", mode(0o644)).unwrap();
        assert_eq!(real(&file), f.root.join("a/b/file"));
        assert_eq!(file.path, "/a/b/file");
        // What does not exist is left to the walk.
        assert!(resolve_fast(f.root_fd.as_fd(), "/nope").is_none());
        // A link to the host's outside dir leads to a missing path inside.
        assert!(resolve_fast(f.root_fd.as_fd(), "/evil").is_none());
        assert!(resolve_fast(f.root_fd.as_fd(), "/etc/hostname/x").is_none());
    }

    #[test]
    fn dangling_symlink_is_created_inside() {
        let f = fixture();
        symlink("/does/not/exist", f.root.join("dangling")).unwrap();
        let d = mkdir_all(f.root_fd.as_fd(), "/dangling", mode(0o755)).unwrap();
        assert_eq!(real(&d), f.root.join("does/not/exist"));
        assert_eq!(d.path, "/does/not/exist");
        // A file bind-mount target through a dangling link to an outside file name.
        let target = f.outside.join("newfile");
        symlink(&target, f.root.join("fileln")).unwrap();
        let file = create_file(f.root_fd.as_fd(), "/fileln", mode(0o755)).unwrap();
        let inside = f.root.join(target.strip_prefix("/").unwrap());
        assert_eq!(real(&file), inside);
        assert!(inside.is_file());
        assert!(!target.exists());
    }

    #[test]
    fn create_file_makes_parents_and_keeps_existing() {
        let f = fixture();
        let file = create_file(f.root_fd.as_fd(), "/a/b/c.txt", mode(0o644)).unwrap();
        assert_eq!(real(&file), f.root.join("a/b/c.txt"));
        assert_eq!(file.kind().unwrap(), SFlag::S_IFREG);
        let again = create_file(f.root_fd.as_fd(), "/etc/hostname", mode(0o644)).unwrap();
        assert_eq!(std::fs::read_to_string(real(&again)).unwrap(), "inside");
        let dir = create_file(f.root_fd.as_fd(), "/etc", mode(0o644)).unwrap();
        assert!(dir.is_dir().unwrap());
    }

    #[test]
    fn symlink_loops_and_files_in_the_middle_fail() {
        let f = fixture();
        symlink("loop2", f.root.join("loop1")).unwrap();
        symlink("loop1", f.root.join("loop2")).unwrap();
        let e = resolve(f.root_fd.as_fd(), "/loop1").unwrap_err();
        assert_eq!(e.errno, Errno::ELOOP as i32);
        let e = mkdir_all(f.root_fd.as_fd(), "/etc/hostname/x", mode(0o755)).unwrap_err();
        assert_eq!(e.errno, Errno::ENOTDIR as i32);
        let e = mkdir_all(f.root_fd.as_fd(), "/etc/hostname", mode(0o755)).unwrap_err();
        assert_eq!(e.errno, Errno::ENOTDIR as i32);
        assert_eq!(e.step, "mkdir");
    }

    #[test]
    fn parent_does_not_follow_the_last_component() {
        let f = fixture();
        symlink(&f.outside, f.root.join("evil")).unwrap();
        let (dir, name) = parent(f.root_fd.as_fd(), "/evil", mode(0o755)).unwrap();
        assert_eq!(real(&dir), f.root);
        assert_eq!(name, "evil");
        let (dir, name) = parent(f.root_fd.as_fd(), "/dev/net/tun", mode(0o755)).unwrap();
        assert_eq!(real(&dir), f.root.join("dev/net"));
        assert_eq!(name, "tun");
        assert!(parent(f.root_fd.as_fd(), "/", mode(0o755)).is_err());
        assert!(Path::new(&f.root.join("dev/net")).is_dir());
    }
}
