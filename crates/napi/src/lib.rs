//! Thin napi-rs adapter over runts-core: type conversion and error codes only.
//!
//! The surface is a handful of coarse calls: create a container init from a fully resolved
//! config, start it, wait for it (on a worker thread), signal it. Errors cross with a stable
//! `code` (see [`Code`]) and the core's one-line message (step, object, errno).
#![deny(clippy::all)]


mod cgroup;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use runts_core::config::{Config, InitOptions};
use runts_core::control;
use runts_core::criu::{dump::CheckpointOptions, restore::RestoreOptions};
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

pub(crate) type Result<T> = napi::Result<T, Code>;

/// The error's message is the core's JSON (message, step, path, errno): src/native/index.ts
/// turns it into an InitError with those as properties.
pub(crate) fn init_err(e: InitError) -> napi::Error<Code> {
    napi::Error::new(Code::Init, e.to_json())
}

/// The same for calls that run on a worker thread (AsyncTask errors carry napi's own status).
pub(crate) fn task_err(e: InitError) -> napi::Error {
    napi::Error::from_reason(e.to_json())
}

/// A container init that has built the container and waits to exec the user process.
#[napi(object)]
pub struct Spawned {
    /// The init (its pid in the runtime's pid namespace, and its start time), as every later
    /// call names it.
    pub init: InitRef,
    /// The runtime's end of the sync socket (pass it to `start`); -1 when already closed.
    pub sync_fd: i32,
    /// With `process.terminal` and no console socket: the pty master, owned by the caller
    /// (pass it to `proxyConsole`); -1 otherwise.
    pub console_fd: i32,
    /// The container's cgroup directories, for the state (empty without a cgroup).
    pub cgroup_paths: Vec<CgroupPath>,
    /// What the init logged meanwhile (warnings, debug lines), for the runtime's log.
    pub logs: Vec<InitLog>,
}

/// A container's init: its pid and its start time (field 22 of /proc/<pid>/stat), so that a
/// later process that reuses the pid is never taken for it.
#[napi(object)]
pub struct InitRef {
    pub pid: i32,
    pub start_time: i64,
}

/// A line the init logged while it built the container.
#[napi(object)]
pub struct InitLog {
    /// "warning", "info" (what hooks print) or "debug".
    pub level: String,
    pub msg: String,
}

/// One hierarchy's directory of a container's cgroup.
#[napi(object)]
pub struct CgroupPath {
    /// The v1 subsystem ("memory", "name=systemd", ...); "" for the v2 (or hybrid unified) one.
    pub subsystem: String,
    pub path: String,
}

/// The init program, built by build.rs; made into a sealed memfd by the first `create`.
static INIT_PROGRAM: &[u8] = include_bytes!(env!("RUNTS_INIT_PROGRAM"));

fn init_program() -> Result<&'static process::InitProgram> {
    static PROGRAM: std::sync::OnceLock<process::InitProgram> = std::sync::OnceLock::new();
    if let Some(p) = PROGRAM.get() {
        return Ok(p);
    }
    let p = process::InitProgram::from_bytes(INIT_PROGRAM).map_err(init_err)?;
    Ok(PROGRAM.get_or_init(|| p))
}

impl From<process::Spawned> for Spawned {
    fn from(s: process::Spawned) -> Self {
        Spawned {
            init: InitRef { pid: s.pid, start_time: s.start_time as i64 },
            sync_fd: s.sync_fd,
            console_fd: s.console_fd,
            cgroup_paths: s.cgroup_paths.into_iter().map(|(subsystem, path)| CgroupPath { subsystem, path }).collect(),
            logs: s.logs.into_iter().map(|(level, msg)| InitLog { level: level.as_str().into(), msg }).collect(),
        }
    }
}

/// Spawns the container init for `config` and returns once it waits to exec.
#[napi]
pub fn create(config: Config, options: InitOptions) -> Result<Spawned> {
    process::create(&config, &options, init_program()?).map(Spawned::from).map_err(init_err)
}

