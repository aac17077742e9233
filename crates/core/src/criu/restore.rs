//! `restore`: CRIU's RESTORE of a checkpointed container into a new one built from a bundle,
//! as runc's Restore does: the container's cgroup made and its limits written, criu moved into
//! it (so the restored processes land there, cg_root naming it), mount points made in the
//! rootfs, the bind mounts, device nodes and /dev/null (masked files) mapped to host paths,
//! namespaces joined by path, the restored tree a child of the runtime (rst_sibling), the
//! stdio pipes the dumped init had replaced by ours (inherit_fd from `descriptors.json`), the
//! create hooks run when CRIU has set up the namespaces, and a terminal's new pty master
//! ("orphan-pts-master") sent to the console socket or handed to the caller.
//!
//! Nothing is left when it fails: the restored processes (all in the container's cgroup) are
//! killed and the cgroup removed; criu's root bind lived only in criu's own mount namespace.

use super::{cg_mode, dump::DESCRIPTORS, external_binds, ns_key, ns_name, open_dir, require_version, rpc, Setup, Swrk};
use crate::cgroups::{CgroupManager, Manager};
use crate::config::{Config, InitOptions};
use crate::error::{InitError, Result};
use crate::process::sync::LogLevel;
use crate::process::Spawned;
#[cfg(feature = "napi")]
use napi_derive::napi;
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};

const LOG: &str = "restore.log";

/// `runts restore`'s CRIU flags (runc's), resolved by the caller.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The criu binary (`--criu`).
    pub criu: String,
    /// `--image-path` (absolute).
    pub images_dir: String,
    /// `--work-path` (absolute); CRIU's log goes there, else to the images dir.
    pub work_dir: Option<String>,
    /// The new container's state directory: CRIU's root is bound on `criu-root` in it.
    pub state_dir: String,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
    pub manage_cgroups_mode: Option<String>,
    /// CLONE_NEW* bits of `--empty-ns` (runc always adds CLONE_NEWNET).
    pub empty_ns: u32,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
    /// CRIU's configuration file (the `org.criu.config` annotation, else the runtime's).
    pub config_file: Option<String>,
}

/// The stdio descriptors of the dumped init that were pipes, as inherit_fd entries: CRIU puts
/// our descriptor of the same number in their place (runc: only "pipe:" ones).
pub fn inherited_pipes(descriptors_json: &str) -> Result<Vec<rpc::InheritFd>> {
    let fds: Vec<String> = serde_json::from_str(descriptors_json).map_err(|e| InitError::msg("read", DESCRIPTORS, format!("not a list of descriptors: {e}")))?;
    Ok(fds
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.contains("pipe:"))
        .map(|(i, key)| rpc::InheritFd { key, fd: i as i32 })
        .collect())
}

