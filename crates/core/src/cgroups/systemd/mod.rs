//! The systemd cgroup driver (`--systemd-cgroup`, runc libcontainer/cgroups/systemd): the
//! container's cgroup is a transient scope unit that systemd creates (StartTransientUnit over
//! D-Bus) with `Delegate=yes`, so systemd leaves its inside to us, and with the resources as
//! unit properties, so systemd does not undo them when it re-applies its own settings. The
//! files are then written directly as well (the cgroupfs manager below), as runc does: some
//! resources have no systemd property, and older systemd versions lack some properties.

pub mod dbus;

use super::config::Resources;
use super::paths::{self, Layout, SystemdUnit};
use super::stats::Stats;
use super::v1::V1Manager;
use super::v2::{self, V2Manager};
use super::{devices, fs, CgroupManager, CgroupSpec, FreezerState};
use crate::error::{InitError, Result};
use dbus::{prop, Value};
use std::time::{Duration, Instant};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const IFACE: &str = "org.freedesktop.systemd1.Manager";

fn err(step: &str, unit: &str, e: dbus::Error) -> InitError {
    InitError::msg(step, unit, e.to_string())
}

/// Whether the host booted with systemd (sd_booted(3): /run/systemd/system is a directory).
pub fn is_running() -> bool {
    std::fs::symlink_metadata("/run/systemd/system")
        .map(|m| m.is_dir())
        .unwrap_or(false)
}

/// The cgroupfs side of a systemd-managed cgroup.
#[derive(Debug, Clone)]
pub enum Fs {
    V1(V1Manager),
    V2(V2Manager),
}

pub struct SystemdManager {
    pub unit: SystemdUnit,
    pub rootless: bool,
    pub fs: Fs,
    create_resources: Resources,
    version: Option<u32>,
}

/// runc's RangeToBits: "0-2,4" as a little-endian bitmask, for AllowedCPUs/AllowedMemoryNodes.
pub fn range_to_bits(s: &str) -> std::result::Result<Vec<u8>, String> {
    let mut bits: Vec<u8> = Vec::new();
    let mut set = |i: u32| {
        let (byte, bit) = ((i / 8) as usize, i % 8);
        if bits.len() <= byte {
            bits.resize(byte + 1, 0);
        }
        bits[byte] |= 1 << bit;
    };
    for r in s.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let num = |x: &str| {
            x.trim()
                .parse::<u32>()
                .map_err(|_| format!("invalid range: {r}"))
        };
        match r.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("invalid range: {r}"));
                }
                for i in a..=b {
                    set(i);
                }
            }
            None => set(num(r)?),
        }
    }
    while bits.last() == Some(&0) {
        bits.pop();
    }
    if bits.is_empty() {
        return Err("empty value".into());
    }
    Ok(bits)
}

/// CPUQuotaPerSecUSec (and CPUQuotaPeriodUSec, systemd >= 242) for a quota/period (runc's
/// addCpuQuota: rounded up to whole percents, which systemd stores).
fn add_cpu_quota(props: &mut Vec<Value>, quota: i64, period: i64, version: u32) {
    if period != 0 && version >= 242 {
        props.push(prop("CPUQuotaPeriodUSec", Value::U64(period as u64)));
    }
    if quota != 0 || period != 0 {
        let mut per_sec = u64::MAX; // USEC_INFINITY
        if quota > 0 {
            let p = if period == 0 { 100000 } else { period as u64 };
            per_sec = quota as u64 * 1_000_000 / p;
            if per_sec % 10000 != 0 {
                per_sec = (per_sec / 10000 + 1) * 10000;
            }
        }
        props.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
    }
}

fn add_cpuset(props: &mut Vec<Value>, r: &Resources, version: u32) -> Result<()> {
    let Some(c) = &r.cpu else { return Ok(()) };
    if version < 244 {
        return Ok(()); // AllowedCPUs needs systemd 244; the cgroupfs write still applies it.
    }
    for (val, name) in [(&c.cpus, "AllowedCPUs"), (&c.mems, "AllowedMemoryNodes")] {
        if let Some(v) = val.as_deref().filter(|v| !v.is_empty()) {
            let bits =
                range_to_bits(v).map_err(|e| InitError::msg("convert cpuset for systemd", v, e))?;
            props.push(prop(
                name,
                Value::Array("y".into(), bits.into_iter().map(Value::Byte).collect()),
            ));
        }
    }
    Ok(())
}

fn u64_or_max(v: i64) -> Value {
    Value::U64(if v < 0 { u64::MAX } else { v as u64 })
}

