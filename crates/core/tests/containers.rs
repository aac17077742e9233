//! Real containers through `process::create` and the init program (`runts-init`, built by cargo
//! for these tests).
//!
//! These need root and the static /bin/busybox (busybox-static, installed by
//! test/setup.sh), so they are `#[ignore]`d with that reason and fail when run without either.
//! They reap with waitpid(pid), never wait_reaping, which would steal other tests' children.


use nix::errno::Errno;
use runts_core::config::{Capabilities, Config, InitOptions, Namespace, Process};
use runts_core::error::Result;
use runts_core::process::{create, start, InitProgram};

fn program() -> InitProgram {
    InitProgram::from_path(env!("CARGO_BIN_EXE_runts-init")).unwrap()
}

/// waitpid(pid) and the status as "exit status N".
fn wait_for(pid: i32) -> libc::c_int {
    let mut st = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    st
}

fn describe(st: libc::c_int) -> String {
    assert!(libc::WIFEXITED(st), "not an exit: {st:#x}");
    format!("exit status {}", libc::WEXITSTATUS(st))
}

/// A rootfs holding busybox; fails the test when not root or without /bin/busybox.
fn rootfs() -> tempfile::TempDir {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (real containers): run `cargo test -- --include-ignored` as root"
    );
    assert!(
        std::path::Path::new("/bin/busybox").exists(),
        "this test needs the static /bin/busybox (busybox-static, installed by test/setup.sh)"
    );
    let d = tempfile::tempdir().unwrap();
    for sub in ["bin", "proc", "dev", "tmp"] {
        std::fs::create_dir(d.path().join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", d.path().join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", d.path().join("bin/sh")).unwrap();
    d
}

fn config(root: &std::path::Path, args: &[&str]) -> Config {
    Config {
        id: format!("t{}", std::process::id()),
        rootfs: root.to_str().unwrap().into(),
        hostname: Some("t".into()),
        process: Process {
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            capabilities: Some(Capabilities {
                bounding: vec!["CAP_KILL".into()],
                ..Default::default()
            }),
            ..Default::default()
        },
        namespaces: ["pid", "mount", "uts", "ipc", "network"]
            .iter()
            .map(|t| Namespace {
                ns_type: t.to_string(),
                path: None,
            })
            .collect(),
        ..Default::default()
    }
}

fn run(cfg: &Config) -> Result<libc::c_int> {
    let s = create(cfg, &InitOptions::default(), &program())?;
    let started = start(s.sync_fd);
    let st = wait_for(s.pid);
    started.map(|()| st)
}

#[test]
#[ignore = "needs root and /bin/busybox: a real container"]
fn exit_status_of_the_container_process() {
    let d = rootfs();
    let st = run(&config(
        d.path(),
        &[
            "sh",
            "-c",
            "test $$ = 1 && test \"$(busybox hostname)\" = t && exit 3",
        ],
    ))
    .unwrap();
    assert_eq!(describe(st), "exit status 3");
}

#[test]
#[ignore = "needs root and /bin/busybox: a real container"]
fn missing_binary_fails_create_with_exec_step() {
    let d = rootfs();
    let e = create(&config(d.path(), &["nosuch"]), &InitOptions::default(), &program()).unwrap_err();
    assert_eq!(
        (e.step.as_str(), e.path.as_str(), e.errno),
        ("exec", "nosuch", libc::ENOENT)
    );
}

#[test]
#[ignore = "needs root and /bin/busybox: the container fixture of the tests above"]
fn unknown_capability_fails_before_fork() {
    let d = rootfs();
    let mut cfg = config(d.path(), &["sh"]);
    cfg.process.capabilities.as_mut().unwrap().effective = vec!["CAP_NOPE".into()];
    let e = create(&cfg, &InitOptions::default(), &program()).unwrap_err();
    assert_eq!(
        (e.step.as_str(), e.path.as_str()),
        ("parse capability", "CAP_NOPE")
    );
}

/// process.terminal without a console socket: `create` hands back the pty master; the
/// process has the slave as its terminal, sized from consoleSize.
#[test]
#[ignore = "needs root and /bin/busybox: a real container"]
fn terminal_master_is_returned_to_the_caller() {
    let d = rootfs();
    let mut cfg = config(
        d.path(),
        &[
            "sh",
            "-c",
            "busybox stty size; busybox tty; [ -t 0 ] && echo t0",
        ],
    );
    cfg.process.terminal = true;
    cfg.process.console_size = Some(runts_core::config::ConsoleSize {
        height: 10,
        width: 20,
    });
    cfg.mounts.push(runts_core::config::Mount {
        destination: "/dev/pts".into(),
        mount_type: Some("devpts".into()),
        source: Some("devpts".into()),
        options: vec!["newinstance".into(), "ptmxmode=0666".into()],
        ..Default::default()
    });
    let s = create(&cfg, &InitOptions::default(), &program()).unwrap();
    assert!(s.console_fd >= 0);
    // SAFETY: ours to own (Spawned::console_fd).
    let master =
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(s.console_fd) };
    start(s.sync_fd).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match nix::unistd::read(&master, &mut buf) {
            Ok(0) | Err(Errno::EIO) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => {}
            Err(e) => panic!("read master: {e}"),
        }
    }
    assert_eq!(
        describe(wait_for(s.pid)),
        "exit status 0"
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "10 20\r\n/dev/pts/0\r\nt0\r\n"
    );
}
