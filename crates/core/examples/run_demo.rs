//! Runs one container from a hand-built `Config`, the way the CLI's `run` will: subreaper,
//! create, start, wait. For manual checks as root:
//!
//! ```text
//! mkdir -p /tmp/rb/rootfs/{bin,proc,dev,sys,tmp}; cp /bin/busybox /tmp/rb/rootfs/bin/
//! (cd /tmp/rb/rootfs/bin && for a in sh cat ls id hostname; do ln -s busybox $a; done)
//! cargo run -p runts-core --example run_demo -- [options] [--] cmd args...
//! ```
//!
//! Options: `--rootfs DIR` (default /tmp/rb/rootfs), `--id ID`, `--hostname NAME`,
//! `--cwd DIR`, `--user UID:GID[:GID,...]`, `--userns` (user namespace, 0 → 100000 x 65536),
//! `--cgroupns`, `--no-caps` (no capabilities object), `--all-caps`, `--no-nnp`,
//! `--rlimit NAME=SOFT:HARD`, `--env K=V`, `--sysctl K=V`, `--umask OCTAL`,
//! `--oom-score-adj N`, `--fifo PATH` (create/start through an exec fifo),
//! `--preserve-fds N`, `--no-mounts` (no spec mounts), `--rw` (writable rootfs),
//! `--pause SECS` (between create and start), `--join TYPE=PATH`, `--cgroup DIR` (a cgroup
//! directory to join, repeatable).
//! Exits with the container's status (128 + signal when killed).

use runts_core::caps::CAPS;
use runts_core::config::*;
use runts_core::process::{self, ExitStatus};
use std::io::Read;

fn usage(msg: &str) -> ! {
    eprintln!("run_demo: {msg}");
    std::process::exit(2);
}

