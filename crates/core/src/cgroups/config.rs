//! The cgroup part of the resolved configuration: OCI `linux.resources` and how to place the
//! container (`linux.cgroupsPath`, `--systemd-cgroup`, rootless).
//!
//! Shapes follow the OCI runtime spec field by field, with two JavaScript-friendly changes:
//! every number is an `i64` (byte values, shares, rates; JavaScript numbers are exact up to
//! 2^53, and the TypeScript side maps OCI's "max" of 2^64-1 to -1), and maps (`unified`, `rdma`)
//! are lists of entries. `None` always means "not set in the spec": the file is not written,
//! as runc does (runc writes only the files whose value is set, see libcontainer/cgroups/fs).
//!
//! With the `napi` feature every struct here is also a `#[napi(object)]`, so the TypeScript
//! declarations are generated from these definitions.

#[cfg(feature = "napi")]
use napi_derive::napi;

/// Where and how to make the container's cgroup.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CgroupSpec {
    /// `linux.cgroupsPath` as written in the spec ("" when absent). With the cgroupfs drivers an
    /// absolute path is taken under each hierarchy root and a relative one under the runtime's
    /// own cgroup; with `systemd` it is "slice:prefix:name".
    pub cgroups_path: String,
    /// `--systemd-cgroup`: a transient scope unit created through systemd's D-Bus API.
    pub systemd: bool,
    /// `--rootless`: permission errors while creating the cgroup are ignored when no explicit
    /// cgroupsPath was given (runc's rule), and device rules are not enforced.
    pub rootless: bool,
    /// The container id: the default cgroup name (`<id>`, or `runc-<id>.scope` with systemd).
    pub id: String,
    /// The resources applied by `create` (the spec's `linux.resources`).
    pub resources: Option<Resources>,
}

/// OCI `linux.resources`.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// `linux.resources.devices`, in spec order. Enforced followed by runc's default allow-list
    /// (see [`crate::cgroups::devices::rules_for`]), starting from deny-all: `None` (no rules in
    /// the spec) still denies every device but the defaults, as runc does. `update` re-applies
    /// the saved rules (see [`Resources::merge`]), which changes nothing.
    pub devices: Option<Vec<DeviceRule>>,
    /// The paths of `linux.devices`: runc drops a default allow rule whose device node the spec
    /// declares itself (specconv `createDevices`), so the spec's node wins.
    pub device_paths: Option<Vec<String>>,
    /// Enforce exactly `devices`, without the default allow-list.
    pub skip_default_devices: Option<bool>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    /// `pids.limit`: > 0 a limit, -1 (or any negative) unlimited, 0 not set (runc 1.1).
    pub pids_limit: Option<i64>,
    pub block_io: Option<BlockIo>,
    pub hugepage_limits: Option<Vec<HugepageLimit>>,
    pub network: Option<Network>,
    /// `rdma`, one entry per device name.
    pub rdma: Option<Vec<RdmaLimit>>,
    /// `unified`: cgroup v2 files written verbatim ("memory.high" = "1G"); an error on v1.
    pub unified: Option<Vec<UnifiedEntry>>,
}

/// One `linux.resources.devices` rule.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    /// "a" (all), "b" or "c"; None means "a".
    pub dev_type: Option<String>,
    /// None or -1 means any.
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// Some of "rwm"; None or "" is an error (runc: "device access at N field cannot be empty").
    pub access: Option<String>,
}

/// `linux.resources.memory`. Byte values; -1 is unlimited.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    /// memory+swap, as on cgroup v1 (converted for v2, see `ConvertMemorySwapToCgroupV2Value`).
    pub swap: Option<i64>,
    /// Kernel memory: written to `memory.kmem.limit_in_bytes` only where the kernel still has
    /// it (v1); the kernel answers EOPNOTSUPP since 5.16, which is ignored.
    pub kernel: Option<i64>,
    /// `memory.kmem.tcp.limit_in_bytes` where it exists (v1 only).
    pub kernel_tcp: Option<i64>,
    /// 0..=100; -1 is unset. v1 only (cgroup v2 has no per-cgroup swappiness).
    pub swappiness: Option<i64>,
    pub disable_oom_killer: Option<bool>,
    /// Deprecated and ignored, as runc 1.1 does.
    pub use_hierarchy: Option<bool>,
    /// v2: refuse a limit at or below the current usage instead of letting the OOM killer act.
    pub check_before_update: Option<bool>,
}

/// `linux.resources.cpu`.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cpu {
    /// v1 `cpu.shares`; v2 `cpu.weight = 1 + ((shares - 2) * 9999) / 262142`.
    pub shares: Option<i64>,
    /// Microseconds per period; -1 is unlimited.
    pub quota: Option<i64>,
    pub burst: Option<i64>,
    pub period: Option<i64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<i64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    /// `cpu.idle`: 0 or 1.
    pub idle: Option<i64>,
}

