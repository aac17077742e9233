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

/// clone3(2)'s struct clone_args (its size as of Linux 5.7, with `cgroup`).
#[repr(C)]
#[derive(Default)]
pub(crate) struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
    pub set_tid: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

/// Spawn the child into the cgroup v2 directory `cgroup` names (Linux 5.7).
pub(crate) const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

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

    /// [`spawn`](Self::spawn), the child born in the cgroup v2 directory `cgroup` (clone3's
    /// CLONE_INTO_CGROUP, Linux 5.7): no migration afterwards, so none of its cost (the
    /// cgroup.procs write waits for an RCU grace period). Where the kernel refuses (older, or
    /// not permitted, or a cgroup that takes no processes) it is spawned as by `spawn`, and the
    /// second value says so, with the kernel's errno: the caller then writes it into that
    /// cgroup itself.
    pub(crate) fn spawn_in_cgroup(&self, argv: &[CString], pass: &[RawFd], cgroup: RawFd) -> Result<(i32, Option<Errno>)> {
        match self.vfork_into(argv, pass, cgroup) {
            Ok(pid) => Ok((pid, None)),
            Err(Spawn::Clone(e)) => self.spawn(argv, pass).map(|pid| (pid, Some(e))),
            Err(Spawn::Exec(e)) => Err(InitError::sys("spawn the init program", self.path.to_string_lossy(), e)),
        }
    }

    /// What posix_spawn does (glibc 2.36 cannot pass a cgroup), through clone3 with
    /// CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP on this thread's stack: the caller is
    /// suspended until the child has exec'd or failed. The child only makes system calls on
    /// values computed before the clone, and reports a failed execve through `failed` (memory
    /// it shares with us) before _exit. Every signal is blocked on this thread around the clone,
    /// so no handler of the runtime runs in the child; it resets all dispositions and execs
    /// with all blocked, as `spawn` does.
    fn vfork_into(&self, argv: &[CString], pass: &[RawFd], cgroup: RawFd) -> std::result::Result<i32, Spawn> {
        let mut argp: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argp.push(std::ptr::null());
        let envp: [*const libc::c_char; 1] = [std::ptr::null()];
        let args = CloneArgs {
            flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64 | CLONE_INTO_CGROUP,
            pidfd: 0,
            child_tid: 0,
            parent_tid: 0,
            exit_signal: libc::SIGCHLD as u64,
            stack: 0,
            stack_size: 0,
            tls: 0,
            set_tid: 0,
            set_tid_size: 0,
            cgroup: cgroup as u64,
        };
        let failed = std::sync::atomic::AtomicI32::new(0);
        let path = self.path.as_ptr();
        // SAFETY: the sigset calls work on local sets. clone3 without a new stack, with
        // CLONE_VFORK: the child runs on this stack while we are suspended and never returns
        // from this function (child_exec execs or _exits); it writes nothing of ours but
        // `failed`.
        let pid = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            let ret = clone3_inline(&args as *const CloneArgs as usize, std::mem::size_of::<CloneArgs>());
            if ret == 0 {
                child_exec(path, argp.as_ptr(), envp.as_ptr(), pass, &failed);
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            if ret < 0 {
                return Err(Spawn::Clone(Errno::from_raw(-ret as i32)));
            }
            ret as i32
        };
        match failed.load(std::sync::atomic::Ordering::SeqCst) {
            0 => Ok(pid),
            e => {
                let _ = super::status::wait_for(pid);
                Err(Spawn::Exec(Errno::from_raw(e)))
            }
        }
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

/// clone3 as an instruction in the caller's frame: a vfork child must not return through a
/// function of its own (libc's syscall() would), whose frame the parent returns through after
/// the child has reused that stack. Returns the raw result (-errno on failure).
///
/// # Safety
/// `args` points to a clone_args of `size` bytes; with CLONE_VM | CLONE_VFORK the caller must
/// make the child exec or _exit without returning.
#[inline(always)]
unsafe fn clone3_inline(args: usize, size: usize) -> isize {
    let ret: isize;
    #[cfg(target_arch = "x86_64")]
    std::arch::asm!(
        "syscall",
        inlateout("rax") libc::SYS_clone3 as isize => ret,
        in("rdi") args,
        in("rsi") size,
        lateout("rcx") _,
        lateout("r11") _,
        options(nostack),
    );
    #[cfg(target_arch = "aarch64")]
    std::arch::asm!(
        "svc 0",
        in("x8") libc::SYS_clone3,
        inlateout("x0") args as isize => ret,
        in("x1") size,
        options(nostack),
    );
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = (args, size);
        ret = -(libc::ENOSYS as isize);
    }
    ret
}