fn mount(dest: &str, ty: &str, src: &str, opts: &[&str]) -> Mount {
    Mount {
        destination: dest.into(),
        mount_type: Some(ty.into()),
        source: Some(src.into()),
        options: opts.iter().map(|s| s.to_string()).collect(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn main() {
    let mut cfg = Config {
        id: format!("demo{}", std::process::id()),
        rootfs: "/tmp/rb/rootfs".into(),
        rootfs_readonly: true,
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
        ],
        process: Process {
            args: vec![],
            env: strings(&[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ]),
            cwd: "/".into(),
            capabilities: Some(Capabilities {
                bounding: strings(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]),
                effective: strings(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]),
                inheritable: vec![],
                permitted: strings(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]),
                ambient: strings(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]),
            }),
            rlimits: vec![Rlimit {
                rlimit_type: "RLIMIT_NOFILE".into(),
                soft: 1024,
                hard: 1024,
            }],
            no_new_privileges: true,
            ..Default::default()
        },
        namespaces: ["pid", "network", "ipc", "uts", "mount"]
            .iter()
            .map(|t| Namespace {
                ns_type: t.to_string(),
                path: None,
            })
            .collect(),
        masked_paths: strings(&[
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
        readonly_paths: strings(&[
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ]),
        ..Default::default()
    };
    let mut opts = InitOptions::default();
    let mut pause = 0u64;

    let mut args = std::env::args().skip(1);
    let next = |name: &str, args: &mut dyn Iterator<Item = String>| {
        args.next()
            .unwrap_or_else(|| usage(&format!("{name} needs a value")))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--" => {
                cfg.process.args.extend(args.by_ref());
                break;
            }
            "--rootfs" => cfg.rootfs = next(&a, &mut args),
            "--id" => cfg.id = next(&a, &mut args),
            "--hostname" => cfg.hostname = Some(next(&a, &mut args)),
            "--cwd" => cfg.process.cwd = next(&a, &mut args),
            "--user" => {
                let v = next(&a, &mut args);
                let mut it = v.split(':');
                let num = |s: Option<&str>| {
                    s.and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| usage("--user UID:GID[:GIDS]"))
                };
                cfg.process.uid = num(it.next());
                cfg.process.gid = num(it.next());
                if let Some(g) = it.next() {
                    cfg.process.additional_gids = g.split(',').map(|s| num(Some(s))).collect();
                }
            }
            "--userns" => {
                cfg.namespaces.push(Namespace {
                    ns_type: "user".into(),
                    path: None,
                });
                cfg.uid_mappings = vec![IdMapping {
                    container_id: 0,
                    host_id: 100000,
                    size: 65536,
                }];
                cfg.gid_mappings = vec![IdMapping {
                    container_id: 0,
                    host_id: 100000,
                    size: 65536,
                }];
            }
            "--cgroupns" => cfg.namespaces.push(Namespace {
                ns_type: "cgroup".into(),
                path: None,
            }),
            "--join" => {
                // --join TYPE=PATH
                let v = next(&a, &mut args);
                let (t, p) = v
                    .split_once('=')
                    .unwrap_or_else(|| usage("--join TYPE=PATH"));
                cfg.namespaces.retain(|n| n.ns_type != t);
                cfg.namespaces.push(Namespace {
                    ns_type: t.into(),
                    path: Some(p.into()),
                });
            }
            "--no-caps" => cfg.process.capabilities = None,
            "--all-caps" => {
                let all = strings(&CAPS);
                cfg.process.capabilities = Some(Capabilities {
                    bounding: all.clone(),
                    effective: all.clone(),
                    inheritable: vec![],
                    permitted: all,
                    ambient: vec![],
                });
            }
            "--no-nnp" => cfg.process.no_new_privileges = false,
            "--rlimit" => {
                let v = next(&a, &mut args);
                let parsed = v.split_once('=').and_then(|(n, l)| {
                    let (s, h) = l.split_once(':')?;
                    Some((n.to_string(), s.parse().ok()?, h.parse().ok()?))
                });
                let (n, soft, hard) = parsed.unwrap_or_else(|| usage("--rlimit NAME=SOFT:HARD"));
                cfg.process.rlimits.retain(|r| r.rlimit_type != n);
                cfg.process.rlimits.push(Rlimit {
                    rlimit_type: n,
                    soft,
                    hard,
                });
            }
            "--env" => cfg.process.env.push(next(&a, &mut args)),
            "--sysctl" => {
                let v = next(&a, &mut args);
                let (k, val) = v.split_once('=').unwrap_or_else(|| usage("--sysctl K=V"));
                cfg.sysctl.push(Sysctl {
                    key: k.into(),
                    value: val.into(),
                });
            }
            "--umask" => {
                let v = next(&a, &mut args);
                cfg.process.umask =
                    Some(u32::from_str_radix(&v, 8).unwrap_or_else(|_| usage("--umask OCTAL")));
            }
            "--oom-score-adj" => {
                cfg.process.oom_score_adj = Some(
                    next(&a, &mut args)
                        .parse()
                        .unwrap_or_else(|_| usage("--oom-score-adj N")),
                );
            }
            "--fifo" => opts.exec_fifo = Some(next(&a, &mut args)),
            "--preserve-fds" => {
                opts.preserve_fds = next(&a, &mut args)
                    .parse()
                    .unwrap_or_else(|_| usage("--preserve-fds N"));
            }
            "--no-mounts" => cfg.mounts.clear(),
            "--cgroup" => cfg.cgroup_paths.push(next(&a, &mut args)),
            "--rw" => cfg.rootfs_readonly = false,
            "--pause" => {
                pause = next(&a, &mut args)
                    .parse()
                    .unwrap_or_else(|_| usage("--pause SECS"))
            }
            s if s.starts_with("--") => usage(&format!("unknown option {s}")),
            _ => {
                cfg.process.args.push(a);
                cfg.process.args.extend(args.by_ref());
                break;
            }
        }
    }
    if cfg.process.args.is_empty() {
        cfg.process.args = vec!["sh".into()];
    }

    if let Err(e) = process::set_child_subreaper() {
        eprintln!("run_demo: {e}");
        std::process::exit(1);
    }
    // Created from a worker thread, as the napi AsyncTask will do, so the PDEATHSIG and signal
    // mask handling is exercised the way the JS runtime exercises it.
    let created = std::thread::spawn({
        let (cfg, opts) = (cfg.clone(), opts.clone());
        move || process::create(&cfg, &opts)
    })
    .join()
    .unwrap();
    let spawned = match created {
        Ok(s) => s,
        Err(e) => {
            eprintln!("run_demo: create: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "run_demo: created init pid {} (sync fd {})",
        spawned.pid, spawned.sync_fd
    );
    std::thread::sleep(std::time::Duration::from_secs(pause));

    let started = match &opts.exec_fifo {
        // `start` in the create/start split: open the fifo for reading, read the byte.
        Some(fifo) => std::fs::File::open(fifo)
            .and_then(|mut f| {
                let mut b = [0u8; 1];
                f.read_exact(&mut b)
            })
            .map_err(|e| e.to_string()),
        None => process::start(spawned.sync_fd).map_err(|e| e.to_string()),
    };
    if let Err(e) = started {
        eprintln!("run_demo: start: {e}");
        let _ = process::wait_reaping(spawned.pid);
        std::process::exit(1);
    }

    let status = std::thread::spawn(move || process::wait_reaping(spawned.pid))
        .join()
        .unwrap();
    match status {
        Ok(st) => {
            if let ExitStatus::Signaled(s) = st {
                eprintln!("run_demo: container killed by signal {s}");
            }
            std::process::exit(st.code());
        }
        Err(e) => {
            eprintln!("run_demo: wait: {e}");
            std::process::exit(1);
        }
    }
}
