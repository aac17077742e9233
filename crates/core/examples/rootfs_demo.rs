//! Builds a container root filesystem with `rootfs::{prepare, enter, finalize}` from a config
//! that mirrors `runc spec`'s default mounts, and runs a shell command in it, to compare with
//! `runc run` on the same bundle.
//!
//! ```text
//! cargo run -p runts-core --example rootfs_demo -- <bundle> [--no-pivot] [--] [command]
//! ```
//!
//! The bundle needs `rootfs/bin/sh` (busybox). The demo also adds two mounts to runc's
//! defaults, to see them next to runc's when its config.json has the same:
//! `<bundle>/data` bind-mounted read-only at /data, and a tmpfs at /evil/mnt where the rootfs
//! has `evil -> /etc` (it must land on the rootfs' /etc/mnt, not the host's).
//! Root only: it unshares mount, pid, net, ipc and uts namespaces.
//!
//! Options:
//! - `--no-pivot`: MS_MOVE + chroot instead of pivot_root.
//! - `--torture`: adds `linux.devices` (char, block, fifo, in a new subdirectory), a recursive
//!   read-only bind (`rro`, through mount_setattr) of a directory that has a submount,
//!   propagation options, a file bind mount and a destination behind a `../../..` symlink.
//! - `--userns`: also a user namespace (uid/gid 0 mapped to 0 only), so mknod is refused and
//!   the device nodes are bind-mounted from the host.
//! - `--cgroupns`: also a cgroup namespace (the cgroup mount is then the cgroup filesystem
//!   of each hierarchy, not binds).
//! - `--propagation=<name>`: `linux.rootfsPropagation`.
//! - `--fail=<case>`: a config that must fail, to see the error: `source` (missing bind
//!   source), `inproc` (mount inside /proc), `copyup` (tmpcopyup), `procdir` (/proc is a
//!   symlink in the rootfs), `devtype` (unknown device type), `propagation` (bad
//!   rootfsPropagation).

use nix::mount::MsFlags;
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{execve, fork, sethostname, ForkResult};
use runts_core::config::{Config, Device, Mount, Namespace, Process};
use runts_core::rootfs;
use std::ffi::CString;
use std::process::exit;

fn mount(dest: &str, ty: &str, source: &str, options: &[&str]) -> Mount {
    Mount {
        destination: dest.into(),
        mount_type: Some(ty.into()),
        source: Some(source.into()),
        options: options.iter().map(|s| s.to_string()).collect(),
    }
}