/// `exec`: starts `config.process` in the running container `options.exec` names; returns
/// once it waits to exec (pass `sync_fd` to `start`).
#[napi]
pub fn exec(config: Config, options: InitOptions) -> Result<Spawned> {
    process::exec(&config, &options, init_program()?).map(Spawned::from).map_err(init_err)
}

/// `checkpoint`: CRIU dumps the running container `config` describes into
/// `options.imagesDir`; returns once the dump is complete.
#[napi]
pub fn checkpoint(config: Config, options: CheckpointOptions) -> Result<()> {
    runts_core::criu::dump::checkpoint(&config, &options).map_err(init_err)
}

/// `restore`: CRIU restores a checkpoint into the new container `config` describes (its
/// cgroup made, its create hooks run); the restored init runs already (`syncFd` is -1).
#[napi]
pub fn restore(config: Config, init: InitOptions, options: RestoreOptions) -> Result<Spawned> {
    runts_core::criu::restore::restore(&config, &init, &options).map(Spawned::from).map_err(init_err)
}

/// `runts check`: what this host gives containers, each finding probed (crates/core/src/probe.rs).
#[napi]
pub fn host_check(options: runts_core::probe::ProbeOptions) -> Vec<runts_core::probe::Finding> {
    runts_core::probe::host(&options)
}

/// Lets a created init exec the user process; returns once execve succeeded.
#[napi]
pub fn start(sync_fd: i32) -> Result<()> {
    process::start(sync_fd).map_err(init_err)
}

/// Lets an init created with an exec fifo go on to wait on it for `start`; call it once the
/// container's state is recorded (until then a killed runtime takes the init with it). Returns
/// once the init waits; fails if it died on the way (`memory_dir`: its memory cgroup, to
/// report an OOM kill).
#[napi]
pub fn release(sync_fd: i32, init: InitRef, memory_dir: Option<String>) -> Result<()> {
    process::release(sync_fd, init.pid, memory_dir.as_deref()).map_err(init_err)
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
    kill_rest: bool,
}

impl Task for WaitTask {
    type Output = ExitStatus;
    type JsValue = Exit;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        process::wait_reaping(self.pid, self.kill_rest).map_err(task_err)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(match output {
            ExitStatus::Exited(code) => Exit { code: Some(code), signal: None },
            ExitStatus::Signaled(sig) => Exit { code: None, signal: Some(sig) },
        })
    }
}

/// Waits on a worker thread until `pid` (a child of this process) exits, reaping every other
/// child that exits meanwhile (the runtime is their subreaper); then, unless `kill_rest` is
/// false (an exec'd process), SIGKILLs what the container left among our descendants.
#[napi(ts_return_type = "Promise<Exit>")]
pub fn wait_exit(pid: i32, kill_rest: Option<bool>) -> AsyncTask<WaitTask> {
    AsyncTask::new(WaitTask { pid, kill_rest: kill_rest.unwrap_or(true) })
}

/// Sends signal `sig` to `pid`.
#[napi]
pub fn signal(pid: i32, sig: i32) -> Result<()> {
    process::signal(pid, sig).map_err(init_err)
}

/// `start` of a created container: opens its exec.fifo so the waiting init execs; returns once
/// execve succeeded, or fails when the init is gone or reports an exec error.
#[napi]
pub fn start_fifo(path: String, init: InitRef, timeout_ms: u32) -> Result<()> {
    control::start_fifo(&path, init.pid, init.start_time as u64, timeout_ms).map_err(init_err)
}

/// Signals the recorded init through a pidfd, only if it is still the process that started at
/// `start_time` (a recycled pid is never signalled). Returns false when it is gone.
#[napi]
pub fn signal_init(init: InitRef, sig: i32) -> Result<bool> {
    control::signal_init(init.pid, init.start_time as u64, sig).map_err(init_err)
}

/// Waits at most `timeout_ms` for the recorded init to exit; returns whether it did.
#[napi]
pub fn wait_gone(init: InitRef, timeout_ms: u32) -> Result<bool> {
    control::wait_gone(init.pid, init.start_time as u64, timeout_ms).map_err(init_err)
}

