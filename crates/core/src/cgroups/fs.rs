//! File access for cgroupfs: every read and write of a cgroup file goes through here, so the
//! errors all name the file, the value and the errno
//! (``write cgroup `/sys/fs/cgroup/memory/x/memory.limit_in_bytes` (value "1"): EBUSY``).
//!
//! In unit tests every write is also recorded (see [`take_writes`]), so a test can assert the
//! *sequence* runc writes (devices rules, io.max lines) where the file in a tempdir only keeps
//! the last value.

use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

pub(crate) fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

pub(crate) fn io_err(step: &str, path: &str, e: &std::io::Error) -> InitError {
    InitError::sys(step, path, io_errno(e))
}

/// `dir/file` as a string.
pub(crate) fn join(dir: &str, file: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{file}")
    } else {
        format!("{dir}/{file}")
    }
}

#[cfg(test)]
thread_local! {
    static WRITES: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The writes made by this thread since the last call, as (file name, value).
#[cfg(test)]
pub(crate) fn take_writes() -> Vec<(String, String)> {
    WRITES.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Writes `value` to `dir/file` in one write(2), as the kernel wants for cgroup files; the file
/// must exist (cgroupfs creates it), it is never created.
pub fn write_file(dir: &str, file: &str, value: &str) -> Result<()> {
    let path = join(dir, file);
    #[cfg(test)]
    WRITES.with(|w| w.borrow_mut().push((file.to_string(), value.to_string())));
    write_path(&path, value)
}

pub(crate) fn write_path(path: &str, value: &str) -> Result<()> {
    let detail = format!("value {value:?}");
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| io_err("open cgroup file", path, &e).with_detail(detail.clone()))?;
    f.write_all(value.as_bytes())
        .map_err(|e| io_err("write cgroup file", path, &e).with_detail(detail))
}

/// The errno of a failed write, for the callers that react to EINVAL/EBUSY/ENOENT like runc.
pub(crate) fn errno_of(e: &InitError) -> Errno {
    Errno::from_raw(e.errno)
}

/// Reads `dir/file` whole.
pub fn read_file(dir: &str, file: &str) -> Result<String> {
    read_path(&join(dir, file))
}

pub(crate) fn read_path(path: &str) -> Result<String> {
    let mut s = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| io_err("read cgroup file", path, &e))?;
    Ok(s)
}

/// A file holding one unsigned number ("max" reads as u64::MAX, like runc's ParseUint).
pub(crate) fn read_u64(dir: &str, file: &str) -> Result<u64> {
    let s = read_file(dir, file)?;
    parse_u64(s.trim()).ok_or_else(|| {
        InitError::msg(
            "parse cgroup file",
            join(dir, file),
            format!("not a number: {:?}", s.trim()),
        )
    })
}

/// runc's fscommon.ParseUint: "max" is u64::MAX; a negative number (v1's -1) saturates to 0.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        return Some(u64::MAX);
    }
    match s.parse::<u64>() {
        Ok(v) => Some(v),
        Err(_) => s.parse::<i64>().ok().filter(|v| *v < 0).map(|_| 0),
    }
}

/// "key value" lines (memory.stat, cpu.stat, memory.events) as pairs; bad lines are skipped.
pub(crate) fn parse_flat_keyed(s: &str) -> Vec<(String, u64)> {
    s.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = parse_u64(it.next()?)?;
            Some((k.to_string(), v))
        })
        .collect()
}

/// The value of `key` in a flat-keyed file.
pub(crate) fn value_by_key(dir: &str, file: &str, key: &str) -> Result<u64> {
    let s = read_file(dir, file)?;
    Ok(parse_flat_keyed(&s)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or(0))
}

pub(crate) fn exists(path: &str) -> bool {
    Path::new(path).exists()
}

/// `mkdir -p` with mode 0755.
pub(crate) fn mkdir_all(path: &str) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(path)
        .map_err(|e| io_err("create cgroup", path, &e))
}

use std::os::unix::fs::DirBuilderExt;

/// `mkdir` (one level) with mode 0755; an existing directory is fine.
pub(crate) fn mkdir(path: &str) -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o755).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err("create cgroup", path, &e)),
    }
}

