//! Signal dispositions and masks of the children: the JS runtime's handlers must never run in
//! one, and the container process starts with every signal at its default. And the table of
//! signal names (`runts kill ID TERM`), rendered for TypeScript by [`crate::tables`].

/// Signal names and numbers as `runc kill` accepts them (Go's unix.SignalNum: the 31 named
/// signals, no aliases such as SIGIOT or SIGPOLL), in number order.
pub fn names() -> impl Iterator<Item = (&'static str, i32)> {
    nix::sys::signal::Signal::iterator().map(|s| (s.as_str(), s as i32))
}

/// Stage 1 starts with every signal blocked and at its default (the runtime spawns it with
/// POSIX_SPAWN_SETSIGMASK and SETSIGDEF: the JS runtime ignores SIGPIPE, and execve keeps
/// ignored signals and the mask). Reset every disposition again (a stand-in started otherwise,
/// as in the tests, gets the same) and unblock everything.
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
