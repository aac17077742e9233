//! Thin napi-rs adapter over runts-core: type conversion and error codes only.
//!
//! The surface is a handful of coarse calls: create a container init from a fully resolved
//! config, start it, wait for it (on a worker thread), signal it. Errors cross with a stable
//! `code` (see [`Code`]) and the core's one-line message (step, object, errno).
#![deny(clippy::all)]

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use runts_core::config::{Config, InitOptions};
use runts_core::control;
use runts_core::process::{self, ExitStatus};
use runts_core::InitError;

/// Stable error codes seen by JavaScript as `error.code`.
pub enum Code {
    /// A step of the container setup failed (in the runtime or in the container init).
    Init,
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::Init => "ERR_RUNTS_INIT",
        }
    }
}

type Result<T> = napi::Result<T, Code>;

fn init_err(e: InitError) -> napi::Error<Code> {
    napi::Error::new(Code::Init, e.to_string())
}

/// A container init that has built the container and waits to exec the user process.
#[napi(object)]
pub struct Spawned {
    /// The init's pid in the runtime's pid namespace.
    pub pid: i32,
    /// The runtime's end of the sync socket (pass it to `start`); -1 when already closed.
    pub sync_fd: i32,
}

/// Forks the container init for `config` and returns once it waits to exec.
#[napi]
pub fn create(config: Config, options: InitOptions) -> Result<Spawned> {
    let s = process::create(&config, &options).map_err(init_err)?;
    Ok(Spawned { pid: s.pid, sync_fd: s.sync_fd })
}

/// Lets a created init exec the user process; returns once execve succeeded.
#[napi]
pub fn start(sync_fd: i32) -> Result<()> {
    process::start(sync_fd).map_err(init_err)
}

/// How the container's init ended.
#[napi(object)]
pub struct Exit {
    /// The exit code when it exited, else null.
    pub code: Option<i32>,
    /// The signal number when a signal killed it, else null.
    pub signal: Option<i32>,
}

pub struct WaitTask {
    pid: i32,
}

impl Task for WaitTask {
    type Output = ExitStatus;
    type JsValue = Exit;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        process::wait_reaping(self.pid).map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(match output {
            ExitStatus::Exited(code) => Exit { code: Some(code), signal: None },
            ExitStatus::Signaled(sig) => Exit { code: None, signal: Some(sig) },
        })
    }
}

/// Waits on a worker thread until `pid` (a child of this process) exits, reaping every other
/// child that exits meanwhile (the runtime is their subreaper).
#[napi(ts_return_type = "Promise<Exit>")]
pub fn wait_exit(pid: i32) -> AsyncTask<WaitTask> {
    AsyncTask::new(WaitTask { pid })
}

/// Sends signal `sig` to `pid`.
#[napi]
pub fn signal(pid: i32, sig: i32) -> Result<()> {
    process::signal(pid, sig).map_err(init_err)
}

/// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER), so that the container's
/// orphans are reparented to it and reaped.
#[napi]
pub fn set_child_subreaper() -> Result<()> {
    process::set_child_subreaper().map_err(init_err)
}

/// `start` of a created container: opens its exec.fifo so the waiting init execs; returns once
/// execve succeeded, or fails when the init is gone or reports an exec error.
#[napi]
pub fn start_fifo(path: String, pid: i32, start_time: i64, timeout_ms: u32) -> Result<()> {
    control::start_fifo(&path, pid, start_time as u64, timeout_ms).map_err(init_err)
}

/// Signals the recorded init through a pidfd, only if it is still the process that started at
/// `start_time` (a recycled pid is never signalled). Returns false when it is gone.
#[napi]
pub fn signal_init(pid: i32, start_time: i64, sig: i32) -> Result<bool> {
    control::signal_init(pid, start_time as u64, sig).map_err(init_err)
}

/// Waits at most `timeout_ms` for the recorded init to exit; returns whether it did.
#[napi]
pub fn wait_gone(pid: i32, start_time: i64, timeout_ms: u32) -> Result<bool> {
    control::wait_gone(pid, start_time as u64, timeout_ms).map_err(init_err)
}

/// Takes the exclusive lock of a container's state directory; returns the descriptor that
/// holds it (close it to release).
#[napi]
pub fn lock_dir(path: String, timeout_ms: u32) -> Result<i32> {
    control::lock(&path, timeout_ms).map_err(init_err)
}