/// Writes `pid` to `dir/cgroup.procs`, retrying EINVAL a few times: the kernel answers EINVAL
/// for a task still in TASK_NEW (runc's WriteCgroupProc).
pub fn write_pid(dir: &str, pid: i32) -> Result<()> {
    let mut last = None;
    for _ in 0..5 {
        match write_file(dir, "cgroup.procs", &pid.to_string()) {
            Ok(()) => return Ok(()),
            Err(e) if errno_of(&e) == Errno::EINVAL => {
                last = Some(e);
                std::thread::sleep(Duration::from_millis(30));
            }
            Err(e) => return Err(e.with_detail(format!("add pid {pid}"))),
        }
    }
    Err(last.unwrap().with_detail(format!("add pid {pid}")))
}

/// The pids in `dir/cgroup.procs` (for a threaded cgroup, cgroup.threads, as runc does).
pub fn read_procs(dir: &str) -> Result<Vec<i32>> {
    let s = match read_file(dir, "cgroup.procs") {
        Err(e) if errno_of(&e) == Errno::EOPNOTSUPP => read_file(dir, "cgroup.threads")?,
        r => r?,
    };
    Ok(s.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// The pids of `dir` and of every cgroup below it (runc's GetAllPids).
pub fn read_all_procs(dir: &str) -> Result<Vec<i32>> {
    let mut out = read_procs(dir)?;
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => return Err(io_err("read cgroup", dir, &e)),
    };
    for ent in rd.flatten() {
        if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            let sub = join(dir, &ent.file_name().to_string_lossy());
            out.extend(read_all_procs(&sub)?);
        }
    }
    Ok(out)
}

/// rmdir, retrying EBUSY with a doubling delay from 1 ms (10 tries) when `retry`; a missing
/// directory is success (runc's cgroups.rmdir).
fn rmdir(path: &str, retry: bool) -> std::result::Result<(), Errno> {
    let mut delay = Duration::from_millis(1);
    let mut tries = 10;
    loop {
        match std::fs::remove_dir(path).map_err(|e| io_errno(&e)) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(Errno::EBUSY) if retry && tries > 0 => {
                std::thread::sleep(delay);
                delay *= 2;
                tries -= 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Removes a cgroup directory and the cgroups below it, bottom-up (runc's RemovePath).
pub fn remove_path(path: &str) -> Result<()> {
    if rmdir(path, false).is_ok() {
        return Ok(());
    }
    let rd = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("remove cgroup", path, &e)),
    };
    for ent in rd.flatten() {
        if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_path(&join(path, &ent.file_name().to_string_lossy()))?;
        }
    }
    rmdir(path, true).map_err(|e| InitError::sys("remove cgroup", path, e))
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A fake cgroup directory: files created empty (or with a value) in a tempdir.
    pub struct FakeDir {
        pub dir: tempfile::TempDir,
    }

    impl FakeDir {
        pub fn new(files: &[(&str, &str)]) -> FakeDir {
            let dir = tempfile::tempdir().unwrap();
            for (f, v) in files {
                std::fs::write(dir.path().join(f), v).unwrap();
            }
            super::take_writes();
            FakeDir { dir }
        }
        pub fn path(&self) -> &str {
            self.dir.path().to_str().unwrap()
        }
        pub fn get(&self, f: &str) -> String {
            std::fs::read_to_string(self.dir.path().join(f)).unwrap()
        }
    }

    pub fn writes() -> Vec<(String, String)> {
        super::take_writes()
    }

    /// The recorded writes as "file=value" lines, for comparing with the files runc writes.
    pub fn written() -> Vec<String> {
        writes().into_iter().map(|(f, v)| format!("{f}={v}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_u64_like_runc() {
        assert_eq!(parse_u64("max"), Some(u64::MAX));
        assert_eq!(parse_u64("42"), Some(42));
        assert_eq!(parse_u64("-1"), Some(0));
        assert_eq!(parse_u64("x"), None);
    }

    #[test]
    fn write_names_the_file_and_value() {
        let e = write_file("/nonexistent-cgroup", "memory.max", "1").unwrap_err();
        assert_eq!(e.to_string(), "open cgroup file `/nonexistent-cgroup/memory.max` (value \"1\"): ENOENT (No such file or directory)");
    }
}

/// Whether `dir` is on a cgroup v2 file system (statfs), as a unified hierarchy's are.
pub fn is_cgroup2_dir(dir: &str) -> bool {
    nix::sys::statfs::statfs(dir).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// A read-only, close-on-exec descriptor of the cgroup directory `dir` (what clone3's
/// CLONE_INTO_CGROUP takes).
pub fn open_dir(dir: &str) -> Result<std::os::fd::OwnedFd> {
    use nix::fcntl::{open, OFlag};
    open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
        .map_err(|e| InitError::sys("open", dir, e))
}
