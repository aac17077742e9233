//! `linux.seccomp`: the spec's filter compiled to a BPF program by libseccomp in the runtime
//! process (feature `libseccomp`: the addon links libseccomp statically; the init program
//! does not link it at all), handed to the init in the bootstrap, and loaded there with a raw
//! seccomp(2) where runc loads it (process/init.rs): before the user switch when the process
//! may gain privileges (loading a filter then needs CAP_SYS_ADMIN, which the switch drops),
//! else as late as possible, right before execve.
//!
//! As runc: unknown syscall names are skipped (profiles list syscalls that older kernels and
//! libseccomp versions lack), a rule whose action is the default action is redundant and
//! skipped, conditions on distinct arguments make one rule (AND) and several conditions on
//! one argument make one rule each, ERRNO and TRACE return EPERM unless `errnoRet` says
//! otherwise, `SCMP_ACT_KILL` kills the thread. With SCMP_ACT_NOTIFY the filter is loaded
//! with a listener, which the init sends to the runtime and the runtime to the agent at
//! `listenerPath` with the container's state (runc's protocol); the filter is then loaded
//! early even with noNewPrivileges (it must be, before `create` returns). Not done: runc's
//! patch that answers syscalls newer than the profile with ENOSYS instead of the default
//! action.

use crate::error::{InitError, Result};

/// The actions of the runtime spec, as `features` reports them (SCMP_ACT_NOTIFY hands the
/// listener to the agent at `listenerPath`, as runc does).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// The argument comparisons of the runtime spec.
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The architectures libseccomp 2.5 builds filters for.
pub const ARCHES: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

/// The filter flags of the runtime spec and their seccomp(2) bits. TSYNC means nothing for a
/// single-threaded init (runc ignores it too).
pub const FLAGS: &[(&str, u32)] = &[
    (
        "SECCOMP_FILTER_FLAG_LOG",
        libc::SECCOMP_FILTER_FLAG_LOG as u32,
    ),
    (
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32,
    ),
    ("SECCOMP_FILTER_FLAG_TSYNC", 0),
    ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1 << 5),
];

/// What the init loads: the BPF program (struct sock_filter entries, native endian) and the
/// seccomp(2) flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Filter {
    pub program: Vec<u8>,
    pub flags: u32,
    /// Some rule is SCMP_ACT_NOTIFY: loading returns the listener for the seccomp agent.
    pub notify: bool,
}

/// The flag bits of `names`; an unknown one is an error naming it (runc's wording).
pub fn flag_bits(names: &[String]) -> Result<u32> {
    names.iter().try_fold(0, |acc, name| {
        FLAGS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bit)| acc | bit)
            .ok_or_else(|| {
                InitError::msg(
                    "seccomp",
                    name.as_str(),
                    "seccomp flag is not known to runts",
                )
            })
    })
}

/// Installs `filter` on the calling thread (and so on what it execs); with notify rules, returns
/// the listener descriptor. Without PR_SET_NO_NEW_PRIVS this needs CAP_SYS_ADMIN.
pub fn load(filter: &Filter) -> Result<Option<std::os::fd::OwnedFd>> {
    let insns = filter.program.len() / std::mem::size_of::<libc::sock_filter>();
    if insns == 0 || filter.program.len() % std::mem::size_of::<libc::sock_filter>() != 0 {
        return Err(InitError::msg("seccomp", "", "not a BPF program"));
    }
    let prog = libc::sock_fprog {
        len: insns as u16,
        filter: filter.program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `insns` sock_filter entries that live until the call returns.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            (filter.flags | if filter.notify { libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32 } else { 0 }) as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        return Err(InitError::sys(
            "seccomp",
            "SECCOMP_SET_MODE_FILTER",
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: with NEW_LISTENER the call returned a new descriptor, ours.
    Ok(filter.notify.then(|| unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(r as i32) }))
}

/// Hands the listener to the seccomp agent at `listener_path` (runc's protocol): one message
/// on a new connection, the container's process state as JSON (`fds` names the descriptor)
/// with the listener as SCM_RIGHTS.
pub fn send_listener(listener_path: &str, state: &str, fd: std::os::fd::BorrowedFd<'_>) -> Result<()> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::{AsFd, AsRawFd};
    let step = "send seccomp listener";
    let sock = socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| InitError::sys(step, listener_path, e))?;
    let addr = UnixAddr::new(listener_path).map_err(|e| InitError::sys(step, listener_path, e))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| InitError::sys(step, listener_path, e))?;
    crate::console::send_with_fd(sock.as_fd(), state.as_bytes(), fd, step, listener_path)
}

