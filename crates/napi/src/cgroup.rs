//! The cgroup calls of the CLI verbs that act on an existing container (update, pause,
//! resume, ps, events, kill --all, delete): each loads the container's manager from the paths
//! saved in its state and does one coarse thing.

use crate::{init_err, CgroupPath, Result};
use napi_derive::napi;
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use runts_core::cgroups::{CgroupManager, CgroupSpec, Manager, OomEvent, OomWatcher, Resources};
use std::sync::Arc;
use std::time::Duration;

/// A container's cgroup as its state records it.
#[napi(object)]
pub struct SavedCgroup {
    /// "cgroupfs" or "systemd".
    pub driver: String,
    pub cgroups_path: String,
    pub rootless: bool,
    pub paths: Vec<CgroupPath>,
}

fn load(id: &str, saved: &SavedCgroup) -> Result<Manager> {
    let spec = CgroupSpec {
        cgroups_path: saved.cgroups_path.clone(),
        systemd: saved.driver == "systemd",
        rootless: saved.rootless,
        id: id.to_string(),
        resources: None,
    };
    let paths: Vec<(String, String)> =
        saved.paths.iter().map(|p| (p.subsystem.clone(), p.path.clone())).collect();
    Manager::load(&spec, &paths).map_err(init_err)
}

/// Signals every process of the container's cgroup (freeze, signal, thaw; cgroup.kill on v2).
#[napi]
pub fn cgroup_signal(id: String, saved: SavedCgroup, sig: i32) -> Result<()> {
    load(&id, &saved)?.signal_all(sig).map_err(init_err)
}

/// Kills whatever is left in the container's cgroup and removes it (and its systemd unit).
#[napi]
pub fn cgroup_destroy(id: String, saved: SavedCgroup) -> Result<()> {
    load(&id, &saved)?.remove().map_err(init_err)
}

/// Freezes (pause) or thaws (resume) the container's cgroup.
#[napi]
pub fn cgroup_freeze(id: String, saved: SavedCgroup, frozen: bool) -> Result<()> {
    let m = load(&id, &saved)?;
    if frozen { m.freeze() } else { m.thaw() }.map_err(init_err)
}

/// Every pid in the container's cgroup (host pid namespace).
#[napi]
pub fn cgroup_pids(id: String, saved: SavedCgroup) -> Result<Vec<i32>> {
    load(&id, &saved)?.pids().map_err(init_err)
}

/// The `events --stats` data (runc's JSON shape), as a JSON string.
#[napi]
pub fn cgroup_stats(id: String, saved: SavedCgroup) -> Result<String> {
    Ok(load(&id, &saved)?.stats().map_err(init_err)?.to_json())
}

/// `update`: merges `update` into the resources in force and writes the result; returns the
/// merged resources for the state.
#[napi]
pub fn cgroup_update(id: String, saved: SavedCgroup, current: Resources, update: Resources) -> Result<Resources> {
    load(&id, &saved)?.update(current, &update).map_err(init_err)
}

/// Where the container's cgroup would go on this host, one directory per hierarchy ("" is
/// the v2 or hybrid unified one); nothing is created. `create` records it before making the
/// cgroup, so that a create killed half-way can still be cleaned up by `delete --force`.
#[napi]
pub fn cgroup_resolve(spec: CgroupSpec) -> Result<Vec<CgroupPath>> {
    let m = Manager::new(&spec).map_err(init_err)?;
    Ok(m.paths().into_iter().map(|(subsystem, path)| CgroupPath { subsystem, path }).collect())
}

/// OOM kills of a container's cgroup, awaited on a worker thread (`events` keeps its event
/// loop, for signals and the stats timer, while it waits).
#[napi]
pub struct CgroupOomWatcher {
    inner: Arc<OomWatcher>,
}

pub struct OomWaitTask {
    inner: Arc<OomWatcher>,
    timeout_ms: Option<u32>,
}

impl Task for OomWaitTask {
    type Output = OomEvent;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        self.inner
            .wait(self.timeout_ms.map(|t| Duration::from_millis(t.into())))
            .map_err(crate::task_err)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output.as_str().to_string())
    }
}

#[napi]
impl CgroupOomWatcher {
    /// Starts watching (OOM kills before this are not reported): eventfd on
    /// memory.oom_control (v1), inotify on memory.events (v2).
    #[napi(constructor)]
    pub fn new(id: String, saved: SavedCgroup) -> Result<Self> {
        let inner = load(&id, &saved)?.oom_watcher().map_err(init_err)?;
        Ok(CgroupOomWatcher { inner: Arc::new(inner) })
    }

    /// The next event, waited for on a worker thread at most `timeoutMs` (none: forever):
    /// "oom", "timeout", or "gone" (the cgroup was emptied or removed: no more events).
    #[napi(ts_return_type = "Promise<'oom' | 'timeout' | 'gone'>")]
    pub fn wait(&self, timeout_ms: Option<u32>) -> AsyncTask<OomWaitTask> {
        AsyncTask::new(OomWaitTask { inner: self.inner.clone(), timeout_ms })
    }
}