/// The request runc sends (pure: unit-tested without CRIU); `root` is where the rootfs is
/// bound for CRIU, `cg_roots` the container's cgroups (from criu's /proc/<pid>/cgroup) and
/// `ns_fds` the namespaces joined by path that CRIU treats as external (type, our fd).
pub fn request(cfg: &Config, o: &RestoreOptions, images_fd: i32, work_fd: Option<i32>, root: &str, inherit: Vec<rpc::InheritFd>, cg_roots: Vec<rpc::CgroupRoot>, ns_fds: &[(String, i32)]) -> Result<rpc::Req> {
    let mut opts = rpc::Opts {
        images_dir_fd: images_fd,
        work_dir_fd: work_fd,
        evasive_devices: Some(true),
        log_level: Some(4),
        log_file: Some(LOG.into()),
        rst_sibling: Some(true),
        root: Some(root.into()),
        manage_cgroups: Some(true),
        manage_cgroups_mode: Some(cg_mode(o.manage_cgroups_mode.as_deref())? as i32),
        notify_scripts: Some(true),
        shell_job: Some(o.shell_job),
        ext_unix_sk: Some(o.ext_unix_sk),
        tcp_established: Some(o.tcp_established),
        file_locks: Some(o.file_locks),
        empty_ns: Some(o.empty_ns),
        orphan_pts_master: Some(true),
        auto_dedup: Some(o.auto_dedup),
        lazy_pages: Some(o.lazy_pages),
        lsm_profile: o.lsm_profile.clone(),
        lsm_mount_context: o.lsm_mount_context.clone(),
        config_file: o.config_file.clone(),
        inherit_fd: inherit,
        cg_root: cg_roots,
        ..Default::default()
    };
    for ns in &cfg.namespaces {
        let Some(path) = &ns.path else { continue };
        if ns_key(&ns.ns_type).is_some() {
            continue;
        }
        if ns.ns_type == "cgroup" {
            // runc: CRIU has no code to join a cgroup namespace.
            return Err(InitError::msg("restore", path, "CRIU cannot join a cgroup namespace by path"));
        }
        opts.join_ns.push(rpc::JoinNamespace { ns: ns_name(&ns.ns_type).into(), ns_file: path.clone(), extra_opt: None });
    }
    for (ns, fd) in ns_fds {
        if let Some(key) = ns_key(ns) {
            opts.inherit_fd.push(rpc::InheritFd { key: key.into(), fd: *fd });
        }
    }
    // CRIU's --ext-mount-map <key>:<host path>, the keys of the dump.
    for (dest, source) in external_binds(cfg) {
        opts.ext_mnt.push(rpc::ExtMountMap { key: dest, val: source });
    }
    if !cfg.masked_paths.is_empty() {
        opts.ext_mnt.push(rpc::ExtMountMap { key: "/dev/null".into(), val: "/dev/null".into() });
    }
    Ok(rpc::Req { r#type: rpc::ReqType::Restore as i32, opts: Some(opts), ..Default::default() })
}

/// runc's prepareCriuRestoreMounts: every mount point that is not on a tmpfs (whose content
/// CRIU restores) nor a cgroup mount exists in the rootfs before CRIU mounts on it.
fn make_mount_points(cfg: &Config) -> Result<()> {
    let clean = crate::rootfs::path::clean;
    let tmpfs: Vec<String> = cfg.mounts.iter().filter(|m| m.mount_type.as_deref() == Some("tmpfs")).map(|m| clean(&m.destination)).collect();
    let root = open_dir(&cfg.rootfs, false)?;
    for (m, dest) in cfg.mounts.iter().map(|m| (m, clean(&m.destination))) {
        if m.mount_type.as_deref() == Some("cgroup") || tmpfs.iter().any(|t| dest.starts_with(&format!("{t}/"))) || dest == "/" {
            continue;
        }
        let bind = crate::rootfs::mount_opts::parse(&m.options).is_bind() || m.mount_type.as_deref() == Some("bind");
        let file_source = bind && m.source.as_deref().is_some_and(|s| {
            let s = if s.starts_with('/') { s.to_owned() } else { format!("{}/{s}", cfg.bundle) };
            std::fs::metadata(s).is_ok_and(|md| !md.is_dir())
        });
        if file_source {
            crate::rootfs::path::create_file(root.as_fd(), &dest, Mode::from_bits_truncate(0o644))?;
        } else {
            crate::rootfs::path::mkdir_all(root.as_fd(), &dest, Mode::from_bits_truncate(0o755))?;
        }
    }
    Ok(())
}

/// The cgroups a process is in, as CRIU's cg_root entries (runc: ParseCgroupFile of criu's
/// /proc/<pid>/cgroup once it was moved into the container's cgroup).
fn cg_roots(pid: i32) -> Result<Vec<rpc::CgroupRoot>> {
    let file = format!("/proc/{pid}/cgroup");
    let text = std::fs::read_to_string(&file).map_err(|e| InitError::sys("read", &file, crate::cgroups::fs::io_errno(&e)))?;
    Ok(crate::rootfs::cgroup::parse_proc_cgroup(&text)
        .into_iter()
        .map(|l| rpc::CgroupRoot { ctrl: Some(l.controllers.join(",")), path: l.path })
        .collect())
}

/// What the session gave: the restored init, a terminal's pty master for the caller.
struct Session {
    pid: Option<i32>,
    console: Option<OwnedFd>,
    logs: Vec<(LogLevel, String)>,
}

/// Runs the request and answers CRIU's notifications until it reports the restore.
fn drive(s: &mut Swrk, req: &rpc::Req, cfg: &Config, init: &InitOptions, session: &mut Session, log: &std::path::Path) -> Result<()> {
    s.send(req)?;
    loop {
        let (resp, fd) = s.recv_with_fd()?;
        if !resp.success {
            return Err(super::criu_failure("criu restore", &resp, log));
        }
        if resp.r#type != rpc::ReqType::Notify as i32 {
            if let Some(r) = resp.restore {
                session.pid.get_or_insert(r.pid);
            }
            return Ok(());
        }
        let notify = resp.notify.unwrap_or_default();
        match notify.script.as_deref().unwrap_or("") {
            // The namespaces exist, nothing runs yet: the hooks runc runs on create.
            "setup-namespaces" => {
                if let Some(hooks) = &cfg.hooks {
                    let state = crate::hooks::state_json(init.hook_state.as_deref().unwrap_or("{}"), "creating", notify.pid.unwrap_or(0));
                    for (kind, list) in [("prestart", &hooks.prestart), ("createRuntime", &hooks.create_runtime)] {
                        for line in crate::hooks::run(kind, list, &state)? {
                            session.logs.push((LogLevel::Info, line));
                        }
                    }
                }
            }
            "post-restore" => session.pid = notify.pid,
            "orphan-pts-master" => {
                let master = fd.ok_or_else(|| InitError::msg("criu restore", "orphan-pts-master", "no descriptor came with the notification"))?;
                match &init.console_socket {
                    Some(path) => {
                        let sock = crate::console::connect_socket(path)?;
                        crate::console::send_fd(sock.as_fd(), crate::console::MASTER_NAME, master.as_fd())?;
                    }
                    None => session.console = Some(master),
                }
            }
            _ => {}
        }
        s.ack()?;
    }
}

/// Restores the checkpoint into the container `cfg` describes; returns its init (a child of
/// ours) and its cgroup, as a create does (`sync_fd` is -1: it runs already).
pub fn restore(cfg: &Config, init: &InitOptions, o: &RestoreOptions) -> Result<Spawned> {
    require_version(&o.criu, 30000, "restore")?;
    if o.lsm_profile.is_some() || o.lsm_mount_context.is_some() {
        require_version(&o.criu, 31600, "restore (--lsm-profile, --lsm-mount-context)")?;
    }
    let images = open_dir(&o.images_dir, false)?;
    let descriptors_file = format!("{}/{DESCRIPTORS}", o.images_dir.trim_end_matches('/'));
    let descriptors = std::fs::read_to_string(&descriptors_file).map_err(|e| InitError::sys("read", &descriptors_file, crate::cgroups::fs::io_errno(&e)))?;
    let inherit = inherited_pipes(&descriptors)?;
    let work = o.work_dir.as_deref().map(|w| open_dir(w, true)).transpose()?;
    let log = std::path::Path::new(o.work_dir.as_deref().unwrap_or(&o.images_dir)).join(LOG);
    let mut ns_files: Vec<(String, OwnedFd)> = Vec::new();
    for ns in &cfg.namespaces {
        if let (Some(path), Some(_)) = (&ns.path, ns_key(&ns.ns_type)) {
            let fd = open_dir_or_file(path)?;
            ns_files.push((ns.ns_type.clone(), fd));
        }
    }
    make_mount_points(cfg)?;
    let root = format!("{}/criu-root", o.state_dir.trim_end_matches('/'));
    match std::fs::create_dir(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(InitError::sys("mkdir", &root, crate::cgroups::fs::io_errno(&e))),
    }
    if init.subreaper {
        crate::process::set_child_subreaper()?;
    }
    let mut mgr = match &cfg.cgroup {
        Some(spec) => {
            let mut m = Manager::new(spec)?;
            if !spec.systemd {
                if let Err(e) = m.create(None).and_then(|()| m.apply_resources(&spec.resources.clone().unwrap_or_default())) {
                    let _ = m.destroy();
                    let _ = std::fs::remove_dir(&root);
                    return Err(e);
                }
            }
            Some(m)
        }
        None => None,
    };
    let mut session = Session { pid: None, console: None, logs: Vec::new() };
    let result = (|| {
        let mut keep = vec![images.as_raw_fd()];
        keep.extend(work.as_ref().map(|w| w.as_raw_fd()));
        keep.extend(ns_files.iter().map(|(_, fd)| fd.as_raw_fd()));
        let mut reopen = vec![(images.as_raw_fd(), o.images_dir.clone())];
        if let (Some(fd), Some(path)) = (&work, &o.work_dir) {
            reopen.push((fd.as_raw_fd(), path.clone()));
        }
        let setup = Setup { inherit_stdio: true, keep, root_bind: Some((cfg.rootfs.clone(), root.clone())), reopen };
        let mut s = Swrk::start(&o.criu, setup)?;
        if let (Some(m), Some(spec)) = (mgr.as_mut(), &cfg.cgroup) {
            if spec.systemd {
                m.create(Some(s.pid()))?;
                m.apply_resources(&spec.resources.clone().unwrap_or_default())?;
            } else {
                m.add_pid(s.pid())?;
            }
        }
        let roots = if mgr.is_some() { cg_roots(s.pid())? } else { Vec::new() };
        let ns_fds: Vec<(String, i32)> = ns_files.iter().map(|(t, fd)| (t.clone(), fd.as_raw_fd())).collect();
        let req = request(cfg, o, images.as_raw_fd(), work.as_ref().map(|w| w.as_raw_fd()), &root, inherit, roots, &ns_fds)?;
        drive(&mut s, &req, cfg, init, &mut session, &log)?;
        let status = s.wait().map_err(|e| InitError::sys("wait", &o.criu, crate::cgroups::fs::io_errno(&e)))?;
        if !status.success() {
            return Err(InitError::msg("criu restore", &o.criu, format!("criu failed: {status}; log {}", log.display())));
        }
        let pid = session.pid.ok_or_else(|| InitError::msg("criu restore", &o.criu, "CRIU named no restored process"))?;
        let (start_time, _) = crate::control::start_time(pid).ok_or_else(|| InitError::msg("criu restore", format!("pid {pid}"), "the restored init exited at once"))?;
        Ok((pid, start_time))
    })();
    let _ = std::fs::remove_dir(&root);
    match result {
        Ok((pid, start_time)) => Ok(Spawned {
            pid,
            start_time,
            sync_fd: -1,
            console_fd: session.console.map_or(-1, |fd| fd.into_raw_fd()),
            cgroup_paths: mgr.as_ref().map(|m| m.paths()).unwrap_or_default(),
            logs: session.logs,
        }),
        Err(e) => {
            if let Some(pid) = session.pid {
                // SAFETY: kill of the restored init, our child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if let Some(m) = mgr.as_mut() {
                let _ = m.remove();
            }
            Err(e)
        }
    }
}

/// A namespace file, held open for CRIU to inherit.
fn open_dir_or_file(path: &str) -> Result<OwnedFd> {
    nix::fcntl::open(path, nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| InitError::sys("open", path, e).with_detail("a namespace joined by path must exist to restore into it"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Mount, Namespace};

    #[test]
    fn pipes_of_the_dumped_stdio_are_inherited_by_number() {
        let got = inherited_pipes(r#"["pipe:[11]","/dev/pts/0","pipe:[13]"]"#).unwrap();
        assert_eq!(got, vec![rpc::InheritFd { key: "pipe:[11]".into(), fd: 0 }, rpc::InheritFd { key: "pipe:[13]".into(), fd: 2 }]);
        assert!(inherited_pipes("{").unwrap_err().to_string().contains("descriptors.json"));
    }

    #[test]
    fn restore_request_is_runcs() {
        let cfg = Config {
            rootfs: "/b/rootfs".into(),
            bundle: "/b".into(),
            mounts: vec![Mount { destination: "/data".into(), mount_type: Some("bind".into()), source: Some("/srv/data".into()), ..Default::default() }],
            masked_paths: vec!["/proc/kcore".into()],
            namespaces: vec![
                Namespace { ns_type: "network".into(), path: Some("/run/netns/n".into()) },
                Namespace { ns_type: "ipc".into(), path: Some("/proc/1/ns/ipc".into()) },
            ],
            ..Default::default()
        };
        let o = RestoreOptions { lsm_profile: Some("p".into()), ..Default::default() };
        let roots = vec![rpc::CgroupRoot { ctrl: Some(String::new()), path: "/c".into() }];
        let req = request(&cfg, &o, 5, None, "/s/criu-root", vec![], roots.clone(), &[("network".into(), 9)]).unwrap();
        assert_eq!(req.r#type, rpc::ReqType::Restore as i32);
        let opts = req.opts.unwrap();
        assert_eq!((opts.rst_sibling, opts.evasive_devices, opts.orphan_pts_master), (Some(true), Some(true), Some(true)));
        assert_eq!(opts.root.as_deref(), Some("/s/criu-root"));
        assert_eq!(opts.log_file.as_deref(), Some("restore.log"));
        assert_eq!(opts.cg_root, roots);
        assert_eq!(opts.inherit_fd, vec![rpc::InheritFd { key: "extRootNetNS".into(), fd: 9 }]);
        assert_eq!(opts.join_ns, vec![rpc::JoinNamespace { ns: "ipc".into(), ns_file: "/proc/1/ns/ipc".into(), extra_opt: None }]);
        assert_eq!(opts.lsm_profile.as_deref(), Some("p"));
        let ext: Vec<(String, String)> = opts.ext_mnt.iter().map(|m| (m.key.clone(), m.val.clone())).collect();
        assert_eq!(ext[0], ("/data".into(), "/srv/data".into()));
        assert_eq!(ext.last().unwrap(), &("/dev/null".to_string(), "/dev/null".to_string()));
        let cgns = Config { namespaces: vec![Namespace { ns_type: "cgroup".into(), path: Some("/proc/1/ns/cgroup".into()) }], ..Default::default() };
        assert!(request(&cgns, &o, 5, None, "/r", vec![], vec![], &[]).is_err());
    }
}
