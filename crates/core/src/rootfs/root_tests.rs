//! Real mounts, as root: `cargo test -p runts-core -- --ignored rootfs`. Each test runs in a
//! forked child that unshares its mount namespace, so nothing reaches the host's mount table
//! (checked after each test). The rootfs has no /proc mount, so finalize also exercises the
//! fallback from /proc/self/fd to plain paths.

use super::*;
use crate::config::Mount;
use nix::sched::{unshare, CloneFlags};
use nix::sys::statfs::{statfs, TMPFS_MAGIC};
use nix::sys::statvfs::{statvfs, FsFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use std::path::Path;
use tempfile::TempDir;

/// Runs `f` in a child in a new mount namespace; its Err is printed and fails the test.
pub(super) fn in_child(f: impl FnOnce() -> std::result::Result<(), String>) {
    // SAFETY: the child only makes system calls, allocates and exits; it never returns into
    // the test harness (std::process::exit would run atexit handlers of the parent's threads'
    // libraries, so _exit).
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = match unshare(CloneFlags::CLONE_NEWNS)
                .map_err(|e| format!("unshare: {e}"))
                .and_then(|_| f())
            {
                Ok(()) => 0,
                Err(e) => {
                    // Straight to fd 2: the harness captures eprintln! in-process, and this
                    // process's buffer is lost with it.
                    let _ =
                        nix::unistd::write(std::io::stderr(), format!("child: {e}\n").as_bytes());
                    1
                }
            };
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            assert_eq!(
                waitpid(child, None).unwrap(),
                WaitStatus::Exited(child, 0),
                "child failed"
            );
        }
    }
}

fn mnt(dest: &str, ty: &str, source: &str, opts: &[&str]) -> Mount {
    Mount {
        destination: dest.into(),
        mount_type: Some(ty.into()),
        source: Some(source.into()),
        options: opts.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn bundle() -> (TempDir, Config) {
    let tmp = TempDir::new().unwrap();
    let rootfs = tmp.path().join("rootfs");
    for d in ["etc", "ro/sub", "masked", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::write(rootfs.join("maskedfile"), "secret").unwrap();
    std::fs::write(rootfs.join("ro/file"), "x").unwrap();
    std::os::unix::fs::symlink("/etc", rootfs.join("evil")).unwrap();
    std::os::unix::fs::symlink("../../../../../../..", rootfs.join("up")).unwrap();
    let cfg = Config {
        bundle: tmp.path().to_string_lossy().into_owned(),
        rootfs: rootfs.to_string_lossy().into_owned(),
        // The child's own mount namespace (in_child unshares it), as a container's.
        namespaces: vec![crate::config::Namespace { ns_type: "mount".into(), path: None }],
        ..Default::default()
    };
    (tmp, cfg)
}

fn check(cond: bool, what: &str) -> std::result::Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(format!("check failed: {what}"))
    }
}

fn no_leak(cfg: &Config) {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !table.contains(&cfg.bundle),
        "mounts leaked to the host:\n{table}"
    );
}

#[test]
#[ignore = "needs root: real mounts in a private mount namespace"]
fn readonly_root_dev_masks_and_readonly_paths() {
    let (_tmp, mut cfg) = bundle();
    cfg.rootfs_readonly = true;
    cfg.mounts = vec![
        mnt("/dev", "tmpfs", "tmpfs", &["nosuid", "ro", "mode=755"]),
        mnt("/tmp", "tmpfs", "tmpfs", &["nodev", "mode=1777"]),
    ];
    cfg.readonly_paths = vec!["/ro".into(), "/does/not/exist".into()];
    cfg.masked_paths = vec!["/masked".into(), "/maskedfile".into(), "/nope".into()];
    cfg.process.cwd = "/work/dir".into();
    in_child(|| {
        let s = |e: InitError| e.to_string();
        prepare(&cfg, &[]).map_err(s)?;
        enter(&cfg, false).map_err(s)?;
        finalize(&cfg).map_err(s)?;
        let flags = |p: &str| {
            statvfs(p)
                .map(|v| v.flags())
                .map_err(|e| format!("statvfs {p}: {e}"))
        };
        check(flags("/")?.contains(FsFlags::ST_RDONLY), "/ read-only")?;
        check(
            flags("/dev")?.contains(FsFlags::ST_RDONLY),
            "/dev read-only after the nodes",
        )?;
        check(
            flags("/dev")?.contains(FsFlags::ST_NOSUID),
            "/dev keeps nosuid",
        )?;
        check(
            Path::new("/dev/null").exists() && Path::new("/dev/ptmx").is_symlink(),
            "/dev content",
        )?;
        check(
            !flags("/tmp")?.contains(FsFlags::ST_RDONLY),
            "/tmp stays writable",
        )?;
        check(flags("/tmp")?.contains(FsFlags::ST_NODEV), "/tmp nodev")?;
        // The tmpfs root takes the mode the directory had (0755 here), as runc.
        let mode = std::fs::metadata("/tmp").map_err(|e| e.to_string())?;
        check(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o7777 == 0o755,
            "/tmp mode",
        )?;
        check(flags("/ro")?.contains(FsFlags::ST_RDONLY), "/ro read-only")?;
        check(
            std::fs::read_dir("/masked")
                .map_err(|e| e.to_string())?
                .count()
                == 0,
            "/masked empty",
        )?;
        check(
            flags("/masked")?.contains(FsFlags::ST_RDONLY),
            "/masked read-only",
        )?;
        check(
            std::fs::read_to_string("/maskedfile")
                .map_err(|e| e.to_string())?
                .is_empty(),
            "/maskedfile is /dev/null",
        )?;
        check(Path::new("/work/dir").is_dir(), "cwd created")?;
        Ok(())
    });
    no_leak(&cfg);
    assert!(
        !Path::new(&cfg.rootfs).join("work/dir").exists()
            || Path::new(&cfg.rootfs).join("work/dir").is_dir()
    );
}