#[cfg(feature = "libseccomp")]
pub use compile::compile;

#[cfg(not(feature = "libseccomp"))]
pub fn compile(_: &crate::config::Seccomp) -> Result<Filter> {
    Err(InitError::msg(
        "seccomp",
        "",
        "not supported: linux.seccomp (runts-core built without libseccomp)",
    ))
}

#[cfg(feature = "libseccomp")]
mod compile {
    use super::{flag_bits, Filter};
    use crate::config::{Seccomp, SeccompArg, SeccompSyscall};
    use crate::error::{InitError, Result};
    use libseccomp::{
        ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
    };
    use std::io::{Read, Seek};
    use std::str::FromStr;

    fn bad(what: &str, e: impl std::fmt::Display) -> InitError {
        InitError::msg("seccomp", what, e.to_string())
    }

    fn action(name: &str, errno_ret: Option<u32>) -> Result<ScmpAction> {
        let ret = errno_ret.unwrap_or(libc::EPERM as u32);
        Ok(match name {
            "SCMP_ACT_ALLOW" => ScmpAction::Allow,
            "SCMP_ACT_ERRNO" => ScmpAction::Errno(ret as i32),
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
            "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
            "SCMP_ACT_LOG" => ScmpAction::Log,
            "SCMP_ACT_TRACE" => ScmpAction::Trace(ret as u16),
            "SCMP_ACT_TRAP" => ScmpAction::Trap,
            "SCMP_ACT_NOTIFY" => ScmpAction::Notify,
            _ => return Err(InitError::msg("seccomp", name, "unknown action")),
        })
    }

    fn number(what: &str, v: &str) -> Result<u64> {
        v.parse::<u64>().map_err(|_| {
            InitError::msg(
                "seccomp",
                what,
                format!("{v:?} is not a 64-bit unsigned value"),
            )
        })
    }

    fn condition(name: &str, a: &SeccompArg) -> Result<ScmpArgCompare> {
        let value = number(name, &a.value)?;
        let two = a
            .value_two
            .as_deref()
            .map(|v| number(name, v))
            .transpose()?
            .unwrap_or(0);
        if a.index > 5 {
            return Err(InitError::msg(
                "seccomp",
                name,
                format!("argument index {} (a syscall has 6)", a.index),
            ));
        }
        // MASKED_EQ: `value` is the mask and `valueTwo` what the masked argument must equal.
        let (op, datum) = match a.op.as_str() {
            "SCMP_CMP_NE" => (ScmpCompareOp::NotEqual, value),
            "SCMP_CMP_LT" => (ScmpCompareOp::Less, value),
            "SCMP_CMP_LE" => (ScmpCompareOp::LessOrEqual, value),
            "SCMP_CMP_EQ" => (ScmpCompareOp::Equal, value),
            "SCMP_CMP_GE" => (ScmpCompareOp::GreaterEqual, value),
            "SCMP_CMP_GT" => (ScmpCompareOp::Greater, value),
            "SCMP_CMP_MASKED_EQ" => (ScmpCompareOp::MaskedEqual(value), two),
            op => {
                return Err(InitError::msg(
                    "seccomp",
                    name,
                    format!("unknown operator {op:?}"),
                ))
            }
        };
        Ok(ScmpArgCompare::new(a.index, op, datum))
    }

