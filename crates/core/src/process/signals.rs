//! Signal dispositions and masks of the children: the JS runtime's handlers must never run in
//! one, and the container process starts with every signal at its default. And the table of
//! signal names (`runts kill ID TERM`), rendered for TypeScript by [`crate::tables`].

/// Signal names and numbers as `runc kill` accepts them (Go's unix.SignalNum: the 31 named
/// signals, no aliases such as SIGIOT or SIGPOLL), in number order.
pub fn names() -> impl Iterator<Item = (&'static str, i32)> {
    nix::sys::signal::Signal::iterator().map(|s| (s.as_str(), s as i32))
}

/// Every signal to its default disposition, then every signal unblocked: the container's
/// process must start as runc's does (/proc/<pid>/status SigIgn, SigBlk and SigCgt), and execve
/// keeps ignored signals and the mask. The runtime spawns stage 1 with every signal blocked
/// (POSIX_SPAWN_SETSIGMASK), so no handler can run before this. posix_spawn's
/// POSIX_SPAWN_SETSIGDEF is not enough: measured, SIGPIPE (which the JS runtime ignores) stayed
/// ignored without this loop, and glibc's spawn child sets its internal signals 32 and 33
/// (SIGCANCEL, SIGSETXID) to SIG_IGN, which no libc lets a program reset (musl's sigaction
/// refuses 32-34): hence the raw rt_sigaction(2), from 1 to the kernel's 64.
pub(crate) fn reset_signals() {
    // The kernel's struct sigaction (x86_64, arm64: handler, flags, restorer, mask).
    #[repr(C)]
    struct KernelSigaction {
        handler: libc::sighandler_t,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction with a valid struct, no old action, the kernel's sigset size.
        unsafe {
            libc::syscall(libc::SYS_rt_sigaction, sig, &dfl, std::ptr::null_mut::<KernelSigaction>(), 8usize)
        };
    }
    unblock_all_signals();
}

pub(crate) fn unblock_all_signals() {
    // SAFETY: plain sigset manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}