#[test]
#[ignore = "needs root: real mounts in a private mount namespace"]
fn destinations_behind_symlinks_stay_inside() {
    let (_tmp, mut cfg) = bundle();
    let host_etc_probe = format!("/etc/runts-escape-probe-{}", std::process::id());
    cfg.mounts = vec![
        // evil -> /etc: the container's /etc, never the host's.
        mnt(
            &format!("/evil/{}", host_etc_probe.trim_start_matches("/etc/")),
            "tmpfs",
            "tmpfs",
            &[],
        ),
        // up -> ../../..: clamped at the rootfs.
        mnt("/up/escaped", "tmpfs", "tmpfs", &[]),
        // A file bind through the symlink.
        mnt(
            "/evil/hostname",
            "bind",
            &format!("{}/rootfs/ro/file", cfg.bundle),
            &["bind", "ro"],
        ),
    ];
    let probe = host_etc_probe.clone();
    in_child(|| {
        let s = |e: InitError| e.to_string();
        prepare(&cfg, &[]).map_err(s)?;
        enter(&cfg, false).map_err(s)?;
        finalize(&cfg).map_err(s)?;
        let is_tmpfs = |p: &str| {
            statfs(p)
                .map(|f| f.filesystem_type() == TMPFS_MAGIC)
                .unwrap_or(false)
        };
        check(is_tmpfs(&probe), "tmpfs at the container's /etc/<probe>")?;
        check(is_tmpfs("/escaped"), "tmpfs at /escaped")?;
        check(
            std::fs::read_to_string("/etc/hostname").map_err(|e| e.to_string())? == "x",
            "file bind",
        )?;
        Ok(())
    });
    no_leak(&cfg);
    assert!(
        !Path::new(&host_etc_probe).exists(),
        "created on the host: {host_etc_probe}"
    );
    assert!(
        !Path::new("/escaped").exists(),
        "created on the host: /escaped"
    );
    assert!(Path::new(&cfg.rootfs)
        .join(host_etc_probe.trim_start_matches('/'))
        .is_dir());
}

#[test]
#[ignore = "needs root: real mounts in a private mount namespace"]
fn errors_name_step_and_destination() {
    let (_tmp, mut cfg) = bundle();
    cfg.mounts = vec![mnt("/data", "bind", "/nonexistent/runts-src", &["rbind"])];
    in_child(|| {
        let e = prepare(&cfg, &[]).expect_err("missing bind source");
        check(
            e.step == "stat" && e.errno == Errno::ENOENT as i32,
            "stat ENOENT",
        )?;
        check(
            e.to_string().contains("bind source for /data"),
            "names the destination",
        )?;
        Ok(())
    });
    no_leak(&cfg);
}

#[test]
#[ignore = "needs root: real mounts in a private mount namespace"]
fn tmpcopyup_fills_the_tmpfs_with_the_directory() {
    let (_tmp, mut cfg) = bundle();
    let etc = Path::new(&cfg.rootfs).join("etc");
    std::fs::write(etc.join("hosts"), "127.0.0.1 x\n").unwrap();
    std::fs::create_dir(etc.join("d")).unwrap();
    std::os::unix::fs::symlink("/outside", etc.join("link")).unwrap();
    cfg.mounts = vec![mnt("/etc", "tmpfs", "tmpfs", &["tmpcopyup", "size=1m"])];
    in_child(|| {
        let s = |e: InitError| e.to_string();
        prepare(&cfg, &[]).map_err(s)?;
        enter(&cfg, false).map_err(s)?;
        let fs_type = statfs("/etc").map_err(|e| e.to_string())?.filesystem_type();
        check(fs_type == TMPFS_MAGIC, "/etc is a tmpfs")?;
        check(std::fs::read_to_string("/etc/hosts").map_err(|e| e.to_string())? == "127.0.0.1 x\n", "file copied")?;
        check(Path::new("/etc/d").is_dir(), "directory copied")?;
        check(std::fs::read_link("/etc/link").map_err(|e| e.to_string())? == Path::new("/outside"), "link copied as a link")?;
        Ok(())
    });
    no_leak(&cfg);
}

#[test]
#[ignore = "needs root: real mounts in a private mount namespace"]
fn without_a_mount_namespace_nothing_is_mounted() {
    let (_tmp, mut cfg) = bundle();
    cfg.namespaces.clear();
    cfg.mounts = vec![mnt("/tmp", "tmpfs", "tmpfs", &[])];
    in_child(|| {
        let before = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let e = prepare(&cfg, &[]).expect_err("mounts without a mount namespace");
        check(e.path == "mounts" && e.to_string().contains("needs a mount namespace"), "names the field")?;
        let after = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        check(before == after, "the mount table is unchanged")?;
        Ok(())
    });
    no_leak(&cfg);
}