/// `--pidfd-socket`: sends a pidfd of the recorded init to the AF_UNIX socket at `socket`.
#[napi]
pub fn send_pidfd(socket: String, init: InitRef) -> Result<()> {
    control::send_pidfd(&socket, init.pid, init.start_time as u64).map_err(init_err)
}

/// The exclusive lock of a container's state directory (an flock held on a descriptor).
#[napi]
pub struct ContainerLock {
    fd: Option<std::os::fd::OwnedFd>,
}

#[napi]
impl ContainerLock {
    /// Releases the lock (closes its descriptor); calling it again does nothing.
    #[napi]
    pub fn release(&mut self) {
        self.fd = None;
    }
}

/// Takes the exclusive lock of a container's state directory, waiting at most `timeout_ms`
/// for another runts that holds it.
#[napi]
pub fn lock_dir(path: String, timeout_ms: u32) -> Result<ContainerLock> {
    use std::os::fd::FromRawFd;
    let raw = control::lock(&path, timeout_ms).map_err(init_err)?;
    // SAFETY: `lock` hands over the descriptor it opened.
    Ok(ContainerLock { fd: Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) }) })
}

/// The text of a file of the state store (or /proc), `null` when it does not exist: the
/// store's reads in the verbs that load the addon anyway (src/state/files.ts).
#[napi]
pub fn read_text(path: String) -> Result<Option<String>> {
    runts_core::files::read_text(&path).map_err(init_err)
}

/// Whether `path` exists (symbolic links followed).
#[napi]
pub fn path_exists(path: String) -> bool {
    runts_core::files::exists(&path)
}

/// Opens the `--log` file for appending (created 0644 if missing); returns the descriptor,
/// close-on-exec, which the caller closes (closeFd).
#[napi]
pub fn open_append(path: String) -> Result<i32> {
    use std::os::fd::IntoRawFd;
    runts_core::files::open_append(&path).map(IntoRawFd::into_raw_fd).map_err(init_err)
}

/// Removes a file, or with `tree` a directory and all it holds; an absent one is fine.
#[napi]
pub fn remove_path(path: String, tree: bool) -> Result<()> {
    runts_core::files::remove(&path, tree).map_err(init_err)
}

/// Runs `hooks` of `kind` (poststart, poststop: the runtime's own) in order, `state` (the
/// runtime-spec state JSON) on their stdin; stops at the first failure. Returns what they
/// printed, a line per hook, for the log.
#[napi]
pub fn run_hooks(kind: String, hooks: Vec<runts_core::config::Hook>, state: String) -> Result<Vec<String>> {
    runts_core::hooks::run(&kind, &hooks, &state).map_err(init_err)
}

/// What stat(2) says of a path (links followed).
#[napi(object)]
pub struct PathStat {
    pub is_dir: bool,
    /// st_dev and st_ino, to compare two paths (as numbers: exact below 2^53).
    pub dev: f64,
    pub ino: f64,
}

#[napi]
pub fn stat_path(path: String) -> Result<PathStat> {
    let s = runts_core::files::stat(&path).map_err(init_err)?;
    Ok(PathStat {
        is_dir: s.is_dir,
        dev: s.dev as f64,
        ino: s.ino as f64,
    })
}

/// The path with every symbolic link resolved.
#[napi]
pub fn real_path(path: String) -> Result<String> {
    runts_core::files::real_path(&path).map_err(init_err)
}

/// mkdir with `mode`; with `parents`, mkdir -p.
#[napi]
pub fn make_dir(path: String, mode: u32, parents: bool) -> Result<()> {
    runts_core::files::make_dir(&path, mode, parents).map_err(init_err)
}

/// Writes `text` to `tmp` (mode `mode`) and renames it onto `path`; `tmp` goes on failure.
#[napi]
pub fn write_replace(path: String, tmp: String, text: String, mode: u32) -> Result<()> {
    runts_core::files::write_replace(&path, &tmp, &text, mode).map_err(init_err)
}

