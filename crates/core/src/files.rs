//! The state store's file access for the verbs that load the addon anyway (start, kill,
//! delete, pause, ...): whole-file reads, an existence check and removal; and the `--log`
//! file's open, so that those verbs need no node:fs under an engine either. The store itself
//! (its layout, its records, how a status is derived) stays in TypeScript (src/state/); it
//! reaches the files through src/state/files.ts, which uses these when the addon is loaded
//! and node:fs otherwise (`state`), because under Bun loading node:fs costs each engine call
//! about as much as loading the addon (docs/benchmarks.md).

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
