//! The runtime's own file access through the addon, so that the engine verbs load no node:fs
//! (under Bun, node:fs costs each call about as much as the addon itself: docs/benchmarks.md):
//! the state store's reads, existence checks and removal (start, kill, delete, pause, ...),
//! what `create` and `run` do to files (read config.json, check the rootfs, claim the state
//! directory, write the records and the pid file atomically), and the `--log` file's open.
//! The store and the spec pipeline stay in TypeScript (src/state/, src/spec/); they reach the
//! files through src/state/files.ts, which uses these when the addon is loaded and node:fs
//! otherwise (`state`, and the library used without containers).

use crate::InitError;
use nix::errno::Errno;
use std::io::ErrorKind;

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// The whole file as text (invalid UTF-8 replaced), `None` when it does not exist.
pub fn read_text(path: &str) -> Result<Option<String>, InitError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InitError::sys("read", path, errno_of(&e))),
    }
}

/// Whether `path` names something (symbolic links followed, as node's existsSync).
pub fn exists(path: &str) -> bool {
    std::fs::metadata(path).is_ok()
}

/// Removes a file, or with `tree` a directory and everything in it; nothing there is fine.
pub fn remove(path: &str, tree: bool) -> Result<(), InitError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(InitError::sys("remove", path, errno_of(&e))),
    };
    let r = if tree && meta.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(InitError::sys("remove", path, errno_of(&e))),
    }
}

/// What `stat(2)` (symbolic links followed) says of a path: enough for the spec checks (is the
/// rootfs a directory, is a namespace file the host's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub is_dir: bool,
    pub dev: u64,
    pub ino: u64,
}

pub fn stat(path: &str) -> Result<Stat, InitError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|e| InitError::sys("stat", path, errno_of(&e)))?;
    Ok(Stat {
        is_dir: m.is_dir(),
        dev: m.dev(),
        ino: m.ino(),
    })
}

/// The path with every symbolic link resolved (realpath(3)).
pub fn real_path(path: &str) -> Result<String, InitError> {
    let p = std::fs::canonicalize(path).map_err(|e| InitError::sys("realpath", path, errno_of(&e)))?;
    Ok(p.to_string_lossy().into_owned())
}

/// mkdir(2) with `mode` (less the umask); with `parents`, the missing parents too (with the
/// same mode, as node's `recursive`) and no error when it exists already.
pub fn make_dir(path: &str, mode: u32, parents: bool) -> Result<(), InitError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(parents)
        .mode(mode)
        .create(path)
        .map_err(|e| InitError::sys("mkdir", path, errno_of(&e)))
}

/// Writes `text` to `tmp` (created or truncated with `mode`, less the umask) and renames it onto
/// `path`: a reader finds the old file or the new one, never a part. `tmp` is removed when
/// anything fails.
pub fn write_replace(path: &str, tmp: &str, text: &str, mode: u32) -> Result<(), InitError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC)
        .open(tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| InitError::sys("write", tmp, errno_of(&e)))
        .and_then(|()| {
            std::fs::rename(tmp, path).map_err(|e| InitError::sys("rename", path, errno_of(&e)))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    written
}

/// Opens `path` for appending, created (0644) if missing, close-on-exec: the `--log` file, which
/// runc opens (and so creates) on every call; engines read its last line after a failure.
pub fn open_append(path: &str) -> Result<std::os::fd::OwnedFd, InitError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map(std::os::fd::OwnedFd::from)
        .map_err(|e| InitError::sys("open log", path, errno_of(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_removes_and_tells_absent_apart() {
        let dir = std::env::temp_dir().join(format!("runts-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let file = dir.join("sub/f.json");
        std::fs::write(&file, "{\"a\":1}").unwrap();
        let (d, f) = (dir.to_str().unwrap(), file.to_str().unwrap());
        assert_eq!(read_text(f).unwrap().as_deref(), Some("{\"a\":1}"));
        assert!(exists(f) && exists(d));
        assert_eq!(read_text(&format!("{d}/none")).unwrap(), None);
        // A directory is not a file: the read fails with its errno and names the path.
        let e = read_text(d).unwrap_err();
        assert_eq!((e.step.as_str(), e.path.as_str(), e.errno), ("read", d, libc::EISDIR));
        remove(f, false).unwrap();
        remove(f, false).unwrap();
        assert!(!exists(f));
        remove(d, true).unwrap();
        assert!(!exists(d));
    }

    #[test]
    fn stat_realpath_mkdir_and_replace() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().to_str().unwrap().to_owned();
        let dir = format!("{base}/a/b");
        make_dir(&dir, 0o711, true).unwrap();
        make_dir(&dir, 0o711, true).unwrap();
        let e = make_dir(&dir, 0o711, false).unwrap_err();
        assert_eq!((e.step.as_str(), e.errno), ("mkdir", libc::EEXIST));
        let e = make_dir(&format!("{base}/x/y"), 0o711, false).unwrap_err();
        assert_eq!(e.errno, libc::ENOENT);
        assert!(stat(&dir).unwrap().is_dir);
        std::os::unix::fs::symlink(&dir, format!("{base}/link")).unwrap();
        assert_eq!(real_path(&format!("{base}/link")).unwrap(), real_path(&dir).unwrap());
        let (s1, s2) = (stat(&dir).unwrap(), stat(&format!("{base}/link")).unwrap());
        assert_eq!((s1.dev, s1.ino), (s2.dev, s2.ino));
        assert_eq!(stat(&format!("{base}/none")).unwrap_err().errno, libc::ENOENT);
        assert_eq!(real_path(&format!("{base}/none")).unwrap_err().errno, libc::ENOENT);
        let file = format!("{dir}/f.json");
        write_replace(&file, &format!("{dir}/.f.json.1"), "one", 0o600).unwrap();
        write_replace(&file, &format!("{dir}/.f.json.1"), "two", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
        assert!(!std::path::Path::new(&format!("{dir}/.f.json.1")).exists());
        assert!(!stat(&file).unwrap().is_dir);
        // Onto a directory: the rename fails, the temporary file goes.
        let e = write_replace(&dir, &format!("{base}/a/.tmp"), "x", 0o600).unwrap_err();
        assert_eq!(e.step, "rename");
        assert!(!std::path::Path::new(&format!("{base}/a/.tmp")).exists());
    }

    #[test]
    fn open_append_creates_and_appends() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log.json");
        let p = p.to_str().unwrap();
        std::fs::File::from(open_append(p).unwrap()).write_all(b"a\n").unwrap();
        std::fs::File::from(open_append(p).unwrap()).write_all(b"b\n").unwrap();
        assert_eq!(std::fs::read_to_string(p).unwrap(), "a\nb\n");
        let e = open_append(d.path().join("no/such/dir/log").to_str().unwrap()).unwrap_err();
        assert_eq!((e.step.as_str(), e.errno), ("open log", libc::ENOENT));
    }
}