    fn add_rules(
        ctx: &mut ScmpFilterContext,
        call: &SeccompSyscall,
        default: ScmpAction,
    ) -> Result<()> {
        let act = action(&call.action, call.errno_ret)?;
        if act == default {
            return Ok(());
        }
        for name in &call.names {
            // As runc: the init writes to the runtime after the load; a notified write would
            // wait for an agent that never gets the listener.
            if act == ScmpAction::Notify && name == "write" {
                return Err(InitError::msg("seccomp", name.as_str(), "SCMP_ACT_NOTIFY cannot be used for the write syscall"));
            }
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue; // not a syscall this libseccomp knows: as runc, skipped
            };
            let conds = call
                .args
                .iter()
                .map(|a| condition(name, a))
                .collect::<Result<Vec<_>>>()?;
            let mut per_arg = [0; 6];
            for a in &call.args {
                per_arg[a.index as usize] += 1;
            }
            let added = if conds.is_empty() {
                ctx.add_rule(act, nr)
            } else if per_arg.iter().any(|n| *n > 1) {
                conds
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, nr, &[*c]).map(|_| ()))
                    .map(|()| ctx as &mut ScmpFilterContext)
            } else {
                ctx.add_rule_conditional(act, nr, &conds)
            };
            added.map_err(|e| bad(name, format!("adding the rule: {e}")))?;
        }
        Ok(())
    }

    /// The spec's filter as a BPF program for the init to load.
    pub fn compile(s: &Seccomp) -> Result<Filter> {
        let default = action(&s.default_action, s.default_errno_ret)?;
        if default == ScmpAction::Notify {
            return Err(InitError::msg("seccomp", "SCMP_ACT_NOTIFY", "cannot be the default action"));
        }
        let notify = s.syscalls.iter().any(|c| c.action == "SCMP_ACT_NOTIFY");
        if notify && s.listener_path.as_deref().unwrap_or("").is_empty() {
            return Err(InitError::msg("seccomp", "listenerPath", "SCMP_ACT_NOTIFY needs a listenerPath"));
        }
        let flags = flag_bits(&s.flags)?;
        let mut ctx = ScmpFilterContext::new(default).map_err(|e| bad("filter", e))?;
        // The init loads the program itself; PR_SET_NO_NEW_PRIVS is process.noNewPrivileges'.
        ctx.set_ctl_nnp(false).map_err(|e| bad("filter", e))?;
        for arch in &s.architectures {
            let a = ScmpArch::from_str(arch)
                .map_err(|_| InitError::msg("seccomp", arch.as_str(), "unknown architecture"))?;
            ctx.add_arch(a)
                .map_err(|e| bad(arch, format!("adding the architecture: {e}")))?;
        }
        if s.syscalls.len() > 32 {
            // A binary tree of syscall numbers for long profiles (runc does the same).
            let _ = ctx.set_ctl_optimize(2);
        }
        for call in &s.syscalls {
            add_rules(&mut ctx, call, default)?;
        }
        // An anonymous file for libseccomp to export the program into.
        let mut out = std::fs::File::from(crate::process::program::memfd_with(c"runts-seccomp", b"", false)?);
        ctx.export_bpf(&out).map_err(|e| bad("export", e))?;
        let mut program = Vec::new();
        out.rewind()
            .and_then(|()| out.read_to_end(&mut program))
            .map_err(|e| {
                let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                InitError::sys("seccomp", "export", errno)
            })?;
        Ok(Filter { program, flags, notify })
    }

}

#[cfg(all(test, feature = "libseccomp"))]
mod tests {
    use super::*;
    use crate::config::{Seccomp, SeccompArg, SeccompSyscall};

    fn rule(
        names: &[&str],
        action: &str,
        errno: Option<u32>,
        args: Vec<SeccompArg>,
    ) -> SeccompSyscall {
        SeccompSyscall {
            names: names.iter().map(|s| s.to_string()).collect(),
            action: action.into(),
            errno_ret: errno,
            args,
        }
    }

