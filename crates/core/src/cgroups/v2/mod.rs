//! The cgroup v2 manager (runc libcontainer/cgroups/fs2): one directory in the unified
//! hierarchy; controllers are enabled in `cgroup.subtree_control` of every level above it.

pub mod cpu;
pub mod freezer;
pub mod io;
pub mod memory;
pub mod unified;

use super::config::Resources;
use super::stats::{huge_page_sizes, Hugetlb, Stats};
use super::v1::{cpuset, hugetlb, pids};
use super::{devices, fs, rdma, CgroupManager, FreezerState};
use crate::error::{InitError, Result};
use nix::errno::Errno;

#[derive(Debug, Clone)]
pub struct V2Manager {
    /// The cgroup2 mount: /sys/fs/cgroup (or /sys/fs/cgroup/unified when testing on a hybrid
    /// host).
    pub root: String,
    pub path: String,
    pub rootless: bool,
    pub explicit_path: bool,
    pub create_resources: Resources,
}

/// Whether the resources need a domain (non-threaded) controller (runc containsDomainController).
fn needs_domain(r: &Resources) -> bool {
    memory::needs(r) || io::needs(r) || cpu::needs(r) || hugetlb::needs(r)
}

/// Creates `path` and every missing level above it under `root`, enabling every controller
/// of the root in `cgroup.subtree_control` of each level above the leaf (runc's
/// CreateCgroupPath). Directories made here are removed again on failure.
pub fn create_cgroup_path(root: &str, path: &str, r: &Resources) -> Result<()> {
    let rel = path
        .strip_prefix(root)
        .filter(|rel| rel.is_empty() || rel.starts_with('/'))
        .ok_or_else(|| {
            InitError::msg(
                "create cgroup",
                path,
                format!("invalid cgroup path: not under {root}"),
            )
        })?;
    let ctrls = fs::read_file(root, "cgroup.controllers")?;
    let ctrls: Vec<&str> = ctrls.split_whitespace().collect();
    let enable = ctrls
        .iter()
        .map(|c| format!("+{c}"))
        .collect::<Vec<_>>()
        .join(" ");
    let elems: Vec<&str> = rel.split('/').filter(|e| !e.is_empty()).collect();
    let mut created: Vec<String> = Vec::new();
    let mut current = root.to_string();
    // The root itself is the first level whose subtree_control is written.
    let levels = std::iter::once(None).chain(elems.iter().map(Some));
    let n = elems.len();
    let result = (|| -> Result<()> {
        for (i, e) in levels.enumerate() {
            if let Some(e) = e {
                current = fs::join(&current, e);
                match std::fs::create_dir(&current) {
                    Ok(()) => created.push(current.clone()),
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(fs::io_err("create cgroup", &current, &err)),
                }
                let ty = fs::read_file(&current, "cgroup.type").unwrap_or_default();
                match ty.trim() {
                    // A process sits in the tree above (we made a child of a populated cgroup):
                    // only threaded controllers can work here.
                    "domain invalid" if needs_domain(r) => {
                        return Err(InitError::msg("create cgroup", &current, "cannot enter cgroupv2 with domain controllers -- it is in an invalid state"));
                    }
                    "domain invalid" => {
                        let _ = fs::write_file(&current, "cgroup.type", "threaded");
                    }
                    t @ ("domain threaded" | "threaded") if needs_domain(r) => {
                        return Err(InitError::msg("create cgroup", &current, format!("cannot enter cgroupv2 with domain controllers -- it is in {t} mode")));
                    }
                    _ => {}
                }
            }
            // Enable the controllers for the children of every level above the leaf.
            if i < n
                && !enable.is_empty()
                && fs::write_file(&current, "cgroup.subtree_control", &enable).is_err()
            {
                // One by one: some may not be delegated; their setters report it later.
                for c in enable.split(' ') {
                    let _ = fs::write_file(&current, "cgroup.subtree_control", c);
                }
            }
        }
        Ok(())
    })();
    if result.is_err() {
        for d in created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

impl V2Manager {
    pub fn controllers(&self) -> Vec<String> {
        fs::read_file(&self.path, "cgroup.controllers")
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    }
}

fn hugetlb_stats(dir: &str, s: &mut Stats) -> Result<()> {
    for size in huge_page_sizes() {
        let usage = fs::read_u64(dir, &format!("hugetlb.{size}.current"))?;
        let failcnt = fs::value_by_key(dir, &format!("hugetlb.{size}.events"), "max")?;
        s.hugetlb.insert(
            size,
            Hugetlb {
                usage,
                max: 0,
                failcnt,
            },
        );
    }
    Ok(())
}

impl CgroupManager for V2Manager {
    fn create(&mut self, pid: Option<i32>) -> Result<()> {
        match create_cgroup_path(&self.root, &self.path, &self.create_resources) {
            Ok(()) => {}
            // Rootless without a cgroupsPath and without limits: run in our own cgroup.
            Err(e)
                if self.rootless
                    && !self.explicit_path
                    && matches!(
                        fs::errno_of(&e),
                        Errno::EPERM | Errno::EACCES | Errno::EROFS
                    ) =>
            {
                return Err(e.with_detail("rootless needs no limits + no cgrouppath when no permission is granted for cgroups"));
            }
            Err(e) => return Err(e),
        }
        if let Some(pid) = pid {
            self.add_pid(pid)?;
        }
        Ok(())
    }

    fn apply_resources(&mut self, r: &Resources) -> Result<()> {
        let dir = self.path.clone();
        // runc's order: pids, memory, io, cpu, devices, cpuset, hugetlb, rdma, freezer, unified.
        if pids::needs(r) {
            pids::set(&dir, r)?;
        }
        memory::set(&dir, r)?;
        io::set(&dir, r)?;
        cpu::set(&dir, r)?;
        {
            let rules = devices::rules_for(r)?;
            if let Err(e) = devices::ebpf::attach(&dir, &rules) {
                if !self.rootless {
                    return Err(e);
                }
            }
        }
        if cpuset::needs(r) {
            cpuset::set(&dir, r)?;
        }
        if hugetlb::needs(r) {
            hugetlb::set_with_suffix(&dir, r, ".max")?;
        }
        if rdma::needs(r) {
            rdma::set(&dir, r)?;
        }
        if let Some(u) = r.unified.as_ref().filter(|u| !u.is_empty()) {
            unified::set(&dir, u, &self.controllers())?;
        }
        Ok(())
    }

    fn procs_paths(&self) -> Vec<String> {
        vec![fs::join(&self.path, "cgroup.procs")]
    }

    fn add_pid(&self, pid: i32) -> Result<()> {
        fs::write_pid(&self.path, pid)
    }

    fn pids(&self) -> Result<Vec<i32>> {
        fs::read_all_procs(&self.path)
    }

    fn freeze(&self) -> Result<()> {
        freezer::set(&self.path, true)
    }

    fn thaw(&self) -> Result<()> {
        freezer::set(&self.path, false)
    }

    fn state(&self) -> Result<FreezerState> {
        freezer::state(&self.path)
    }

    fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        let dir = &self.path;
        let ok_enoent = |r: Result<()>| match r {
            Err(e) if fs::errno_of(&e) == Errno::ENOENT => Ok(()),
            r => r,
        };
        // pids.current is missing when the pids controller is not enabled: count the tasks.
        if fs::exists(&fs::join(dir, "pids.current")) {
            pids::stats(dir, &mut s)?;
        } else {
            s.pids.current = fs::read_all_procs(dir)?.len() as u64;
        }
        ok_enoent(memory::stats(dir, &mut s))?;
        ok_enoent(io::stats(dir, &mut s))?;
        ok_enoent(cpu::stats(dir, &mut s))?;
        if self.controllers().iter().any(|c| c == "hugetlb") {
            ok_enoent(hugetlb_stats(dir, &mut s))?;
        }
        Ok(s)
    }

    fn memory_dir(&self) -> Option<String> {
        Some(self.path.clone())
    }

    fn destroy(&mut self) -> Result<()> {
        fs::remove_path(&self.path)
    }

    fn paths(&self) -> Vec<(String, String)> {
        vec![(String::new(), self.path.clone())]
    }

    fn exists(&self) -> bool {
        fs::exists(&self.path)
    }

    fn is_v2(&self) -> bool {
        true
    }
}
