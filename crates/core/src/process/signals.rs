//! Signal dispositions and masks around fork(): the JS runtime's handlers must never run in a
//! child, and the container process starts with every signal at its default. And the table of
//! signal names (`runts kill ID TERM`), rendered for TypeScript by [`crate::tables`].

/// Signal names and numbers as `runc kill` accepts them (Go's unix.SignalNum: the 31 named
/// signals, no aliases such as SIGIOT or SIGPOLL), in number order.
pub fn names() -> impl Iterator<Item = (&'static str, i32)> {
    nix::sys::signal::Signal::iterator().map(|s| (s.as_str(), s as i32))
}

/// The child inherits the forking thread's signal handlers (the JS runtime's, e.g. libuv's
/// SIGCHLD handler that writes to a pipe shared with the parent) and ignored signals (SIGPIPE),
/// and execve keeps ignored signals and the mask. Reset every disposition to the default and
/// then unblock everything, as posix_spawn's POSIX_SPAWN_SETSIGDEF does. The parent blocked all
/// signals around fork() so no handler can run in the child before this.
pub(crate) fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() + 1 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL; fails harmlessly (EINVAL) for glibc's reserved signals.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
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

/// Blocks every signal in the calling thread; returns the previous mask.
pub(crate) fn block_all_signals() -> libc::sigset_t {
    // SAFETY: plain sigset manipulation on local sets.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

pub(crate) fn restore_signal_mask(old: &libc::sigset_t) {
    // SAFETY: restoring a mask obtained from block_all_signals.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}