/// The unit properties for the resources (runc genV1ResourcesProperties /
/// genV2ResourcesProperties).
pub fn resource_properties(r: &Resources, v2: bool, version: u32) -> Result<Vec<Value>> {
    let mut props = Vec::new();
    {
        let rules = devices::rules_for(r)?;
        let (policy, allow) = devices::systemd_properties(&rules)?;
        props.push(prop("DevicePolicy", Value::Str(policy)));
        props.push(prop(
            "DeviceAllow",
            Value::Array(
                "(ss)".into(),
                allow
                    .into_iter()
                    .map(|(p, m)| Value::Struct(vec![Value::Str(p), Value::Str(m)]))
                    .collect(),
            ),
        ));
    }
    let mem = r.memory.clone().unwrap_or_default();
    let cpu = r.cpu.clone().unwrap_or_default();
    let (limit, swap) = (mem.limit.unwrap_or(0), mem.swap.unwrap_or(0));
    if v2 {
        if limit != 0 {
            props.push(prop("MemoryMax", u64_or_max(limit)));
        }
        if let Some(res) = mem.reservation.filter(|v| *v != 0) {
            props.push(prop("MemoryLow", u64_or_max(res)));
        }
        let s = v2::memory::swap_to_v2(swap, limit)
            .map_err(|d| InitError::msg("convert memory swap for systemd", "MemorySwapMax", d))?;
        if s != 0 {
            props.push(prop("MemorySwapMax", u64_or_max(s)));
        }
        let idle = cpu.idle == Some(1) && version >= 252;
        if idle {
            // CPUWeight=0 is systemd's way to set cpu.idle=1.
            props.push(prop("CPUWeight", Value::U64(0)));
        }
        let weight = v2::cpu::shares_to_weight(cpu.shares.unwrap_or(0).max(0) as u64);
        if weight != 0 && !idle {
            props.push(prop("CPUWeight", Value::U64(weight)));
        }
    } else {
        if limit != 0 {
            props.push(prop("MemoryLimit", u64_or_max(limit)));
        }
        if let Some(s) = cpu.shares.filter(|s| *s != 0) {
            props.push(prop("CPUShares", Value::U64(s as u64)));
        }
        if let Some(w) = r
            .block_io
            .as_ref()
            .and_then(|b| b.weight)
            .filter(|w| *w != 0)
        {
            props.push(prop("BlockIOWeight", Value::U64(w as u64)));
        }
    }
    add_cpu_quota(
        &mut props,
        cpu.quota.unwrap_or(0),
        cpu.period.unwrap_or(0),
        version,
    );
    match r.pids_limit.unwrap_or(0) {
        0 => {}
        l => props.push(prop("TasksMax", u64_or_max(l))),
    }
    add_cpuset(&mut props, r, version)?;
    Ok(props)
}

/// The manager's own cgroup (its ControlGroup property): "/user.slice/user-1000.slice/
/// user@1000.service" for a user's instance.
fn manager_control_group(c: &mut dbus::Conn) -> std::result::Result<String, dbus::Error> {
    let reply = c.call(DEST, PATH, "org.freedesktop.DBus.Properties", "Get", &[Value::Str(IFACE.into()), Value::Str("ControlGroup".into())])?;
    reply
        .first()
        .and_then(|v| v.as_str().map(String::from))
        .filter(|s| s.starts_with('/'))
        .ok_or_else(|| dbus::Error { name: "runts.NoControlGroup".into(), message: "the manager reports no ControlGroup".into() })
}

