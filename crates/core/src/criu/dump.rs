//! `checkpoint`: CRIU's DUMP (or PRE_DUMP) of a running container, described as runc's
//! Checkpoint does: the init's pid, the rootfs as CRIU's root, the bind mounts, device nodes
//! and masked files as external mounts (CRIU cannot dump what comes from outside the
//! container's mount tree), the v1 cgroup bind mounts, network and pid namespaces joined by
//! path as external namespaces, the container's freezer cgroup to stop it with, and the
//! descriptors of the init's stdio in `descriptors.json` for `restore`.
//!
//! When the dump fails CRIU lets the container run on (it was only frozen); the caller
//! destroys it only after a successful dump without `leave_running`.

use super::{cg_mode, external_binds, ns_key, ns_name, open_dir, require_version, rpc, Setup, Swrk};
use crate::error::{InitError, Result};
use crate::Config;
#[cfg(feature = "napi")]
use napi_derive::napi;
use std::os::fd::AsRawFd;

/// Where runc puts what restore needs to know of the stdio (images dir).
pub const DESCRIPTORS: &str = "descriptors.json";
const LOG: &str = "dump.log";

/// `runts checkpoint`'s flags (runc's), resolved by the caller.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    /// The criu binary (`--criu`).
    pub criu: String,
    /// The container's init.
    pub pid: i32,
    pub start_time: i64,
    /// `--image-path` (absolute).
    pub images_dir: String,
    /// `--work-path` (absolute); CRIU's log goes there, else to the images dir.
    pub work_dir: Option<String>,
    /// `--parent-path`, relative to the images dir (a previous pre-dump).
    pub parent_path: Option<String>,
    pub leave_running: bool,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub pre_dump: bool,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
    /// `--status-fd` (with lazy pages); -1 when not given.
    pub status_fd: i32,
    /// `--page-server ADDRESS:PORT`, split.
    pub page_server_address: Option<String>,
    pub page_server_port: Option<i32>,
    pub manage_cgroups_mode: Option<String>,
    /// CLONE_NEW* bits of `--empty-ns` (runc always adds CLONE_NEWNET).
    pub empty_ns: u32,
    /// The cgroup CRIU freezes the container with (v1 freezer, or the v2 cgroup).
    pub freeze_cgroup: Option<String>,
    /// CRIU's configuration file (the `org.criu.config` annotation, else the runtime's).
    pub config_file: Option<String>,
}

