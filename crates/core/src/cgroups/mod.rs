//! The container's cgroup: one [`CgroupManager`] trait with a v1, a v2 and a systemd backend
//! behind the [`Manager`] enum (youki's shape), each controller a small module that writes
//! exactly the files runc writes, with the values runc writes.
//!
//! ```text
//!   CgroupSpec ──Manager::new──▶ Manager::{V1, V2, Systemd}      (paths resolved, nothing made)
//!                                   │ create(pid?)                (dirs / scope unit, cpuset and
//!                                   │                              rt budget ready for tasks)
//!                                   │ apply_resources(&Resources) (limits, device rules)
//!                                   │ procs_paths() → the init joins by writing its own pid
//!                                   ▼
//!   state file ◀── paths() ── Manager::load(spec, paths) ──▶ update/pause/ps/events/kill/delete
//! ```
//!
//! Layouts: pure v2 (/sys/fs/cgroup is cgroup2), v1, and v1 *hybrid* (v1 controllers plus a
//! cgroup2 at /sys/fs/cgroup/unified), where runc 1.1 uses the v1 manager and also creates and
//! joins the container's directory in the unified hierarchy (subsystem ""). crun refuses
//! hybrid hosts; runc does not, and neither do we.

pub mod config;
pub mod devices;
pub mod fs;
pub mod oom;
pub mod paths;
pub mod rdma;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;
mod join;
mod warm;

#[cfg(test)]
mod tests;

use crate::error::{InitError, Result};
pub use config::{CgroupSpec, Resources};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
pub use oom::{OomEvent, OomWatcher};
pub use paths::Layout;
pub use stats::Stats;
pub use join::{join_self, open_tasks, SelfJoin};
pub use warm::warm_attach;
pub use fs::{is_cgroup2_dir, open_dir};

/// The freezer state of a cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    /// No freezer (v1 without the freezer hierarchy, v2 kernel < 5.2).
    Undefined,
    Frozen,
    Thawed,
}

impl FreezerState {
    pub fn as_str(&self) -> &'static str {
        match self {
            FreezerState::Undefined => "undefined",
            FreezerState::Frozen => "frozen",
            FreezerState::Thawed => "thawed",
        }
    }
}

/// What every backend does.
pub trait CgroupManager {
    /// Makes the cgroup (every hierarchy's directory, or the systemd unit) ready for tasks: on
    /// v1 the cpuset levels are filled from their parents and the real-time budget written; on
    /// v2 the controllers are enabled along the path. With `pid`, moves it in (the systemd
    /// driver needs one: a scope cannot be empty).
    fn create(&mut self, pid: Option<i32>) -> Result<()>;
    /// Writes the resources (create, and `update` with the merged resources).
    fn apply_resources(&mut self, r: &Resources) -> Result<()>;
    /// The `cgroup.procs` files a process writes its pid to in order to join, one per distinct
    /// directory.
    fn procs_paths(&self) -> Vec<String>;
    fn add_pid(&self, pid: i32) -> Result<()>;
    /// Every pid in the cgroup and the cgroups below it (runc's GetAllPids).
    fn pids(&self) -> Result<Vec<i32>>;
    fn freeze(&self) -> Result<()>;
    fn thaw(&self) -> Result<()>;
    fn state(&self) -> Result<FreezerState>;
    fn stats(&self) -> Result<Stats>;
    /// The memory cgroup directory, for OOM notifications.
    fn memory_dir(&self) -> Option<String>;
    /// Removes the directories bottom-up (retrying EBUSY briefly), stops the systemd unit.
    fn destroy(&mut self) -> Result<()>;
    /// (subsystem, directory) pairs for the state file; "" is the v2 (or hybrid) hierarchy.
    fn paths(&self) -> Vec<(String, String)>;
    fn exists(&self) -> bool;
    fn is_v2(&self) -> bool;

    /// Signals every process of the cgroup. On v2 SIGKILL goes through `cgroup.kill` (Linux
    /// 5.14) when present: atomic, nothing can fork away. Otherwise (runc 1.1
    /// signalAllProcesses): freeze so nothing forks between the listing and the signals, signal
    /// every pid, thaw. Freezer errors are not fatal (a missing freezer is not).
    fn kill_all(&self, sig: i32) -> Result<()> {
        let signal = Signal::try_from(sig)
            .map_err(|e| InitError::sys("kill cgroup", format!("signal {sig}"), e))?;
        if signal == Signal::SIGKILL && self.is_v2() {
            if let Some((_, dir)) = self.paths().first() {
                if fs::exists(&fs::join(dir, "cgroup.kill")) {
                    return fs::write_file(dir, "cgroup.kill", "1");
                }
            }
        }
        let frozen = self.freeze().is_ok();
        let pids = self.pids();
        if let Ok(pids) = &pids {
            for p in pids {
                match nix::sys::signal::kill(Pid::from_raw(*p), signal) {
                    Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                    Err(e) => {
                        if frozen {
                            let _ = self.thaw();
                        }
                        return Err(InitError::sys("kill", format!("pid {p}"), e));
                    }
                }
            }
        }
        if frozen {
            self.thaw()?;
        }
        pids.map(|_| ())
    }

    /// A watcher for OOM kills (see [`oom`]).
    fn oom_watcher(&self) -> Result<OomWatcher> {
        let dir = self
            .memory_dir()
            .ok_or_else(|| InitError::msg("watch oom", "memory", "no memory cgroup"))?;
        if self.is_v2() {
            OomWatcher::v2(&dir)
        } else {
            OomWatcher::v1(&dir)
        }
    }
}

