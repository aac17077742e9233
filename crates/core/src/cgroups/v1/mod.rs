//! The cgroup v1 manager (runc libcontainer/cgroups/fs): one directory per hierarchy, created
//! and joined in runc's subsystem order, each controller setting only its own files.
//!
//! On a hybrid host the unified hierarchy (/sys/fs/cgroup/unified) is one more "" hierarchy
//! that is created and joined but holds no limits, as runc 1.1 does.

pub mod blkio;
pub mod cpu;
pub mod cpuacct;
pub mod cpuset;
pub mod freezer;
pub mod hugetlb;
pub mod memory;
pub mod net;
pub mod pids;

use super::config::Resources;
use super::paths::{self, V1Host};
use super::stats::Stats;
use super::{devices, fs, rdma, CgroupManager, FreezerState};
use crate::error::{InitError, Result};
use nix::errno::Errno;

#[derive(Debug, Clone)]
pub struct V1Manager {
    /// (subsystem, directory) in runc's order; "" is the hybrid unified hierarchy.
    pub paths: Vec<(String, String)>,
    pub rootless: bool,
    /// cgroupsPath was given: permission errors are never ignored (runc's rule).
    pub explicit_path: bool,
    /// The resources `create` needs before a task can join (cpuset cpus/mems, rt budget).
    pub create_resources: Resources,
}

fn ignorable(rootless: bool, explicit: bool, e: &InitError) -> bool {
    rootless && !explicit && matches!(fs::errno_of(e), Errno::EPERM | Errno::EACCES | Errno::EROFS)
}

impl V1Manager {
    /// Resolves the directories for `inner` (see `paths`) on this host.
    pub fn resolve(inner: &str, hybrid: bool) -> Result<Vec<(String, String)>> {
        let mountinfo = fs::read_path("/proc/self/mountinfo")?;
        let self_cgroup = fs::read_path("/proc/self/cgroup")?;
        paths::v1_paths(
            inner,
            &V1Host {
                mountinfo: &mountinfo,
                self_cgroup: &self_cgroup,
                hybrid,
            },
        )
    }

    pub fn path(&self, sub: &str) -> Option<&str> {
        self.paths
            .iter()
            .find(|(s, _)| s == sub)
            .map(|(_, p)| p.as_str())
    }

    fn unique_dirs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (_, p) in &self.paths {
            if !out.contains(&p.as_str()) {
                out.push(p);
            }
        }
        out
    }

    fn need_path(&self, sub: &str) -> Result<&str> {
        self.path(sub).ok_or_else(|| {
            InitError::msg(format!("set {sub} limit"), sub, "container could not join or create cgroup (the hierarchy is not mounted or not writable)")
        })
    }
}

impl CgroupManager for V1Manager {
    fn create(&mut self, pid: Option<i32>) -> Result<()> {
        let r = self.create_resources.clone();
        let mut kept = Vec::new();
        for (sub, dir) in std::mem::take(&mut self.paths) {
            let res = match sub.as_str() {
                "cpuset" => cpuset::create(&dir, &r),
                "cpu" => fs::mkdir_all(&dir).and_then(|_| cpu::set_rt_sched(&dir, &r)),
                _ => fs::mkdir_all(&dir),
            };
            match res {
                Ok(()) => kept.push((sub, dir)),
                Err(e) if ignorable(self.rootless, self.explicit_path, &e) => {}
                Err(e) => {
                    // Made but not set up (cpuset.cpus refused, say): still ours to remove.
                    if fs::exists(&dir) {
                        kept.push((sub, dir));
                    }
                    self.paths = kept;
                    return Err(e);
                }
            }
        }
        self.paths = kept;
        if let Some(pid) = pid {
            self.add_pid(pid)?;
        }
        Ok(())
    }