/// Why [`InitProgram::vfork_into`] failed: no child (clone3 refused), or its execve.
enum Spawn {
    Clone(Errno),
    Exec(Errno),
}

/// The vfork child of [`InitProgram::vfork_into`]: system calls only, on what the parent
/// computed. Its descriptor table and signal dispositions are its own (no CLONE_FILES, no
/// CLONE_SIGHAND), so the parent's stay as they are.
///
/// # Safety
/// Called only in that child, which shares the parent's memory and stack.
#[inline(never)]
unsafe fn child_exec(
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    pass: &[RawFd],
    failed: &std::sync::atomic::AtomicI32,
) -> ! {
    let mut dfl: libc::sigaction = std::mem::zeroed();
    dfl.sa_sigaction = libc::SIG_DFL;
    for sig in 1..=libc::SIGRTMAX() {
        // SIGKILL, SIGSTOP and glibc's own two refuse; nothing to do about them.
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
    }
    for fd in pass {
        libc::fcntl(*fd, libc::F_SETFD, 0);
    }
    libc::execve(path, argv, envp);
    failed.store(*libc::__errno_location(), std::sync::atomic::Ordering::SeqCst);
    libc::_exit(127)
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
        let e = Errno::last();
        let err = InitError::sys("memfd_create", what(), e);
        // What refuses MFD_EXEC (Linux 6.3, mm/memfd.c): the sysctl, per pid namespace.
        return Err(if program && e == Errno::EACCES { err.with_detail("vm.memfd_noexec=2 forbids executable memfds") } else { err });
    }
    // SAFETY: a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(created) };
    if program && copy_from_file(fd.as_raw_fd(), bytes) {
        return Ok(fd);
    }
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

    /// Our own cgroup v2 directory, where the host has one (pure v2, or a hybrid's unified).
    fn own_v2_dir() -> Option<String> {
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
        ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .iter()
            .map(|m| format!("{m}{path}"))
            .find(|d| crate::cgroups::is_cgroup2_dir(d))
    }

    fn sh(script: &str) -> Vec<CString> {
        ["sh", "-c", script].iter().map(|a| CString::new(*a).unwrap()).collect()
    }

    #[test]
    fn spawn_in_cgroup_runs_the_program_in_that_cgroup_or_falls_back() {
        let Some(dir) = own_v2_dir() else {
            eprintln!("skipped: no cgroup v2 directory of our own on this host");
            return;
        };
        let out = std::env::temp_dir().join(format!("runts-spawn-cg-{}", std::process::id()));
        let program = InitProgram::from_path("/bin/sh").unwrap();
        let cg = crate::cgroups::open_dir(&dir).unwrap();
        let script = format!("grep ^0:: /proc/self/cgroup > {}", out.display());
        let (pid, refused) = program.spawn_in_cgroup(&sh(&script), &[], cg.as_raw_fd()).unwrap();
        assert_eq!(super::super::status::wait_for(pid).map(|st| libc::WEXITSTATUS(st)), Ok(0));
        assert_eq!(refused, None, "this kernel has CLONE_INTO_CGROUP (5.7+)");
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), own.lines().find(|l| l.starts_with("0::")).unwrap());
        // Not a cgroup: refused with the kernel's errno, spawned all the same.
        let tmp = nix::fcntl::open("/tmp", nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY, nix::sys::stat::Mode::empty()).unwrap();
        let (pid, refused) = program.spawn_in_cgroup(&sh("exit 3"), &[], tmp.as_raw_fd()).unwrap();
        assert!(refused.is_some());
        assert_eq!(super::super::status::wait_for(pid).map(|st| libc::WEXITSTATUS(st)), Ok(3));
        // A program that cannot be executed: its errno (the child reaped by spawn_in_cgroup).
        let missing = InitProgram::from_path("/nonexistent/runts-init").unwrap();
        let e = missing.spawn_in_cgroup(&sh("true"), &[], cg.as_raw_fd()).unwrap_err();
        assert_eq!(e.errno, libc::ENOENT);
        let _ = std::fs::remove_file(out);
    }

    /// Bytes mapped from a shared object's file (libc's version string, in its read-only
    /// segment) are copied from that file, exactly; bytes of the executable itself (no name
    /// in the loader's list) are not found, and the caller writes them.
    #[test]
    fn bytes_mapped_from_a_shared_object_are_copied_from_its_file() {
        extern "C" {
            fn gnu_get_libc_version() -> *const libc::c_char;
        }
        // SAFETY: glibc returns a static NUL-terminated string.
        let version = unsafe { CStr::from_ptr(gnu_get_libc_version()) }.to_bytes_with_nul();
        let (file, _) = file_of(version).expect("libc's string is in a file mapping");
        assert!(file.to_string_lossy().contains("libc"), "{file:?}");
        // SAFETY: memfd_create with a C string name.
        let fd = unsafe { OwnedFd::from_raw_fd(libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC)) };
        assert!(copy_from_file(fd.as_raw_fd(), version));
        let mut back = vec![0u8; version.len()];
        // SAFETY: pread into a local buffer.
        let n = unsafe { libc::pread(fd.as_raw_fd(), back.as_mut_ptr().cast(), back.len(), 0) };
        assert_eq!(n as usize, version.len());
        assert_eq!(back, version);
        static OURS: [u8; 64] = [7; 64];
        assert!(file_of(&OURS).is_none());
    }

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