/// The cgroup manager for one container (made once per command: the size does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Manager {
    V1(v1::V1Manager),
    V2(v2::V2Manager),
    Systemd(systemd::SystemdManager),
}

impl Manager {
    /// Resolves where the container's cgroup goes on this host (nothing is created).
    pub fn new(spec: &CgroupSpec) -> Result<Manager> {
        let layout = Layout::detect();
        if spec.systemd {
            return Ok(Manager::Systemd(systemd::SystemdManager::new(
                spec, layout,
            )?));
        }
        let inner = paths::inner_path(&spec.cgroups_path, &spec.id);
        let res = spec.resources.clone().unwrap_or_default();
        let explicit = !spec.cgroups_path.is_empty();
        Ok(match layout {
            Layout::Unified => {
                let own = fs::read_path("/proc/self/cgroup")?;
                Manager::V2(v2::V2Manager {
                    root: paths::CGROUP_ROOT.into(),
                    path: paths::v2_path(&inner, &own)?,
                    rootless: spec.rootless,
                    explicit_path: explicit,
                    create_resources: res,
                })
            }
            Layout::Legacy { hybrid } => Manager::V1(v1::V1Manager {
                paths: v1::V1Manager::resolve(&inner, hybrid)?,
                rootless: spec.rootless,
                explicit_path: explicit,
                create_resources: res,
            }),
        })
    }

    /// The manager of an existing container from the paths saved in its state (`paths()`).
    pub fn load(spec: &CgroupSpec, saved: &[(String, String)]) -> Result<Manager> {
        let explicit = !spec.cgroups_path.is_empty();
        if spec.systemd {
            return Ok(Manager::Systemd(systemd::SystemdManager::load(
                spec, saved,
            )?));
        }
        let v2_only = saved.len() == 1 && saved[0].0.is_empty();
        if v2_only && Layout::detect() == Layout::Unified {
            return Ok(Manager::V2(v2::V2Manager {
                root: paths::CGROUP_ROOT.into(),
                path: saved[0].1.clone(),
                rootless: spec.rootless,
                explicit_path: explicit,
                create_resources: Resources::default(),
            }));
        }
        Ok(Manager::V1(v1::V1Manager {
            paths: saved.to_vec(),
            rootless: spec.rootless,
            explicit_path: explicit,
            create_resources: Resources::default(),
        }))
    }

    /// `kill --all`: signals every process of the container's cgroup; nothing to do once it is
    /// gone (runc: a stopped container whose cgroup was removed).
    pub fn signal_all(&self, sig: i32) -> Result<()> {
        if !self.exists() {
            return Ok(());
        }
        self.kill_all(sig)
    }

    /// `delete`: kills whatever is left in the cgroup and removes it (and its systemd unit).
    /// Usually nothing is left (the init's exit took its pid namespace along): the
    /// freeze/kill/thaw round, most of what a delete costs, is skipped then.
    pub fn remove(&mut self) -> Result<()> {
        let occupied = self.exists() && self.pids().map_or(true, |p| !p.is_empty());
        if occupied {
            let _ = self.kill_all(libc::SIGKILL);
        }
        self.destroy()
    }

    /// `update`: merges `update` into the resources in force (`current`) and writes the
    /// result; returns it, for the state.
    pub fn update(&mut self, current: Resources, update: &Resources) -> Result<Resources> {
        let mut merged = current;
        merged.merge(update);
        self.apply_resources(&merged)?;
        Ok(merged)
    }

    /// "v1", "v2" or "systemd".
    pub fn driver(&self) -> &'static str {
        match self {
            Manager::V1(_) => "v1",
            Manager::V2(_) => "v2",
            Manager::Systemd(_) => "systemd",
        }
    }

    fn inner(&self) -> &dyn CgroupManager {
        match self {
            Manager::V1(m) => m,
            Manager::V2(m) => m,
            Manager::Systemd(m) => m,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn CgroupManager {
        match self {
            Manager::V1(m) => m,
            Manager::V2(m) => m,
            Manager::Systemd(m) => m,
        }
    }
}

impl CgroupManager for Manager {
    fn create(&mut self, pid: Option<i32>) -> Result<()> {
        self.inner_mut().create(pid)
    }
    fn apply_resources(&mut self, r: &Resources) -> Result<()> {
        self.inner_mut().apply_resources(r)
    }
    fn procs_paths(&self) -> Vec<String> {
        self.inner().procs_paths()
    }
    fn add_pid(&self, pid: i32) -> Result<()> {
        self.inner().add_pid(pid)
    }
    fn pids(&self) -> Result<Vec<i32>> {
        self.inner().pids()
    }
    fn freeze(&self) -> Result<()> {
        self.inner().freeze()
    }
    fn thaw(&self) -> Result<()> {
        self.inner().thaw()
    }
    fn state(&self) -> Result<FreezerState> {
        self.inner().state()
    }
    fn stats(&self) -> Result<Stats> {
        self.inner().stats()
    }
    fn memory_dir(&self) -> Option<String> {
        self.inner().memory_dir()
    }
    fn destroy(&mut self) -> Result<()> {
        self.inner_mut().destroy()
    }
    fn paths(&self) -> Vec<(String, String)> {
        self.inner().paths()
    }
    fn exists(&self) -> bool {
        self.inner().exists()
    }
    fn is_v2(&self) -> bool {
        self.inner().is_v2()
    }
    fn kill_all(&self, sig: i32) -> Result<()> {
        self.inner().kill_all(sig)
    }
}