fn config(bundle: &str, args: Vec<String>) -> Config {
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Config {
        id: "demo".into(),
        bundle: bundle.into(),
        rootfs: format!("{bundle}/rootfs"),
        rootfs_readonly: true,
        rootfs_propagation: None,
        hostname: Some("runts".into()),
        mounts: vec![
            mount("/proc", "proc", "proc", &[]),
            mount(
                "/dev",
                "tmpfs",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            mount(
                "/dev/pts",
                "devpts",
                "devpts",
                &[
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            ),
            mount(
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            ),
            mount(
                "/dev/mqueue",
                "mqueue",
                "mqueue",
                &["nosuid", "noexec", "nodev"],
            ),
            mount(
                "/sys",
                "sysfs",
                "sysfs",
                &["nosuid", "noexec", "nodev", "ro"],
            ),
            mount(
                "/sys/fs/cgroup",
                "cgroup",
                "cgroup",
                &["nosuid", "noexec", "nodev", "relatime", "ro"],
            ),
            mount(
                "/data",
                "bind",
                &format!("{bundle}/data"),
                &["rbind", "ro", "nosuid"],
            ),
            mount("/evil/mnt", "tmpfs", "tmpfs", &["mode=700"]),
        ],
        process: Process {
            args,
            cwd: "/".into(),
            env: strs(&["PATH=/bin"]),
            ..Default::default()
        },
        namespaces: ["pid", "network", "ipc", "uts", "mount"]
            .iter()
            .map(|t| Namespace {
                ns_type: t.to_string(),
                path: None,
            })
            .collect(),
        masked_paths: strs(&[
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
        ]),
        readonly_paths: strs(&[
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ]),
        ..Default::default()
    }
}

fn device(path: &str, ty: &str, major: i64, minor: i64, mode: u32, uid: u32) -> Device {
    Device {
        path: path.into(),
        dev_type: ty.into(),
        major,
        minor,
        file_mode: Some(mode),
        uid: Some(uid),
        gid: Some(uid),
    }
}

/// `--torture`: the harder parts of the mount and device code.
fn torture(cfg: &mut Config, bundle: &str) {
    cfg.devices = vec![
        device("/dev/fuse", "c", 10, 229, 0o600, 1000),
        device("/dev/net/tun", "c", 10, 200, 0o666, 0),
        device("/dev/loop0", "b", 7, 0, 0o660, 0),
        device("/dev/myfifo", "p", 0, 0, 0o644, 0),
    ];
    if cfg.has_ns("user") {
        // Bound from the same path on the host: only what the host has.
        cfg.devices
            .retain(|d| std::path::Path::new(&d.path).exists());
    }
    cfg.mounts.push(mount(
        "/rdata",
        "bind",
        &format!("{bundle}/data"),
        &["rbind", "rro", "rprivate"],
    ));
    cfg.mounts.push(mount(
        "/sdata",
        "none",
        &format!("{bundle}/data"),
        &["bind", "nodev", "noexec", "slave"],
    ));
    cfg.mounts.push(mount(
        "/etc/hostname",
        "bind",
        &format!("{bundle}/data/f"),
        &["bind", "ro"],
    ));
    cfg.mounts.push(mount(
        "/up/escaped",
        "tmpfs",
        "tmpfs",
        &["size=1m", "rnoatime"],
    ));
}

/// `--fail=<case>`: a config that must be refused, with a clear error.
fn failing(cfg: &mut Config, case: &str, bundle: &str) {
    match case {
        "source" => cfg
            .mounts
            .push(mount("/data2", "bind", "/nonexistent/src", &["rbind"])),
        "inproc" => cfg
            .mounts
            .push(mount("/proc/sys/kernel", "tmpfs", "tmpfs", &[])),
        "copyup" => cfg
            .mounts
            .push(mount("/tmp", "tmpfs", "tmpfs", &["tmpcopyup"])),
        "procdir" => {
            let root = format!("{bundle}/rootfs");
            std::fs::create_dir_all(format!("{root}/realproc")).unwrap();
            std::fs::rename(format!("{root}/proc"), format!("{root}/proc.saved")).unwrap();
            std::os::unix::fs::symlink("/realproc", format!("{root}/proc")).unwrap();
        }
        "devtype" => cfg.devices.push(device("/dev/weird", "x", 1, 1, 0o600, 0)),
        "propagation" => cfg.rootfs_propagation = Some("sideways".into()),
        other => panic!("unknown --fail case {other}"),
    }
}

/// The container init: pid 1 of the new pid namespace.
fn init(cfg: &Config, no_pivot: bool) -> ! {
    let run = || -> runts_core::Result<()> {
        if let Some(h) = &cfg.hostname {
            sethostname(h).map_err(|e| runts_core::InitError::sys("sethostname", h, e))?;
        }
        rootfs::prepare(cfg)?;
        rootfs::enter(cfg, no_pivot)?;
        rootfs::finalize(cfg)?;
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("rootfs_demo: {e}");
        exit(1);
    }
    let args: Vec<CString> = cfg
        .process
        .args
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap())
        .collect();
    let env: Vec<CString> = cfg
        .process
        .env
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap())
        .collect();
    let err = execve(&args[0], &args, &env).unwrap_err();
    eprintln!("rootfs_demo: exec {:?}: {err}", cfg.process.args[0]);
    exit(127);
}

