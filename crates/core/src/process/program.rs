//! The init program: a small executable built from this crate (`src/bin/runts-init.rs`) that
//! runs stage 1 and the container init. The runtime starts it with posix_spawn (glibc's
//! clone(CLONE_VM|CLONE_VFORK) and execve: nothing of the runtime's address space is copied)
//! instead of fork()ing itself: the runtime is a ~40 MB multi-threaded JS process, and a fork
//! copied its page tables only for the init's execve to tear them down again (docs/
//! benchmarks.md). The stages therefore run in an address space of a few hundred KiB, and the
//! memory a container's init holds when it joins its cgroup is the init's own.
//!
//! Embedded in the addon, the program runs from a sealed memfd, so `/proc/<pid>/exe` of every
//! stage is an anonymous, unwritable file rather than a binary on the host that a container
//! process could open and overwrite (the CVE-2019-5736 class; runc copies its whole binary into
//! a memfd per create for the same reason, runc#3973: ours is small and made once per runtime
//! process).

use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Where the init program is.
#[derive(Debug)]
pub struct InitProgram {
    /// What execve opens: a file, or /proc/self/fd/N of the memfd below.
    path: CString,
    /// The sealed memfd holding the program, kept open for the life of the runtime.
    _memfd: Option<OwnedFd>,
}

/// The name of the memfd (shown in /proc/<pid>/exe as "/memfd:runts-init (deleted)").
const MEMFD_NAME: &CStr = c"runts-init";

impl InitProgram {
    /// An executable on disk (tests, and builds that ship it beside the addon).
    pub fn from_path(path: &str) -> Result<InitProgram> {
        let path = CString::new(path).map_err(|_| InitError::msg("init program", path, "contains a NUL byte"))?;
        Ok(InitProgram { path, _memfd: None })
    }

    /// The program's bytes (the addon embeds them), copied once into a memfd sealed against
    /// every change.
    pub fn from_bytes(bytes: &[u8]) -> Result<InitProgram> {
        let fd = memfd_with(MEMFD_NAME, bytes, true)?;
        let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: fcntl on our own descriptor.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(InitError::sys("seal init program", MEMFD_NAME.to_string_lossy(), Errno::last()));
        }
        let path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL in a number");
        Ok(InitProgram { path, _memfd: Some(fd) })
    }

    /// Starts the program with `argv`, no environment, every signal blocked and at its default
    /// disposition (stage 1 unblocks them: no handler of the runtime can ever run in it), and
    /// the descriptors `pass` inherited (their close-on-exec flag cleared in the child only;
    /// everything else CLOEXEC is closed by the execve). Returns the child's pid once it has
    /// exec'd; an execve failure is returned as its errno (posix_spawn reports it).
    pub(crate) fn spawn(&self, argv: &[CString], pass: &[RawFd]) -> Result<i32> {
        let fail = |step: &str, r: libc::c_int| InitError::sys(step, self.path.to_string_lossy(), Errno::from_raw(r));
        let mut argp: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
        argp.push(std::ptr::null_mut());
        let envp: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
        // SAFETY: the posix_spawn objects are initialised before use and destroyed after; the
        // argument arrays are NULL-terminated and outlive the call.
        unsafe {
            let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
            let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
            libc::posix_spawn_file_actions_init(&mut actions);
            libc::posix_spawnattr_init(&mut attr);
            let result = (|| {
                for fd in pass {
                    // dup2 onto itself clears FD_CLOEXEC in the child (POSIX 2024; glibc 2.29+).
                    let r = libc::posix_spawn_file_actions_adddup2(&mut actions, *fd, *fd);
                    if r != 0 {
                        return Err(fail("posix_spawn_file_actions_adddup2", r));
                    }
                }
                let mut all: libc::sigset_t = std::mem::zeroed();
                libc::sigfillset(&mut all);
                libc::posix_spawnattr_setsigmask(&mut attr, &all);
                libc::posix_spawnattr_setsigdefault(&mut attr, &all);
                let flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
                libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short);
                let mut pid: libc::pid_t = 0;
                let r = libc::posix_spawn(&mut pid, self.path.as_ptr(), &actions, &attr, argp.as_ptr(), envp.as_ptr());
                if r != 0 {
                    return Err(fail("spawn the init program", r));
                }
                Ok(pid)
            })();
            libc::posix_spawn_file_actions_destroy(&mut actions);
            libc::posix_spawnattr_destroy(&mut attr);
            result
        }
    }
}

/// An anonymous file holding `bytes` (written with pwrite, so the offset a reader shares stays
/// 0), close-on-exec: the bootstrap of stage 1, or with `program` the init program, sealable
/// and executable. MFD_EXEC (Linux 6.3) says so explicitly, which a host with
/// vm.memfd_noexec=1 requires; older kernels refuse the flag, and need none.
pub(crate) fn memfd_with(name: &CStr, bytes: &[u8], program: bool) -> Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let what = || name.to_string_lossy();
    let tries: &[libc::c_uint] = if program {
        &[libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING | MFD_EXEC, libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING]
    } else {
        &[libc::MFD_CLOEXEC]
    };
    let mut created = -1;
    for flags in tries {
        // SAFETY: memfd_create with a C string name.
        created = unsafe { libc::memfd_create(name.as_ptr(), *flags) };
        if created >= 0 || Errno::last() != Errno::EINVAL {
            break;
        }
    }
    if created < 0 {
        return Err(InitError::sys("memfd_create", what(), Errno::last()));
    }
    // SAFETY: a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(created) };
    let mut done = 0;
    while done < bytes.len() {
        // SAFETY: pwrite from a live slice to our own descriptor.
        let n = unsafe {
            libc::pwrite(fd.as_raw_fd(), bytes[done..].as_ptr().cast(), bytes.len() - done, done as libc::off_t)
        };
        if n < 0 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return Err(InitError::sys("write", what(), e));
        }
        done += n as usize;
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memfd_is_sealed_against_every_change() {
        let p = InitProgram::from_bytes(b"\x7fELF not really").unwrap();
        let fd = p._memfd.as_ref().unwrap().as_raw_fd();
        // SAFETY: fcntl/write/ftruncate on our own descriptor.
        unsafe {
            let seals = libc::fcntl(fd, libc::F_GET_SEALS);
            let all = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
            assert_eq!(seals & all, all);
            assert!(libc::pwrite(fd, b"x".as_ptr().cast(), 1, 0) < 0);
            assert_eq!(Errno::last(), Errno::EPERM);
            assert!(libc::ftruncate(fd, 0) < 0);
            assert_eq!(Errno::last(), Errno::EPERM);
            // Reopened through /proc (as /proc/<pid>/exe would be), still unwritable.
            let path = format!("/proc/self/fd/{fd}\0");
            let w = libc::open(path.as_ptr().cast(), libc::O_WRONLY);
            if w >= 0 {
                assert!(libc::write(w, b"x".as_ptr().cast(), 1) < 0);
                assert_eq!(Errno::last(), Errno::EPERM);
                libc::close(w);
            }
        }
        assert_eq!(p.path.to_str().unwrap(), format!("/proc/self/fd/{fd}"));
    }
}