/// Closes a descriptor the addon handed over (a console fd nobody will proxy): JavaScript
/// runtimes do not all close raw descriptors they did not open themselves (Deno).
#[napi]
pub fn close_fd(fd: i32) {
    if fd > 2 {
        // SAFETY: the caller owns `fd` and gives it up.
        unsafe { libc::close(fd) };
    }
}

// ---------------------------------------------------------------------------------------------
// NOTIFY_SOCKET (runtime/notify.ts): the container's sd_notify socket and its relay

/// Binds the container's notify socket (a datagram socket, mode 0777) at `path`; returns its
/// descriptor (CLOEXEC), for `notifyRelay`.
#[napi]
pub fn notify_bind(path: String) -> Result<i32> {
    use std::os::fd::IntoRawFd;
    runts_core::notify::bind_socket(&path).map(IntoRawFd::into_raw_fd).map_err(init_err)
}

/// How a relay ended: `ready` when READY= reached the host, else the init exited first.
#[napi(object)]
pub struct NotifyRelayed {
    pub ready: bool,
}

pub struct RelayTask {
    fd: i32,
    host: String,
    init: (i32, u64),
}

impl Task for RelayTask {
    type Output = runts_core::notify::Relayed;
    type JsValue = NotifyRelayed;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        use std::os::fd::{AsFd, FromRawFd, OwnedFd};
        // SAFETY: the caller gave this descriptor (from notifyBind) to the relay; closed here.
        let listener = unsafe { OwnedFd::from_raw_fd(self.fd) };
        let (pid, start) = self.init;
        let alive = || control::start_time(pid).is_some_and(|(t, st)| t == start && st != 'Z' && st != 'X');
        runts_core::notify::relay(listener.as_fd(), &self.host, pid, alive).map_err(task_err)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        use runts_core::notify::Relayed;
        Ok(NotifyRelayed { ready: output == Relayed::Ready })
    }
}

/// On a worker thread: waits for the container's READY= on `fd` (notifyBind's, taken over and
/// closed) and relays it to the host socket `host` with MAINPID= of `init`; resolves when
/// done or once the init has exited.
#[napi(ts_return_type = "Promise<NotifyRelayed>")]
pub fn notify_relay(fd: i32, host: String, init: InitRef) -> AsyncTask<RelayTask> {
    AsyncTask::new(RelayTask { fd, host, init: (init.pid, init.start_time as u64) })
}

// ---------------------------------------------------------------------------------------------
// Terminal (process.terminal in a foreground `run`): the proxy between our stdio and the pty
// master runs on a Rust thread, so the copying never waits on the JavaScript event loop.

/// The copy between this process's stdio and a container's pty master (see `proxyConsole`).
#[napi]
pub struct ConsoleProxy {
    inner: runts_core::console::Proxy,
}

#[napi]
impl ConsoleProxy {
    /// Copies the host terminal's window size to the container's pty (call it on SIGWINCH).
    #[napi]
    pub fn resize(&self) -> Result<()> {
        self.inner.resize().map_err(init_err)
    }

    /// Waits until the container's output has been written to stdout (the pty reports EIO, or
    /// stays quiet for a moment), stops the copying and restores the host terminal. Call it
    /// once the init has exited; calling it again does nothing.
    #[napi]
    pub fn finish(&mut self) {
        self.inner.finish();
    }
}

/// Starts copying stdin to the pty master `master_fd` and the master to stdout, on a thread;
/// takes ownership of `master_fd`. When stdin, stdout or stderr is a terminal it is put in raw
/// mode (restored by `finish`) and its window size copied to the pty.
#[napi]
pub fn proxy_console(master_fd: i32) -> Result<ConsoleProxy> {
    use std::os::fd::FromRawFd;
    if master_fd < 0 {
        return Err(init_err(InitError::msg("proxy console", "", format!("bad descriptor {master_fd}"))));
    }
    // SAFETY: the caller hands over the descriptor from `create`'s consoleFd.
    let master = unsafe { std::os::fd::OwnedFd::from_raw_fd(master_fd) };
    let host = runts_core::console::host_terminal();
    let inner = runts_core::console::Proxy::start(master, 0, 1, host).map_err(init_err)?;
    Ok(ConsoleProxy { inner })
}