/// Copies `bytes`, which are mapped from a shared object's file (the addon's embedded init
/// program: `include_bytes!` data in its read-only segment), into `fd` by the kernel, from
/// that file (sendfile): the runtime never faults those pages in, 0.9 MB less resident per
/// `create`. The file is the one the loader opened (dl_iterate_phdr gives its name and where
/// the segment comes from): root's cached copy of the addon, or the addon in a checkout. False,
/// with `fd` to be written whole by the caller, where that fails: not a file mapping, a name
/// that no longer opens (a memfd loaded through /proc/self/fd, closed since), or a copy whose
/// first and last pages differ from `bytes`.
fn copy_from_file(fd: RawFd, bytes: &[u8]) -> bool {
    let Some((file, mut offset)) = file_of(bytes) else { return false };
    let Ok(src) = nix::fcntl::open(file.as_c_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()) else {
        return false;
    };
    let mut left = bytes.len();
    while left > 0 {
        // SAFETY: sendfile between two descriptors we own, with a local offset.
        let n = unsafe { libc::sendfile(fd, src.as_raw_fd(), &mut offset, left) };
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        if n <= 0 {
            return false;
        }
        left -= n as usize;
    }
    let page = 4096.min(bytes.len());
    [(0, page), (bytes.len() - page, page)].iter().all(|&(at, len)| {
        let mut got = vec![0u8; len];
        // SAFETY: pread into a local buffer of `len` bytes.
        let n = unsafe { libc::pread(fd, got.as_mut_ptr().cast(), len, at as libc::off_t) };
        n == len as isize && got == bytes[at..at + len]
    })
}

/// The file `bytes` are mapped from and their offset in it, from the loaded objects' program
/// headers.
fn file_of(bytes: &[u8]) -> Option<(CString, libc::off_t)> {
    struct Find {
        addr: usize,
        len: usize,
        found: Option<(CString, libc::off_t)>,
    }
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut libc::c_void) -> libc::c_int {
        // SAFETY: the loader hands a valid info for the duration of the call; `data` is the
        // Find below.
        let (info, find) = unsafe { (&*info, &mut *(data as *mut Find)) };
        if info.dlpi_name.is_null() || info.dlpi_phdr.is_null() {
            return 0;
        }
        // SAFETY: dlpi_phnum headers at dlpi_phdr.
        let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        for ph in phdrs.iter().filter(|ph| ph.p_type == libc::PT_LOAD) {
            let start = info.dlpi_addr as usize + ph.p_vaddr as usize;
            if find.addr >= start && find.addr + find.len <= start + ph.p_filesz as usize {
                // SAFETY: a NUL-terminated name owned by the loader.
                let name = unsafe { CStr::from_ptr(info.dlpi_name) };
                if !name.to_bytes().starts_with(b"/") {
                    return 1;
                }
                find.found = Some((name.to_owned(), (ph.p_offset as usize + find.addr - start) as libc::off_t));
                return 1;
            }
        }
        0
    }
    let mut find = Find { addr: bytes.as_ptr() as usize, len: bytes.len(), found: None };
    // SAFETY: the callback only reads the loader's structures and writes `find`.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut find as *mut Find as *mut libc::c_void) };
    find.found
}