/// The request runc sends for this container (pure: unit-tested without CRIU). `mounts`:
/// the container's mount table (its init's mountinfo), to find the v1 cgroup bind mounts and
/// masked files that are mounts.
pub fn request(cfg: &Config, o: &CheckpointOptions, version: i32, images_fd: i32, work_fd: Option<i32>, masked_files: &[String], cgroup_binds: &[String], ns_inodes: &[(String, u64)]) -> Result<rpc::Req> {
    let mut opts = rpc::Opts {
        images_dir_fd: images_fd,
        work_dir_fd: work_fd,
        log_level: Some(4),
        log_file: Some(LOG.into()),
        root: Some(cfg.rootfs.clone()),
        manage_cgroups: Some(true),
        manage_cgroups_mode: Some(cg_mode(o.manage_cgroups_mode.as_deref())? as i32),
        notify_scripts: Some(true),
        pid: Some(o.pid),
        shell_job: Some(o.shell_job),
        leave_running: Some(o.leave_running),
        tcp_established: Some(o.tcp_established),
        ext_unix_sk: Some(o.ext_unix_sk),
        file_locks: Some(o.file_locks),
        empty_ns: Some(o.empty_ns),
        orphan_pts_master: Some(true),
        auto_dedup: Some(o.auto_dedup),
        lazy_pages: Some(o.lazy_pages),
        freeze_cgroup: o.freeze_cgroup.clone(),
        config_file: o.config_file.clone(),
        ..Default::default()
    };
    for (ns, ino) in ns_inodes {
        if let Some(key) = ns_key(ns) {
            opts.external.push(format!("{}[{ino}]:{key}", ns_name(ns)));
        }
    }
    if let (Some(address), Some(port)) = (&o.page_server_address, o.page_server_port) {
        opts.ps = Some(rpc::PageServerInfo { address: Some(address.clone()), port: Some(port), ..Default::default() });
    }
    if let Some(parent) = &o.parent_path {
        opts.parent_img = Some(parent.clone());
        opts.track_mem = Some(true);
    }
    if o.lazy_pages && o.status_fd >= 0 && !status_by_notify(version) {
        opts.status_fd = Some(o.status_fd);
    }
    if !o.pre_dump {
        // CRIU's --ext-mount-map <mountpoint>:<key>; restore maps each key to a host path.
        let ext = |mountpoint: &str, key: &str| rpc::ExtMountMap { key: mountpoint.into(), val: key.into() };
        for (dest, _) in external_binds(cfg) {
            opts.ext_mnt.push(ext(&dest, &dest));
        }
        for dest in cgroup_binds {
            opts.ext_mnt.push(ext(dest, dest));
        }
        // A masked file is /dev/null bound over it (a masked directory is a tmpfs CRIU dumps).
        for path in masked_files {
            opts.ext_mnt.push(ext(path, "/dev/null"));
        }
    }
    let kind = if o.pre_dump { rpc::ReqType::PreDump } else { rpc::ReqType::Dump };
    Ok(rpc::Req { r#type: kind as i32, opts: Some(opts), ..Default::default() })
}

/// From CRIU 3.15 the lazy-pages server's readiness is a "status-ready" notification, on
/// which the runtime writes the \0 (runc); before, CRIU wrote it to the status fd itself.
fn status_by_notify(version: i32) -> bool {
    version >= 31500
}

/// The masked paths that are files in the container (runc's addMaskPaths: stat through the
/// init's root; a missing path is skipped).
fn masked_files(cfg: &Config, pid: i32) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in &cfg.masked_paths {
        let at = format!("/proc/{pid}/root/{}", p.trim_start_matches('/'));
        match std::fs::metadata(&at) {
            Ok(m) if !m.is_dir() => out.push(p.clone()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(InitError::sys("stat", at, crate::cgroups::fs::io_errno(&e))),
        }
    }
    Ok(out)
}

/// The cgroup v1 bind mounts under the container's `cgroup` mount (runc's getCgroupMounts):
/// without a cgroup namespace they are binds of host directories. On cgroup v2, or with a
/// cgroup namespace, the mount is a real one CRIU dumps.
fn cgroup_binds(cfg: &Config, pid: i32) -> Result<Vec<String>> {
    let v2 = crate::cgroups::Layout::detect() == crate::cgroups::Layout::Unified;
    if v2 || cfg.has_ns("cgroup") {
        return Ok(Vec::new());
    }
    let dests: Vec<String> = cfg.mounts.iter().filter(|m| m.mount_type.as_deref() == Some("cgroup")).map(|m| crate::rootfs::path::clean(&m.destination)).collect();
    if dests.is_empty() {
        return Ok(Vec::new());
    }
    let file = format!("/proc/{pid}/mountinfo");
    let text = std::fs::read_to_string(&file).map_err(|e| InitError::sys("read", &file, crate::cgroups::fs::io_errno(&e)))?;
    Ok(crate::rootfs::mountinfo::parse(&text)
        .into_iter()
        .filter(|m| m.fs_type.starts_with("cgroup") && dests.iter().any(|d| crate::rootfs::mountinfo::is_under(&m.mount_point, d) && &m.mount_point != d))
        .map(|m| m.mount_point)
        .collect())
}

/// The init's stdio as runc records it (readlink of /proc/<pid>/fd/0..2: "pipe:[123]",
/// "/dev/pts/0", "/dev/null"), for restore to hand its own pipes on in their place.
fn descriptors(pid: i32) -> String {
    let fds: Vec<String> = (0..3)
        .map(|i| std::fs::read_link(format!("/proc/{pid}/fd/{i}")).map(|p| p.display().to_string()).unwrap_or_default())
        .collect();
    serde_json::to_string(&fds).unwrap_or_else(|_| "[]".into())
}

/// Checks a feature CRIU must have for this request (runc's checkCriuFeatures).
fn require_feature(criu: &str, features: rpc::Features, what: &str, log_dir: &str) -> Result<()> {
    let mut s = Swrk::start(criu, Setup::default())?;
    let resp = s.call(&rpc::Req { r#type: rpc::ReqType::FeatureCheck as i32, features: Some(features.clone()), ..Default::default() })?;
    if !resp.success {
        // CRIU could not even look (it cannot start on this kernel, ...): its CHECK says why,
        // in check.log beside where dump.log would be.
        super::check(criu, std::path::Path::new(log_dir))?;
        return Err(InitError::msg("criu feature check", criu, format!("CRIU failed to check for {what}")));
    }
    let got = resp.features.unwrap_or_default();
    let missing = (features.mem_track == Some(true) && got.mem_track != Some(true)) || (features.lazy_pages == Some(true) && got.lazy_pages != Some(true));
    if missing {
        return Err(InitError::msg("criu feature check", criu, format!("criu is missing features: {what}")));
    }
    Ok(())
}

/// Dumps the container; Ok once CRIU says it is done (without `leave_running` or `pre_dump`
/// its processes are gone then).
pub fn checkpoint(cfg: &Config, o: &CheckpointOptions) -> Result<()> {
    let version = require_version(&o.criu, 30000, "checkpoint")?;
    if !crate::control::init_alive(o.pid, o.start_time as u64) {
        return Err(InitError::msg("checkpoint", format!("pid {}", o.pid), "the container's init is not running"));
    }
    let images = open_dir(&o.images_dir, true)?;
    let work = o.work_dir.as_deref().map(|w| open_dir(w, true)).transpose()?;
    let log_dir = o.work_dir.clone().unwrap_or_else(|| o.images_dir.clone());
    if o.pre_dump {
        require_feature(&o.criu, rpc::Features { mem_track: Some(true), ..Default::default() }, "MemTrack", &log_dir)?;
    }
    if o.lazy_pages {
        require_feature(&o.criu, rpc::Features { lazy_pages: Some(true), ..Default::default() }, "LazyPages", &log_dir)?;
        if o.status_fd >= 0 {
            // SAFETY: F_GETFL on a number; an invalid one fails with EBADF.
            let flags = unsafe { libc::fcntl(o.status_fd, libc::F_GETFL) };
            if flags < 0 {
                return Err(InitError::sys("invalid --status-fd argument", o.status_fd.to_string(), nix::errno::Errno::last()));
            }
            if flags & (libc::O_WRONLY | libc::O_RDWR) == 0 {
                return Err(InitError::msg("invalid --status-fd argument", o.status_fd.to_string(), "not writable"));
            }
        }
    }
    let mut inodes = Vec::new();
    for ns in &cfg.namespaces {
        if let (Some(path), Some(_)) = (&ns.path, ns_key(&ns.ns_type)) {
            let st = nix::sys::stat::stat(path.as_str()).map_err(|e| InitError::sys("stat", path, e))?;
            inodes.push((ns.ns_type.clone(), st.st_ino));
        }
    }
    let (masked, cgroups) = if o.pre_dump { (Vec::new(), Vec::new()) } else { (masked_files(cfg, o.pid)?, cgroup_binds(cfg, o.pid)?) };
    let req = request(cfg, o, version, images.as_raw_fd(), work.as_ref().map(|w| w.as_raw_fd()), &masked, &cgroups, &inodes)?;
    if !o.pre_dump {
        let file = format!("{}/{DESCRIPTORS}", o.images_dir.trim_end_matches('/'));
        std::fs::write(&file, descriptors(o.pid)).map_err(|e| InitError::sys("write", &file, crate::cgroups::fs::io_errno(&e)))?;
    }
    let mut keep = vec![images.as_raw_fd()];
    keep.extend(work.as_ref().map(|w| w.as_raw_fd()));
    if o.lazy_pages && o.status_fd >= 0 && !status_by_notify(version) {
        keep.push(o.status_fd);
    }
    let mut s = Swrk::start(&o.criu, Setup { keep, ..Default::default() })?;
    let step = if o.pre_dump { "criu pre-dump" } else { "criu dump" };
    s.send(&req)?;
    loop {
        let resp = s.recv()?;
        if !resp.success {
            drop(s);
            return Err(super::criu_failure(step, &resp, &std::path::Path::new(&log_dir).join(LOG)));
        }
        if resp.r#type == rpc::ReqType::Notify as i32 {
            // post-dump, network-lock/unlock: nothing for runts to do (no network config of
            // its own, as runc without its deprecated `Networks`); status-ready: lazy pages.
            if resp.notify.as_ref().and_then(|n| n.script.as_deref()) == Some("status-ready") && o.status_fd >= 0 && status_by_notify(version) {
                // SAFETY: write of one byte from a live buffer to the caller's descriptor.
                unsafe { libc::write(o.status_fd, [0u8].as_ptr().cast(), 1) };
            }
            s.ack()?;
            continue;
        }
        break;
    }
    // A pre-dump's criu waits for a final DUMP that never comes: ending the session ends it
    // (runc ignores its exit status then).
    let status = s.wait().map_err(|e| InitError::sys("wait", &o.criu, crate::cgroups::fs::io_errno(&e)))?;
    if !status.success() && !o.pre_dump {
        return Err(InitError::msg(step, &o.criu, format!("criu failed: {status}; log {log_dir}/{LOG}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Mount, Namespace};

    fn cfg() -> Config {
        Config {
            rootfs: "/b/rootfs".into(),
            bundle: "/b".into(),
            mounts: vec![
                Mount { destination: "/proc".into(), mount_type: Some("proc".into()), source: Some("proc".into()), ..Default::default() },
                Mount { destination: "/data//x".into(), mount_type: Some("bind".into()), source: Some("/srv/x".into()), options: vec!["rbind".into()], ..Default::default() },
                Mount { destination: "/etc/hosts".into(), mount_type: None, source: Some("hosts".into()), options: vec!["bind".into(), "ro".into()], ..Default::default() },
            ],
            namespaces: vec![Namespace { ns_type: "network".into(), path: Some("/run/netns/n".into()) }, Namespace { ns_type: "pid".into(), path: None }],
            ..Default::default()
        }
    }

    #[test]
    fn dump_request_is_runcs() {
        let o = CheckpointOptions { criu: "criu".into(), pid: 42, images_dir: "/img".into(), empty_ns: libc::CLONE_NEWNET as u32, parent_path: Some("../pre".into()), freeze_cgroup: Some("/sys/fs/cgroup/c".into()), ..Default::default() };
        let req = request(&cfg(), &o, 31701, 5, Some(6), &["/proc/kcore".into()], &[], &[("network".into(), 4026532000)]).unwrap();
        assert_eq!(req.r#type, rpc::ReqType::Dump as i32);
        let opts = req.opts.unwrap();
        assert_eq!((opts.images_dir_fd, opts.work_dir_fd, opts.pid), (5, Some(6), Some(42)));
        assert_eq!(opts.root.as_deref(), Some("/b/rootfs"));
        assert_eq!(opts.log_file.as_deref(), Some("dump.log"));
        assert_eq!((opts.orphan_pts_master, opts.notify_scripts, opts.manage_cgroups), (Some(true), Some(true), Some(true)));
        assert_eq!(opts.manage_cgroups_mode, Some(rpc::CgMode::Default as i32));
        assert_eq!(opts.external, vec!["net[4026532000]:extRootNetNS".to_string()]);
        assert_eq!((opts.parent_img.as_deref(), opts.track_mem), (Some("../pre"), Some(true)));
        assert_eq!(opts.freeze_cgroup.as_deref(), Some("/sys/fs/cgroup/c"));
        let ext: Vec<(String, String)> = opts.ext_mnt.iter().map(|m| (m.key.clone(), m.val.clone())).collect();
        // The binds (destination cleaned), every default device node, then the masked file.
        assert_eq!(ext[0], ("/data/x".into(), "/data/x".into()));
        assert_eq!(ext[1], ("/etc/hosts".into(), "/etc/hosts".into()));
        assert!(ext.contains(&("/dev/null".into(), "/dev/null".into())), "{ext:?}");
        assert_eq!(ext.last().unwrap(), &("/proc/kcore".to_string(), "/dev/null".to_string()));
    }

    #[test]
    fn pre_dump_describes_no_mounts_and_modes_are_runcs() {
        let o = CheckpointOptions { pre_dump: true, manage_cgroups_mode: Some("strict".into()), ..Default::default() };
        let req = request(&cfg(), &o, 31701, 5, None, &[], &[], &[]).unwrap();
        assert_eq!(req.r#type, rpc::ReqType::PreDump as i32);
        let opts = req.opts.unwrap();
        assert!(opts.ext_mnt.is_empty());
        assert_eq!(opts.manage_cgroups_mode, Some(rpc::CgMode::Strict as i32));
        let bad = CheckpointOptions { manage_cgroups_mode: Some("hard".into()), ..Default::default() };
        assert!(request(&cfg(), &bad, 31701, 5, None, &[], &[], &[]).unwrap_err().to_string().contains("invalid manage-cgroups-mode"));
    }

    #[test]
    fn lazy_pages_status_fd_goes_to_criu_only_before_3_15() {
        let o = CheckpointOptions { lazy_pages: true, status_fd: 9, ..Default::default() };
        let opts = |v| request(&cfg(), &o, v, 5, None, &[], &[], &[]).unwrap().opts.unwrap();
        assert_eq!(opts(31400).status_fd, Some(9));
        // 3.15+: "status-ready" comes as a notification and the runtime writes the \0.
        assert_eq!(opts(31701).status_fd, None);
        assert_eq!(opts(31701).lazy_pages, Some(true));
    }
}