impl SystemdManager {
    pub fn new(spec: &CgroupSpec, layout: Layout) -> Result<SystemdManager> {
        if !is_running() {
            return Err(InitError::msg(
                "systemd cgroup",
                "",
                "systemd is not running (no /run/systemd/system)",
            ));
        }
        let unit = SystemdUnit::parse(&spec.cgroups_path, &spec.id)?;
        let res = spec.resources.clone().unwrap_or_default();
        if spec.rootless {
            // The user's systemd instance, which owns a delegated cgroup v2 subtree (runc's
            // rootless systemd driver): the unit's cgroup is below the manager's own.
            if layout != Layout::Unified {
                return Err(InitError::msg(
                    "systemd cgroup",
                    "",
                    "the rootless systemd driver needs cgroup v2 (a user's systemd instance has no delegated v1 hierarchy)",
                ));
            }
            let mut c = dbus::Conn::user().map_err(|e| err("connect to the user's systemd", "", e))?;
            let base = manager_control_group(&mut c).map_err(|e| err("the user's systemd ControlGroup", "", e))?;
            let rel = paths::join(&base, &unit.cgroup_path(true)?);
            return Ok(SystemdManager {
                unit,
                rootless: true,
                fs: Fs::V2(V2Manager {
                    root: paths::CGROUP_ROOT.into(),
                    path: paths::join(paths::CGROUP_ROOT, &rel),
                    rootless: true,
                    explicit_path: true,
                    create_resources: res.clone(),
                }),
                create_resources: res,
                version: None,
            });
        }
        let rel = unit.cgroup_path(false)?;
        let fs = match layout {
            Layout::Unified => Fs::V2(V2Manager {
                root: paths::CGROUP_ROOT.into(),
                path: paths::join(paths::CGROUP_ROOT, &rel),
                rootless: false,
                explicit_path: true,
                create_resources: res.clone(),
            }),
            Layout::Legacy { hybrid } => {
                // Under each hierarchy's mount, below the cgroup of pid 1 (systemd >= 226 runs
                // in init.scope, which is not a parent of the slices), like runc's
                // getSubsystemPath.
                let mut paths = V1Manager::resolve(&rel, hybrid)?;
                let init = super::paths::parse_proc_cgroup(&fs::read_path("/proc/1/cgroup")?);
                for (sub, p) in paths.iter_mut() {
                    if let Some((_, ip)) = init.iter().find(|(s, _)| s == sub) {
                        let ip = ip.strip_suffix("init.scope").unwrap_or(ip);
                        if let Some(base) = p.strip_suffix(rel.as_str()) {
                            *p = paths::join(&paths::join(base, ip), &rel);
                        }
                    }
                }
                Fs::V1(V1Manager {
                    paths,
                    rootless: false,
                    explicit_path: true,
                    create_resources: res.clone(),
                })
            }
        };
        Ok(SystemdManager {
            unit,
            rootless: spec.rootless,
            fs,
            create_resources: res,
            version: None,
        })
    }

    pub fn load(spec: &CgroupSpec, saved: &[(String, String)]) -> Result<SystemdManager> {
        let unit = SystemdUnit::parse(&spec.cgroups_path, &spec.id)?;
        let v2_only =
            saved.len() == 1 && saved[0].0.is_empty() && Layout::detect() == Layout::Unified;
        let fs = if v2_only {
            Fs::V2(V2Manager {
                root: paths::CGROUP_ROOT.into(),
                path: saved[0].1.clone(),
                rootless: false,
                explicit_path: true,
                create_resources: Resources::default(),
            })
        } else {
            Fs::V1(V1Manager {
                paths: saved.to_vec(),
                rootless: false,
                explicit_path: true,
                create_resources: Resources::default(),
            })
        };
        Ok(SystemdManager {
            unit,
            rootless: spec.rootless,
            fs,
            create_resources: Resources::default(),
            version: None,
        })
    }

    pub fn unit_name(&self) -> String {
        self.unit.unit_name()
    }

    fn fs(&self) -> &dyn CgroupManager {
        match &self.fs {
            Fs::V1(m) => m,
            Fs::V2(m) => m,
        }
    }

    fn fs_mut(&mut self) -> &mut dyn CgroupManager {
        match &mut self.fs {
            Fs::V1(m) => m,
            Fs::V2(m) => m,
        }
    }

    fn version(&mut self, c: &mut dbus::Conn) -> u32 {
        if let Some(v) = self.version {
            return v;
        }
        let v = c
            .call(
                DEST,
                PATH,
                "org.freedesktop.DBus.Properties",
                "Get",
                &[Value::Str(IFACE.into()), Value::Str("Version".into())],
            )
            .ok()
            .and_then(|b| b.first().and_then(|v| v.as_str().map(String::from)))
            .map(|s| {
                s.trim_start_matches(['"', 'v'])
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect::<String>()
            })
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        self.version = Some(v);
        v
    }