    fn apply_resources(&mut self, r: &Resources) -> Result<()> {
        if r.unified.as_ref().map(|u| !u.is_empty()).unwrap_or(false) {
            return Err(InitError::msg(
                "apply cgroup resources",
                "unified",
                "invalid configuration: cannot use unified on cgroup v1",
            ));
        }
        // runc's order: cpuset, devices, memory, cpu, cpuacct, pids, blkio, hugetlb, net_cls,
        // net_prio, perf_event, freezer, rdma.
        if cpuset::needs(r) {
            cpuset::set(self.need_path("cpuset")?, r)?;
        }
        {
            let rules = devices::rules_for(r)?;
            // Device rules are not expected to work rootless (runc ignores their errors).
            if !self.rootless {
                devices::apply_v1(self.need_path("devices")?, &rules, true)?;
            }
        }
        if memory::needs(r) {
            memory::set(self.need_path("memory")?, r)?;
        }
        if cpu::needs(r) {
            cpu::set(self.need_path("cpu")?, r)?;
        }
        if pids::needs(r) {
            pids::set(self.need_path("pids")?, r)?;
        }
        if blkio::needs(r) {
            blkio::set(self.need_path("blkio")?, r)?;
        }
        if hugetlb::needs(r) {
            hugetlb::set(self.need_path("hugetlb")?, r)?;
        }
        if net::needs_cls(r) {
            net::set_cls(self.need_path("net_cls")?, r)?;
        }
        if net::needs_prio(r) {
            net::set_prio(self.need_path("net_prio")?, r)?;
        }
        if rdma::needs(r) {
            rdma::set(self.need_path("rdma")?, r)?;
        }
        Ok(())
    }

    fn procs_paths(&self) -> Vec<String> {
        self.unique_dirs()
            .into_iter()
            .map(|d| fs::join(d, "cgroup.procs"))
            .collect()
    }

    fn add_pid(&self, pid: i32) -> Result<()> {
        for d in self.unique_dirs() {
            fs::write_pid(d, pid)?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>> {
        // runc reads the devices hierarchy: it always exists (see paths::v1_paths).
        fs::read_all_procs(self.need_path("devices")?)
    }

    fn freeze(&self) -> Result<()> {
        freezer::freeze(self.freezer_path()?)
    }

    fn thaw(&self) -> Result<()> {
        freezer::thaw(self.freezer_path()?)
    }

    fn state(&self) -> Result<FreezerState> {
        match self.path("freezer") {
            Some(p) => freezer::state(p),
            None => Ok(FreezerState::Undefined),
        }
    }

    fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        for (sub, dir) in &self.paths {
            match sub.as_str() {
                "cpuset" => cpuset::stats(dir, &mut s)?,
                "memory" => memory::stats(dir, &mut s)?,
                "cpu" => cpu::stats(dir, &mut s)?,
                "cpuacct" => cpuacct::stats(dir, &mut s)?,
                "pids" => pids::stats(dir, &mut s)?,
                "blkio" => blkio::stats(dir, &mut s)?,
                "hugetlb" => hugetlb::stats(dir, &mut s)?,
                _ => {}
            }
        }
        Ok(s)
    }

    fn memory_dir(&self) -> Option<String> {
        self.path("memory").map(String::from)
    }

    fn destroy(&mut self) -> Result<()> {
        let mut left = Vec::new();
        let mut first_err = None;
        for (sub, dir) in std::mem::take(&mut self.paths) {
            if let Err(e) = fs::remove_path(&dir) {
                first_err.get_or_insert(e);
                left.push((sub, dir));
            }
        }
        self.paths = left;
        match first_err {
            None => Ok(()),
            Some(e) => Err(e.with_detail(format!(
                "failed to remove {} cgroup path(s)",
                self.paths.len()
            ))),
        }
    }

    fn paths(&self) -> Vec<(String, String)> {
        self.paths.clone()
    }

    fn exists(&self) -> bool {
        self.path("devices").map(fs::exists).unwrap_or(false)
    }

    fn is_v2(&self) -> bool {
        false
    }
}

impl V1Manager {
    fn freezer_path(&self) -> Result<&str> {
        self.path("freezer").ok_or_else(|| {
            InitError::msg(
                "toggle freezer",
                "freezer",
                "cgroups not configured for container (no freezer hierarchy)",
            )
        })
    }
}
