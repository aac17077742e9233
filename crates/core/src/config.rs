//! The resolved container configuration: what the TypeScript side hands the core after it has
//! loaded, validated and converted the OCI `config.json`.
//!
//! Paths are absolute on the host (the rootfs) or inside the container (mount destinations,
//! masked paths). Names that the kernel knows by number (capabilities, rlimits, namespaces,
//! mount options) stay names here: the core parses them (see `caps`, `rlimits`, `mount_opts`),
//! so the parsing is tested once, in Rust, next to the syscalls that use the result.
//!
//! With the `napi` feature every struct here is also a `#[napi(object)]`, so the napi crate takes
//! it as is and the TypeScript declarations are generated from these definitions.

#[cfg(feature = "napi")]
use napi_derive::napi;

/// Everything the container init needs to build the container and exec its process.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// The container id (used for the session keyring name and for process titles).
    pub id: String,
    /// Absolute path of the bundle directory.
    pub bundle: String,
    /// Absolute path of the root filesystem on the host.
    pub rootfs: String,
    /// `root.readonly`.
    pub rootfs_readonly: bool,
    /// `linux.rootfsPropagation`: "", "private", "rprivate", "slave", "rslave", "shared", ...
    pub rootfs_propagation: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// `mounts`, in order.
    pub mounts: Vec<Mount>,
    pub process: Process,
    /// `linux.namespaces`; a `path` means join instead of create.
    pub namespaces: Vec<Namespace>,
    pub uid_mappings: Vec<IdMapping>,
    pub gid_mappings: Vec<IdMapping>,
    /// `linux.devices`.
    pub devices: Vec<Device>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// `linux.sysctl` as (key, value) pairs.
    pub sysctl: Vec<Sysctl>,
    /// The container's cgroup (`linux.cgroupsPath`, `linux.resources`, the driver); None
    /// leaves the container in the runtime's own cgroup.
    pub cgroup: Option<crate::cgroups::CgroupSpec>,
    /// The container's cgroup directories on the host, one per hierarchy. Filled by
    /// `process::create` from the cgroup manager (whatever the caller passes is replaced): the
    /// `cgroup` mount binds these, since the init joins its cgroup only right before exec.
    pub cgroup_paths: Vec<String>,
    /// `linux.seccomp`; compiled to BPF by the runtime (crate::seccomp).
    pub seccomp: Option<Seccomp>,
    /// `linux.personality`.
    pub personality: Option<Personality>,
    /// `linux.memoryPolicy` (runtime-spec 1.3).
    pub memory_policy: Option<MemoryPolicy>,
    /// `linux.netDevices` (runtime-spec 1.2): host interfaces moved into the container's new
    /// network namespace.
    pub net_devices: Vec<NetDevice>,
    /// `linux.timeOffsets`: the new time namespace's clock offsets.
    pub time_offsets: Vec<TimeOffset>,
    /// `linux.mountLabel`, when the host has SELinux (rootfs::mounts::labelled).
    pub mount_label: Option<String>,
    /// The hooks that run while the container is created and started (crate::hooks);
    /// poststart and poststop are the runtime's, after `start` and `delete`.
    pub hooks: Option<CreateHooks>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Scheduler {
    pub policy: String,
    pub nice: Option<i32>,
    pub priority: Option<i32>,
    pub flags: Vec<String>,
    pub runtime: Option<i64>,
    pub deadline: Option<i64>,
    pub period: Option<i64>,
}

/// CPU lists ("0-3,7"): `initial` for the init before it joins the container's cgroup,
/// `final_cpus` (the spec's `final`) for the process, set right before execve.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExecCpuAffinity {
    pub initial: Option<String>,
    pub final_cpus: Option<String>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct IoPriority {
    pub class: String,
    pub priority: i32,
}

