//! Running runtime-spec hooks: each `path` with its `args` and `env`, the container's state JSON
//! on stdin, its stdout and stderr captured, killed after its `timeout`. One executor for
//! every kind: the runtime runs prestart and createRuntime here while the init waits
//! (process/parent.rs), and poststart and poststop through the addon (the TypeScript side says
//! when, and what a failure means); the init runs createContainer and startContainer in the
//! container's namespaces (process/init.rs).
//!
//! The state goes in through a memfd and the output comes back through memfds, not pipes: a
//! hook that does not read its stdin, or writes more than a pipe holds, cannot block either
//! side.

use crate::config::Hook;
use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};

/// What a hook printed, kept for the log and for errors (runc puts both in its error).
const OUTPUT_MAX: usize = 4096;

/// The state JSON for a hook: `template` (the runtime-spec state the TypeScript side rendered)
/// with `status` and `pid` set, its fields in runc's order (specs.State: a pid of 0 and empty
/// annotations left out).
pub fn state_json(template: &str, status: &str, pid: i32) -> String {
    let Ok(serde_json::Value::Object(mut state)) = serde_json::from_str(template) else {
        return template.to_owned();
    };
    state.insert("status".into(), status.into());
    state.insert("pid".into(), pid.into());
    let mut fields: Vec<(String, serde_json::Value)> = Vec::new();
    for key in ["ociVersion", "id", "status", "pid", "bundle", "annotations"] {
        if let Some(v) = state.remove(key) {
            let empty = (key == "pid" && v == 0) || (key == "annotations" && v.as_object().is_some_and(|o| o.is_empty()));
            if !empty {
                fields.push((key.to_owned(), v));
            }
        }
    }
    fields.extend(state);
    // serde_json's map sorts its keys: written by hand to keep this order.
    let body = fields
        .into_iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k)))
        .collect::<Vec<_>>()
        .join(",");
    format!("{{{body}}}")
}

/// Runs `hooks` of `kind` in order with `state` on stdin; stops at the first that fails (its
/// error names the kind, the index and the path, with what the hook printed). Returns one
/// line per hook that printed something, for the caller's log.
pub fn run(kind: &str, hooks: &[Hook], state: &str) -> Result<Vec<String>> {
    let mut printed = Vec::new();
    for (i, h) in hooks.iter().enumerate() {
        let step = format!("{kind} hook #{i}");
        let out = run_one(&step, h, state)?;
        if !out.is_empty() {
            printed.push(format!("{step} ({}): {out}", h.path));
        }
    }
    Ok(printed)
}

/// A memfd holding `bytes`, at offset 0 (process::program's helper).
fn memfd(name: &std::ffi::CStr, bytes: &[u8]) -> Result<std::fs::File> {
    crate::process::program::memfd_with(name, bytes, false).map(std::fs::File::from)
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// What a capture holds, as one line (control characters shown escaped), shortened.
fn captured(mut f: std::fs::File) -> String {
    let mut bytes = Vec::new();
    let _ = f.seek(SeekFrom::Start(0)).and_then(|_| f.take(OUTPUT_MAX as u64).read_to_end(&mut bytes));
    let text = String::from_utf8_lossy(&bytes);
    text.trim_end().escape_debug().to_string()
}

fn run_one(step: &str, h: &Hook, state: &str) -> Result<String> {
    let stdin = memfd(c"runts-hook-state", state.as_bytes())?;
    let stdout = memfd(c"runts-hook-stdout", b"")?;
    let stderr = memfd(c"runts-hook-stderr", b"")?;
    let mut cmd = Command::new(&h.path);
    if let Some((argv0, rest)) = h.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    if let Some(env) = &h.env {
        cmd.env_clear();
        for e in env {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout.try_clone().map_err(|e| InitError::sys(step, "dup", io_errno(&e)))?))
        .stderr(Stdio::from(stderr.try_clone().map_err(|e| InitError::sys(step, "dup", io_errno(&e)))?));
    let mut child = cmd.spawn().map_err(|e| InitError::sys(step, &h.path, io_errno(&e)))?;
    let status = match h.timeout.filter(|t| *t > 0) {
        None => child.wait().map_err(|e| InitError::sys(step, &h.path, io_errno(&e)))?,
        Some(secs) => match wait_timeout(&mut child, secs)? {
            Some(st) => st,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(InitError::msg(step, &h.path, format!("timed out after {secs} s")));
            }
        },
    };
    let (out, err) = (captured(stdout), captured(stderr));
    if status.success() {
        let both = [out, err].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
        return Ok(both.join(" "));
    }
    Err(InitError::msg(step, &h.path, format!("{}, stdout: {out}, stderr: {err}", describe(status))))
}

fn describe(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".into(),
    }
}

/// The child's status, or None once `secs` have passed (a pidfd polled for it).
fn wait_timeout(child: &mut std::process::Child, secs: u32) -> Result<Option<ExitStatus>> {
    // SAFETY: pidfd_open of our own unreaped child.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    if fd < 0 {
        // No pidfds (Linux < 5.3): poll the child every few milliseconds instead.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs.into());
        while std::time::Instant::now() < until {
            if let Some(st) = child.try_wait().map_err(|e| InitError::sys("wait", "hook", io_errno(&e)))? {
                return Ok(Some(st));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        return Ok(None);
    }
    // SAFETY: the descriptor pidfd_open just returned.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut pfd = libc::pollfd { fd: pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let ms = (secs as i64 * 1000).min(i32::MAX as i64) as i32;
    let n = loop {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n >= 0 || Errno::last() != Errno::EINTR {
            break n;
        }
    };
    if n == 0 {
        return Ok(None);
    }
    child.wait().map(Some).map_err(|e| InitError::sys("wait", "hook", io_errno(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(script: &str, timeout: Option<u32>) -> Hook {
        Hook {
            path: "/bin/sh".into(),
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: Some(vec!["HOOK_ENV=set".into()]),
            timeout,
        }
    }

    #[test]
    fn state_on_stdin_env_output_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("order");
        let l = log.display();
        let tpl = r#"{"ociVersion":"1.0.2","id":"c1","status":"x","pid":0,"bundle":"/b","annotations":{}}"#;
        assert_eq!(state_json(tpl, "stopped", 0), r#"{"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"}"#);
        let state = state_json(tpl, "creating", 42);
        assert_eq!(state, r#"{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#);
        let hooks = [
            hook(&format!("cat >> {l}; echo >> {l}; echo \"$HOOK_ENV $0\""), None),
            hook(&format!("echo second >> {l}"), Some(5)),
        ];
        let printed = run("createRuntime", &hooks, &state).unwrap();
        assert_eq!(printed, vec!["createRuntime hook #0 (/bin/sh): set sh".to_string()]);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), format!("{state}\nsecond\n"));
    }

    #[test]
    fn failures_name_the_hook_and_say_what_it_printed() {
        let e = run("poststop", &[hook("true", None), hook("echo out; echo err >&2; exit 3", None)], "{}").unwrap_err();
        assert_eq!((e.step.as_str(), e.path.as_str()), ("poststop hook #1", "/bin/sh"));
        assert_eq!(e.detail, "exit status 3, stdout: out, stderr: err");
        let t = std::time::Instant::now();
        let e = run("prestart", &[hook("sleep 10", Some(1))], "{}").unwrap_err();
        assert_eq!(e.detail, "timed out after 1 s");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        let missing = Hook { path: "/no/such/hook".into(), ..Default::default() };
        let e = run("createRuntime", &[missing], "{}").unwrap_err();
        assert_eq!((e.path.as_str(), e.errno), ("/no/such/hook", libc::ENOENT));
    }
}