    /// Starts (or stops) a unit and waits for its job's JobRemoved signal, at most 30 s.
    fn run_job(
        c: &mut dbus::Conn,
        unit: &str,
        method: &str,
        args: &[Value],
    ) -> std::result::Result<String, dbus::Error> {
        if c.via_bus {
            let rule = format!("type='signal',sender='{DEST}',path='{PATH}',interface='{IFACE}',member='JobRemoved'");
            c.call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
                &[Value::Str(rule)],
            )?;
        } else {
            c.call(DEST, PATH, IFACE, "Subscribe", &[])?;
        }
        let reply = c.call(DEST, PATH, IFACE, method, args)?;
        let job = reply
            .first()
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        let m = c
            .wait_signal(deadline, |m| {
                m.member == "JobRemoved"
                    && m.body.get(1).and_then(|v| v.as_str()) == Some(job.as_str())
            })
            .map_err(|e| dbus::Error {
                name: e.name,
                message: format!("waiting for systemd to {} {unit}: {}", method, e.message),
            })?;
        Ok(m.body
            .get(3)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string())
    }

    fn reset_failed(c: &mut dbus::Conn, unit: &str) {
        let _ = c.call(
            DEST,
            PATH,
            IFACE,
            "ResetFailedUnit",
            &[Value::Str(unit.into())],
        );
    }

    /// The properties StartTransientUnit gets (runc Apply): description, slice, delegation,
    /// the pid, accounting on, no default dependencies, and the resources.
    pub fn start_properties(&self, pid: i32, version: u32) -> Result<Vec<Value>> {
        let unit = self.unit_name();
        let slice = self.unit.slice(self.rootless);
        let v2 = matches!(self.fs, Fs::V2(_));
        let mut props = vec![prop(
            "Description",
            Value::Str(format!("libcontainer container {}", self.unit.name)),
        )];
        if unit.ends_with(".slice") {
            props.push(prop(
                "Wants",
                Value::Array("s".into(), vec![Value::Str(slice)]),
            ));
        } else {
            props.push(prop("Slice", Value::Str(slice)));
            props.push(prop("Delegate", Value::Bool(true)));
        }
        props.push(prop(
            "PIDs",
            Value::Array("u".into(), vec![Value::U32(pid as u32)]),
        ));
        props.push(prop("MemoryAccounting", Value::Bool(true)));
        props.push(prop("CPUAccounting", Value::Bool(true)));
        props.push(prop(
            if v2 {
                "IOAccounting"
            } else {
                "BlockIOAccounting"
            },
            Value::Bool(true),
        ));
        props.push(prop("TasksAccounting", Value::Bool(true)));
        props.push(prop("DefaultDependencies", Value::Bool(false)));
        props.extend(resource_properties(&self.create_resources, v2, version)?);
        Ok(props)
    }
}

impl CgroupManager for SystemdManager {
    fn create(&mut self, pid: Option<i32>) -> Result<()> {
        let unit = self.unit_name();
        let pid = pid.ok_or_else(|| {
            InitError::msg(
                "systemd cgroup",
                &unit,
                "a scope unit needs a pid to start (create it with the init's pid)",
            )
        })?;
        let mut c = dbus::Conn::for_manager(self.rootless).map_err(|e| err("connect to systemd", &unit, e))?;
        let version = self.version(&mut c);
        let props = self.start_properties(pid, version)?;
        let args = [
            Value::Str(unit.clone()),
            Value::Str("replace".into()),
            Value::Array("(sv)".into(), props),
            Value::Array("(sa(sv))".into(), vec![]),
        ];
        let mut result = Self::run_job(&mut c, &unit, "StartTransientUnit", &args);
        if let Err(e) = &result {
            // A leftover failed unit of the same name: let systemd forget it, retry once.
            if e.name.contains("org.freedesktop.systemd1.UnitExists") {
                Self::reset_failed(&mut c, &unit);
                result = Self::run_job(&mut c, &unit, "StartTransientUnit", &args);
            }
        }
        match result {
            Ok(r) if r == "done" => {}
            Ok(r) => {
                Self::reset_failed(&mut c, &unit);
                return Err(InitError::msg(
                    "start systemd unit",
                    &unit,
                    format!("job result {r:?}"),
                ));
            }
            Err(e) => return Err(err("start systemd unit", &unit, e)),
        }
        match &mut self.fs {
            // Enable the controllers below the scope (systemd enabled them above it).
            Fs::V2(m) => v2::create_cgroup_path(&m.root, &m.path, &self.create_resources)?,
            Fs::V1(m) => m.create(None)?,
        }
        self.fs().add_pid(pid)
    }

    fn apply_resources(&mut self, r: &Resources) -> Result<()> {
        let unit = self.unit_name();
        let v2 = matches!(self.fs, Fs::V2(_));
        if v2 {
            // Before systemd sets a limit below the usage and the OOM killer acts.
            v2::memory::check_usage(&self.fs().paths()[0].1, r)?;
        }
        let mut c = dbus::Conn::for_manager(self.rootless).map_err(|e| err("connect to systemd", &unit, e))?;
        let version = self.version(&mut c);
        let props = resource_properties(r, v2, version)?;
        if !props.is_empty() {
            c.call(
                DEST,
                PATH,
                IFACE,
                "SetUnitProperties",
                &[
                    Value::Str(unit.clone()),
                    Value::Bool(true),
                    Value::Array("(sv)".into(), props),
                ],
            )
            .map_err(|e| err("set systemd unit properties", &unit, e))?;
        }
        self.fs_mut().apply_resources(r)
    }