fn wait(pid: nix::unistd::Pid) -> i32 {
    match waitpid(pid, None) {
        Ok(WaitStatus::Exited(_, code)) => code,
        Ok(WaitStatus::Signaled(_, sig, _)) => 128 + sig as i32,
        other => {
            eprintln!("rootfs_demo: wait: {other:?}");
            1
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let bundle = args.next().unwrap_or_else(|| {
        eprintln!("usage: rootfs_demo <bundle> [--no-pivot] [--] [command]");
        exit(2)
    });
    let bundle = std::fs::canonicalize(&bundle)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut no_pivot = false;
    let mut torture_mode = false;
    let mut userns = false;
    let mut fail: Option<String> = None;
    let mut cgroupns = false;
    let mut propagation: Option<String> = None;
    let mut command = Vec::new();
    for a in args {
        match a.as_str() {
            "--no-pivot" => no_pivot = true,
            "--torture" => torture_mode = true,
            "--userns" => userns = true,
            "--cgroupns" => cgroupns = true,
            _ if a.starts_with("--propagation=") => {
                propagation = Some(a["--propagation=".len()..].to_owned())
            }
            "--" => {}
            _ if a.starts_with("--fail=") => fail = Some(a["--fail=".len()..].to_owned()),
            _ => command.push(a),
        }
    }
    if command.is_empty() {
        command = vec![
            "/bin/sh".into(),
            "-c".into(),
            "cat /proc/self/mountinfo; ls -la /dev".into(),
        ];
    }
    let mut cfg = config(&bundle, command);
    std::fs::create_dir_all(format!("{bundle}/data/sub")).unwrap();
    std::fs::write(format!("{bundle}/data/f"), "from the bundle\n").unwrap();
    let evil = format!("{bundle}/rootfs/evil");
    if std::fs::symlink_metadata(&evil).is_err() {
        std::os::unix::fs::symlink("/etc", &evil).unwrap();
    }
    if userns {
        cfg.namespaces.push(Namespace {
            ns_type: "user".into(),
            path: None,
        });
        // Only uid/gid 0 are mapped: devpts refuses gid=5 (EINVAL), as `runc spec --rootless`
        // knows by leaving it out.
        for m in cfg
            .mounts
            .iter_mut()
            .filter(|m| m.destination == "/dev/pts")
        {
            m.options.retain(|o| o != "gid=5");
        }
    }
    if cgroupns {
        cfg.namespaces.push(Namespace {
            ns_type: "cgroup".into(),
            path: None,
        });
    }
    cfg.rootfs_propagation = propagation;
    if torture_mode {
        torture(&mut cfg, &bundle);
        let up = format!("{bundle}/rootfs/up");
        if std::fs::symlink_metadata(&up).is_err() {
            std::os::unix::fs::symlink("../../../../../..", &up).unwrap();
        }
    }
    if let Some(case) = &fail {
        failing(&mut cfg, case, &bundle);
    }

    // SAFETY: the demo is single-threaded; the children only make system calls and exec.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            if userns {
                // Our own maps: only our ids can be mapped without a helper (user_namespaces(7)).
                unshare(CloneFlags::CLONE_NEWUSER).expect("unshare user");
                std::fs::write("/proc/self/setgroups", "deny").unwrap();
                std::fs::write("/proc/self/uid_map", "0 0 1").unwrap();
                std::fs::write("/proc/self/gid_map", "0 0 1").unwrap();
            }
            let ns = CloneFlags::CLONE_NEWNS
                | CloneFlags::CLONE_NEWPID
                | CloneFlags::CLONE_NEWNET
                | CloneFlags::CLONE_NEWIPC
                | CloneFlags::CLONE_NEWUTS
                | if cgroupns {
                    CloneFlags::CLONE_NEWCGROUP
                } else {
                    CloneFlags::empty()
                };
            if let Err(e) = unshare(ns) {
                eprintln!("rootfs_demo: unshare: {e}");
                exit(1);
            }
            if torture_mode {
                // A submount inside the bind source, in our namespace only: `rro` must reach it.
                let sub = format!("{bundle}/data/sub");
                nix::mount::mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_SLAVE | MsFlags::MS_REC,
                    None::<&str>,
                )
                .unwrap();
                nix::mount::mount(
                    Some("tmpfs"),
                    sub.as_str(),
                    Some("tmpfs"),
                    MsFlags::empty(),
                    None::<&str>,
                )
                .unwrap();
            }
            // CLONE_NEWPID applies to children: fork once more to be pid 1 in it, so the proc
            // mounted by prepare is the new namespace's.
            match unsafe { fork() }.expect("fork") {
                ForkResult::Child => init(&cfg, no_pivot),
                ForkResult::Parent { child } => exit(wait(child)),
            }
        }
        ForkResult::Parent { child } => {
            let code = wait(child);
            let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
            let leaked: Vec<&str> = table.lines().filter(|l| l.contains(&bundle)).collect();
            if leaked.is_empty() {
                eprintln!("rootfs_demo: exit {code}; nothing of {bundle} mounted on the host");
            } else {
                eprintln!(
                    "rootfs_demo: exit {code}; LEAKED on the host:\n{}",
                    leaked.join("\n")
                );
                exit(1);
            }
            exit(code);
        }
    }
}