    /// Runs `f` in a forked child with `filter` loaded; the child's exit status.
    fn in_child(filter: &Filter, f: fn() -> i32) -> i32 {
        // SAFETY: the child only makes system calls and exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let _ = nix::sys::prctl::set_no_new_privs();
                let code = if load(filter).is_ok() { f() } else { 99 };
                unsafe { libc::_exit(code) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                match nix::sys::wait::waitpid(child, None).unwrap() {
                    nix::sys::wait::WaitStatus::Exited(_, c) => c,
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn errno_rules_args_and_unknown_names() {
        let s = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            architectures: vec![
                "SCMP_ARCH_X86_64".into(),
                "SCMP_ARCH_X86".into(),
                "SCMP_ARCH_X32".into(),
            ],
            syscalls: vec![
                rule(
                    &["mkdir", "mkdirat", "no_such_syscall"],
                    "SCMP_ACT_ERRNO",
                    Some(13),
                    vec![],
                ),
                // personality(0xffffffff) (a query) fails with ENXIO, personality(0) does not.
                rule(
                    &["personality"],
                    "SCMP_ACT_ERRNO",
                    Some(libc::ENXIO as u32),
                    vec![SeccompArg {
                        index: 0,
                        value: "4294967295".into(),
                        value_two: None,
                        op: "SCMP_CMP_EQ".into(),
                    }],
                ),
                // umask(mode & 0o700 == 0o700) fails.
                rule(
                    &["umask"],
                    "SCMP_ACT_ERRNO",
                    None,
                    vec![SeccompArg {
                        index: 0,
                        value: "448".into(),
                        value_two: Some("448".into()),
                        op: "SCMP_CMP_MASKED_EQ".into(),
                    }],
                ),
                rule(&["getpid"], "SCMP_ACT_ALLOW", None, vec![]),
            ],
            ..Default::default()
        };
        let f = compile(&s).unwrap();
        assert_eq!(f.program.len() % 8, 0);
        let code = in_child(&f, || {
            let mkdir = unsafe { libc::mkdir(c"/tmp/runts-seccomp-test".as_ptr(), 0o700) };
            let e1 = nix::errno::Errno::last_raw();
            let p_query = unsafe { libc::personality(0xffffffff) };
            let e2 = nix::errno::Errno::last_raw();
            let p_set = unsafe { libc::personality(0) };
            let u_bad = unsafe { libc::syscall(libc::SYS_umask, 0o777) };
            let e3 = nix::errno::Errno::last_raw();
            let u_ok = unsafe { libc::syscall(libc::SYS_umask, 0o022) };
            let ok = mkdir == -1
                && e1 == libc::EACCES
                && p_query == -1
                && e2 == libc::ENXIO
                && p_set >= 0
                && u_bad == -1
                && e3 == libc::EPERM
                && u_ok >= 0;
            if ok {
                0
            } else {
                1
            }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn default_errno_and_refusals() {
        let s = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(libc::ENOSYS as u32),
            syscalls: vec![rule(
                &["exit", "exit_group", "getppid", "rt_sigreturn", "write"],
                "SCMP_ACT_ALLOW",
                None,
                vec![],
            )],
            ..Default::default()
        };
        let f = compile(&s).unwrap();
        let code = in_child(&f, || {
            let pid = unsafe { libc::syscall(libc::SYS_getpid) };
            let e = nix::errno::Errno::last_raw();
            let ppid = unsafe { libc::syscall(libc::SYS_getppid) };
            if pid == -1 && e == libc::ENOSYS && ppid > 0 {
                0
            } else {
                1
            }
        });
        assert_eq!(code, 0);
        let refused = |s: Seccomp| compile(&s).unwrap_err().to_string();
        let notify = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            syscalls: vec![rule(&["mkdir"], "SCMP_ACT_NOTIFY", None, vec![])],
            ..Default::default()
        };
        assert!(refused(notify.clone()).contains("SCMP_ACT_NOTIFY needs a listenerPath"));
        let with_listener = Seccomp { listener_path: Some("/run/agent.sock".into()), ..notify.clone() };
        assert!(compile(&with_listener).unwrap().notify);
        let on_write = Seccomp {
            syscalls: vec![rule(&["write"], "SCMP_ACT_NOTIFY", None, vec![])],
            ..with_listener.clone()
        };
        assert!(refused(on_write).contains("cannot be used for the write syscall"));
        let as_default = Seccomp { default_action: "SCMP_ACT_NOTIFY".into(), ..with_listener };
        assert!(refused(as_default).contains("cannot be the default action"));
        let flag = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            flags: vec!["SECCOMP_FILTER_FLAG_X".into()],
            ..Default::default()
        };
        assert!(refused(flag).contains("seccomp flag is not known"));
        assert_eq!(
            flag_bits(&[
                "SECCOMP_FILTER_FLAG_LOG".into(),
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW".into()
            ])
            .unwrap(),
            6
        );
    }
}