    fn procs_paths(&self) -> Vec<String> {
        self.fs().procs_paths()
    }
    fn add_pid(&self, pid: i32) -> Result<()> {
        self.fs().add_pid(pid)
    }
    fn pids(&self) -> Result<Vec<i32>> {
        // systemd removes a scope's cgroup once its last process has gone: a cgroup that
        // vanished under us holds no process.
        match self.fs().pids() {
            Err(e) if e.errno == nix::errno::Errno::ENOENT as i32 => Ok(Vec::new()),
            r => r,
        }
    }
    fn freeze(&self) -> Result<()> {
        self.fs().freeze()
    }
    fn thaw(&self) -> Result<()> {
        self.fs().thaw()
    }
    fn state(&self) -> Result<FreezerState> {
        self.fs().state()
    }
    fn stats(&self) -> Result<Stats> {
        self.fs().stats()
    }
    fn memory_dir(&self) -> Option<String> {
        self.fs().memory_dir()
    }

    fn destroy(&mut self) -> Result<()> {
        let unit = self.unit_name();
        if let Ok(mut c) = dbus::Conn::for_manager(self.rootless) {
            match Self::run_job(
                &mut c,
                &unit,
                "StopUnit",
                &[Value::Str(unit.clone()), Value::Str("replace".into())],
            ) {
                Ok(_) => {}
                // Already gone.
                Err(e) if e.name.contains("NoSuchUnit") => {}
                Err(e) => return Err(err("stop systemd unit", &unit, e)),
            }
            Self::reset_failed(&mut c, &unit);
        }
        // systemd 239 does not remove sub-cgroups.
        self.fs_mut().destroy()
    }

    fn paths(&self) -> Vec<(String, String)> {
        self.fs().paths()
    }
    fn exists(&self) -> bool {
        self.fs().exists()
    }
    fn is_v2(&self) -> bool {
        self.fs().is_v2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::{Cpu, Memory};

    #[test]
    fn bits() {
        assert_eq!(range_to_bits("0-2,4").unwrap(), vec![0b10111]);
        assert_eq!(range_to_bits("9").unwrap(), vec![0, 2]);
        assert!(range_to_bits("").is_err());
        assert!(range_to_bits("3-1").is_err());
    }

    fn names(p: &[Value]) -> Vec<String> {
        p.iter()
            .map(|v| match v {
                Value::Struct(f) => format!(
                    "{}={:?}",
                    f[0].as_str().unwrap(),
                    match &f[1] {
                        Value::Variant(b) => (**b).clone(),
                        x => x.clone(),
                    }
                ),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn v2_properties() {
        let r = Resources {
            memory: Some(Memory {
                limit: Some(1 << 30),
                swap: Some(2 << 30),
                reservation: Some(1 << 20),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(50000),
                period: Some(100000),
                cpus: Some("0-1".into()),
                ..Default::default()
            }),
            pids_limit: Some(-1),
            ..Default::default()
        };
        let p = names(&resource_properties(&r, true, 252).unwrap());
        // Device rules come first, always (the default allow-list; see devices::rules_for).
        assert!(p[0].starts_with("DevicePolicy=Str(\"strict\")"), "{p:?}");
        assert!(p[1].starts_with("DeviceAllow="));
        let p = &p[2..];
        assert_eq!(
            p,
            [
                "MemoryMax=U64(1073741824)",
                "MemoryLow=U64(1048576)",
                "MemorySwapMax=U64(1073741824)",
                "CPUWeight=U64(39)",
                "CPUQuotaPeriodUSec=U64(100000)",
                "CPUQuotaPerSecUSec=U64(500000)",
                "TasksMax=U64(18446744073709551615)",
                "AllowedCPUs=Array(\"y\", [Byte(3)])"
            ]
        );
    }

    #[test]
    fn quota_rounds_up_to_percent() {
        let mut p = Vec::new();
        add_cpu_quota(&mut p, 12345, 100000, 252);
        assert_eq!(names(&p)[1], "CPUQuotaPerSecUSec=U64(130000)");
        let mut p = Vec::new();
        add_cpu_quota(&mut p, -1, 0, 252);
        assert_eq!(names(&p), ["CPUQuotaPerSecUSec=U64(18446744073709551615)"]);
    }
}