/// One clock's offset: `clock` is "monotonic" or "boottime".
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TimeOffset {
    pub clock: String,
    pub secs: i64,
    pub nanosecs: u32,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct NetDevice {
    /// The interface's name on the host.
    pub host_name: String,
    /// Its name in the container (the host name when the spec gives none).
    pub name: String,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct MemoryPolicy {
    pub mode: String,
    /// A node list ("0-3,7"); none for MPOL_DEFAULT and MPOL_LOCAL.
    pub nodes: Option<String>,
    pub flags: Vec<String>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Personality {
    pub domain: String,
    pub flags: Vec<String>,
}

/// A runtime-spec hook: `path` run with `args` (args[0] is its argv[0]) and `env` (the
/// runtime's environment when absent), the container's state JSON on its stdin, killed after
/// `timeout` seconds.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Hook {
    pub path: String,
    pub args: Vec<String>,
    pub env: Option<Vec<String>>,
    pub timeout: Option<u32>,
}

/// The hooks of `create` and `start`, each kind in its order.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CreateHooks {
    /// Deprecated; run with createRuntime, before it, in the runtime's namespaces.
    pub prestart: Vec<Hook>,
    /// In the runtime's namespaces once the container's exist, before pivot_root.
    pub create_runtime: Vec<Hook>,
    /// In the container's namespaces, before pivot_root (paths are the runtime's).
    pub create_container: Vec<Hook>,
    /// In the container, after `start`, right before the process is exec'd.
    pub start_container: Vec<Hook>,
}

impl CreateHooks {
    pub fn is_empty(&self) -> bool {
        self.prestart.is_empty()
            && self.create_runtime.is_empty()
            && self.create_container.is_empty()
            && self.start_container.is_empty()
    }
}

/// `linux.seccomp`, names as the runtime spec writes them (crate::seccomp has the tables).
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Seccomp {
    pub default_action: String,
    pub default_errno_ret: Option<u32>,
    pub architectures: Vec<String>,
    pub flags: Vec<String>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    pub syscalls: Vec<SeccompSyscall>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SeccompSyscall {
    pub names: Vec<String>,
    pub action: String,
    pub errno_ret: Option<u32>,
    pub args: Vec<SeccompArg>,
}

/// One argument condition. The values are decimal strings: a u64 is not always a JavaScript
/// number.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SeccompArg {
    pub index: u32,
    pub value: String,
    pub value_two: Option<String>,
    pub op: String,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    /// Absolute path inside the container.
    pub destination: String,
    /// `type`: "bind", "proc", "tmpfs", ... (None for a bind mount given only by options).
    pub mount_type: Option<String>,
    pub source: Option<String>,
    /// OCI mount options, unparsed ("ro", "rbind", "nosuid", "mode=755", "rro", ...).
    pub options: Vec<String>,
    /// An idmapped bind mount's mapping of on-disk ids (runtime-spec 1.2; see `idmap`).
    #[serde(default)]
    pub uid_mappings: Vec<IdMapping>,
    #[serde(default)]
    pub gid_mappings: Vec<IdMapping>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Process {
    /// `process.terminal`: the init opens a pty in the container and makes its slave the
    /// controlling terminal and stdio; the master goes to the runtime (see `console`).
    pub terminal: bool,
    /// `process.consoleSize`: the initial window size of that pty.
    pub console_size: Option<ConsoleSize>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Absolute path inside the container.
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub umask: Option<u32>,
    pub additional_gids: Vec<u32>,
    pub capabilities: Option<Capabilities>,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    /// `process.apparmorProfile`: the AppArmor profile the process execs under (crate::lsm).
    pub apparmor_profile: Option<String>,
    /// `process.selinuxLabel`: the SELinux label the process execs under.
    pub selinux_label: Option<String>,
    /// `process.scheduler` (crate::sched).
    pub scheduler: Option<Scheduler>,
    /// `process.ioPriority`.
    pub io_priority: Option<IoPriority>,
    /// `process.execCPUAffinity`.
    pub exec_cpu_affinity: Option<ExecCpuAffinity>,
}

/// `process.consoleSize`, in character cells (runc truncates each to 16 bits; the TypeScript
/// side saturates instead).
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsoleSize {
    pub height: u32,
    pub width: u32,
}

/// The five capability sets, by name ("CAP_SYS_ADMIN").
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Capabilities {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub inheritable: Vec<String>,
    pub permitted: Vec<String>,
    pub ambient: Vec<String>,
}

/// One `process.rlimits` entry. Limits are i64 across the JS boundary: -1 is RLIM_INFINITY
/// (the TypeScript side maps any value of 2^63 or more to -1).
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Rlimit {
    /// "RLIMIT_NOFILE", ...
    pub rlimit_type: String,
    pub soft: i64,
    pub hard: i64,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    /// OCI name: "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time".
    pub ns_type: String,
    /// Join this namespace (a /proc/<pid>/ns/<x> path) instead of creating one.
    pub path: Option<String>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdMapping {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Device {
    /// The path inside the container as the spec writes it (a default device is replaced only
    /// by a spec device of exactly the same spelling, as in runc: rootfs/devices.rs).
    pub path: String,
    /// "c", "u", "b" or "p".
    pub dev_type: String,
    pub major: i64,
    pub minor: i64,
    pub file_mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Sysctl {
    pub key: String,
    pub value: String,
}

/// How the runtime wants this init started; not part of the OCI config.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct InitOptions {
    /// `--no-pivot`: MS_MOVE the rootfs onto / and chroot instead of pivot_root.
    pub no_pivot: bool,
    /// `--no-new-keyring`: keep the caller's session keyring.
    pub no_new_keyring: bool,
    /// `--preserve-fds N`: descriptors 3..3+N pass to the process.
    pub preserve_fds: u32,
    /// When set, the init waits for `start` by opening this FIFO for writing (runc's exec.fifo);
    /// when unset it waits for the Start message on the sync socket (foreground `run`).
    pub exec_fifo: Option<String>,
    /// `--console-socket`: with `process.terminal`, the pty master is sent to this AF_UNIX
    /// stream socket (SCM_RIGHTS) instead of being returned to the caller.
    pub console_socket: Option<String>,
    /// Make the runtime a child subreaper first (PR_SET_CHILD_SUBREAPER), so that the
    /// container's orphans are reparented to it and reaped (a foreground `run`).
    pub subreaper: bool,
    /// The container's state as hooks get it (runtime-spec state JSON, `pid` and `status`
    /// filled in for each hook): needed when the config has hooks.
    pub hook_state: Option<String>,
    /// `exec`: the process joins this running container instead of a new one being built
    /// ([`crate::process::exec`]).
    pub exec: Option<ExecTarget>,
}

/// The container an `exec` process joins: its init (pid and start time, so that a recycled
/// pid is never joined) and the cgroup directories it enters, one per hierarchy (the
/// container's, or the sub-cgroups `--cgroup` names).
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExecTarget {
    pub pid: i32,
    pub start_time: i64,
    pub cgroup_dirs: Vec<String>,
}

impl Config {
    /// Whether the config asks for a new namespace of this OCI type (not joined by path).
    pub fn creates_ns(&self, ns_type: &str) -> bool {
        self.namespaces
            .iter()
            .any(|n| n.ns_type == ns_type && n.path.is_none())
    }

    /// Whether the config has a namespace of this OCI type at all (created or joined).
    pub fn has_ns(&self, ns_type: &str) -> bool {
        self.namespaces.iter().any(|n| n.ns_type == ns_type)
    }
}