/// `linux.resources.blockIO`.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlockIo {
    /// 10..=1000.
    pub weight: Option<i64>,
    pub leaf_weight: Option<i64>,
    pub weight_device: Option<Vec<WeightDevice>>,
    pub throttle_read_bps_device: Option<Vec<ThrottleDevice>>,
    pub throttle_write_bps_device: Option<Vec<ThrottleDevice>>,
    pub throttle_read_iops_device: Option<Vec<ThrottleDevice>>,
    pub throttle_write_iops_device: Option<Vec<ThrottleDevice>>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    pub weight: Option<i64>,
    pub leaf_weight: Option<i64>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: i64,
}

/// One `hugepageLimits` entry.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HugepageLimit {
    /// "2MB", "1GB", ...
    pub page_size: String,
    pub limit: i64,
}

/// `linux.resources.network` (cgroup v1 only: net_cls and net_prio).
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Network {
    pub class_id: Option<i64>,
    pub priorities: Option<Vec<InterfacePriority>>,
}

#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InterfacePriority {
    pub name: String,
    pub priority: i64,
}

/// One `rdma` entry: the device name and its limits.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RdmaLimit {
    pub device: String,
    pub hca_handles: Option<i64>,
    pub hca_objects: Option<i64>,
}

/// One `unified` entry: a cgroup v2 file name and the value written to it.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnifiedEntry {
    pub key: String,
    pub value: String,
}

impl BlockIo {
    /// Whether any per-device weight or throttle rule is set (non-empty).
    pub fn has_device_rules(&self) -> bool {
        [
            self.weight_device.as_ref().map(Vec::len),
            self.throttle_read_bps_device.as_ref().map(Vec::len),
            self.throttle_write_bps_device.as_ref().map(Vec::len),
            self.throttle_read_iops_device.as_ref().map(Vec::len),
            self.throttle_write_iops_device.as_ref().map(Vec::len),
        ]
        .iter()
        .any(|n| n.unwrap_or(0) > 0)
    }
}

impl Resources {
    /// Merges `update` into `self` (the resources saved at create time), as `runc update` does:
    /// every field the update sets replaces the saved one; the rest stay.
    pub fn merge(&mut self, update: &Resources) {
        macro_rules! take {
            ($($f:ident),*) => { $( if update.$f.is_some() { self.$f = update.$f.clone(); } )* };
        }
        take!(
            devices,
            device_paths,
            skip_default_devices,
            pids_limit,
            hugepage_limits,
            rdma,
            unified,
            network
        );
        if let Some(u) = &update.memory {
            let m = self.memory.get_or_insert_with(Default::default);
            macro_rules! f { ($($x:ident),*) => { $( if u.$x.is_some() { m.$x = u.$x; } )* } }
            f!(
                limit,
                reservation,
                swap,
                kernel,
                kernel_tcp,
                swappiness,
                disable_oom_killer,
                use_hierarchy,
                check_before_update
            );
        }
        if let Some(u) = &update.cpu {
            let c = self.cpu.get_or_insert_with(Default::default);
            macro_rules! f { ($($x:ident),*) => { $( if u.$x.is_some() { c.$x = u.$x.clone(); } )* } }
            f!(
                shares,
                quota,
                burst,
                period,
                realtime_runtime,
                realtime_period,
                cpus,
                mems,
                idle
            );
        }
        if let Some(u) = &update.block_io {
            let b = self.block_io.get_or_insert_with(Default::default);
            macro_rules! f { ($($x:ident),*) => { $( if u.$x.is_some() { b.$x = u.$x.clone(); } )* } }
            f!(
                weight,
                leaf_weight,
                weight_device,
                throttle_read_bps_device,
                throttle_write_bps_device,
                throttle_read_iops_device,
                throttle_write_iops_device
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_what_the_update_does_not_set() {
        let mut saved = Resources {
            devices: Some(vec![DeviceRule {
                allow: false,
                access: Some("rwm".into()),
                ..Default::default()
            }]),
            memory: Some(Memory {
                limit: Some(100),
                reservation: Some(50),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                shares: Some(512),
                cpus: Some("0".into()),
                ..Default::default()
            }),
            pids_limit: Some(10),
            ..Default::default()
        };
        let update = Resources {
            memory: Some(Memory {
                limit: Some(200),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                quota: Some(1000),
                ..Default::default()
            }),
            ..Default::default()
        };
        saved.merge(&update);
        let m = saved.memory.as_ref().unwrap();
        assert_eq!((m.limit, m.reservation), (Some(200), Some(50)));
        let c = saved.cpu.as_ref().unwrap();
        assert_eq!(
            (c.shares, c.quota, c.cpus.as_deref()),
            (Some(512), Some(1000), Some("0"))
        );
        assert_eq!(saved.pids_limit, Some(10));
        assert_eq!(saved.devices.as_ref().unwrap().len(), 1);
    }
}
