//! The process settings of the runtime spec that are one system call each, applied by the init
//! before it drops privileges (a real-time policy or I/O class needs CAP_SYS_NICE or
//! CAP_SYS_ADMIN): `process.scheduler` (sched_setattr), `process.ioPriority` (ioprio_set) and
//! `linux.personality` (personality). The name tables are the ones `features` and validation
//! use (rendered into tables.generated.ts).

use crate::config::{IoPriority, Personality, Scheduler};
use crate::error::{InitError, Result};
use nix::errno::Errno;

/// sched(7) policies by OCI name.
pub const SCHED_POLICIES: &[(&str, u32)] = &[
    ("SCHED_OTHER", 0),
    ("SCHED_FIFO", 1),
    ("SCHED_RR", 2),
    ("SCHED_BATCH", 3),
    ("SCHED_ISO", 4),
    ("SCHED_IDLE", 5),
    ("SCHED_DEADLINE", 6),
];

/// sched_setattr(2) flags by OCI name.
pub const SCHED_FLAGS: &[(&str, u64)] = &[
    ("SCHED_FLAG_RESET_ON_FORK", 0x01),
    ("SCHED_FLAG_RECLAIM", 0x02),
    ("SCHED_FLAG_DL_OVERRUN", 0x04),
    ("SCHED_FLAG_KEEP_POLICY", 0x08),
    ("SCHED_FLAG_KEEP_PARAMS", 0x10),
    ("SCHED_FLAG_UTIL_CLAMP_MIN", 0x20),
    ("SCHED_FLAG_UTIL_CLAMP_MAX", 0x40),
];

/// ioprio_set(2) classes by OCI name.
pub const IOPRIO_CLASSES: &[(&str, u32)] = &[("IOPRIO_CLASS_RT", 1), ("IOPRIO_CLASS_BE", 2), ("IOPRIO_CLASS_IDLE", 3)];

/// personality(2) domains by OCI name.
pub const PERSONALITY_DOMAINS: &[(&str, libc::c_ulong)] = &[("LINUX", 0x0000), ("LINUX32", 0x0008)];

fn lookup<T: Copy>(table: &[(&str, T)], name: &str, what: &str, step: &str) -> Result<T> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| InitError::msg(step, name, format!("unknown {what}")))
}

/// struct sched_attr, SCHED_ATTR_SIZE_VER0 (include/uapi/linux/sched/types.h).
#[repr(C)]
#[derive(Debug)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// The parameters the scheduler gets, checked against its tables.
fn sched_attr(s: &Scheduler) -> Result<SchedAttr> {
    let mut flags = 0;
    for f in &s.flags {
        flags |= lookup(SCHED_FLAGS, f, "scheduler flag", "sched_setattr")?;
    }
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: lookup(SCHED_POLICIES, &s.policy, "scheduler policy", "sched_setattr")?,
        flags,
        nice: s.nice.unwrap_or(0),
        priority: s.priority.unwrap_or(0).max(0) as u32,
        runtime: s.runtime.unwrap_or(0) as u64,
        deadline: s.deadline.unwrap_or(0) as u64,
        period: s.period.unwrap_or(0) as u64,
    })
}

pub fn set_scheduler(s: &Scheduler) -> Result<()> {
    let attr = sched_attr(s)?;
    // SAFETY: sched_setattr(0 = this thread, a filled sched_attr of its declared size, 0).
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if r < 0 {
        return Err(InitError::sys("sched_setattr", &s.policy, Errno::last()));
    }
    Ok(())
}

pub fn set_io_priority(p: &IoPriority) -> Result<()> {
    let class = lookup(IOPRIO_CLASSES, &p.class, "I/O priority class", "ioprio_set")?;
    let value = (class << 13) | (p.priority.clamp(0, 7) as u32);
    // SAFETY: ioprio_set(IOPRIO_WHO_PROCESS, 0 = this process, value).
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, value) };
    if r < 0 {
        return Err(InitError::sys("ioprio_set", &p.class, Errno::last()));
    }
    Ok(())
}

pub fn set_personality(p: &Personality) -> Result<()> {
    let domain = lookup(PERSONALITY_DOMAINS, &p.domain, "personality domain", "personality")?;
    if let Some(f) = p.flags.first() {
        return Err(InitError::msg("personality", f.as_str(), "not supported: personality flags"));
    }
    // SAFETY: personality(2) with a domain value.
    if unsafe { libc::personality(domain) } < 0 {
        return Err(InitError::sys("personality", &p.domain, Errno::last()));
    }
    Ok(())
}

/// set_mempolicy(2) modes by OCI name (runtime-spec 1.3 `linux.memoryPolicy`).
pub const MEMORY_POLICY_MODES: &[(&str, libc::c_int)] = &[
    ("MPOL_DEFAULT", 0),
    ("MPOL_PREFERRED", 1),
    ("MPOL_BIND", 2),
    ("MPOL_INTERLEAVE", 3),
    ("MPOL_LOCAL", 4),
    ("MPOL_PREFERRED_MANY", 5),
    ("MPOL_WEIGHTED_INTERLEAVE", 6),
];

/// set_mempolicy(2) mode flags by OCI name.
pub const MEMORY_POLICY_FLAGS: &[(&str, libc::c_int)] = &[
    ("MPOL_F_NUMA_BALANCING", 1 << 13),
    ("MPOL_F_RELATIVE_NODES", 1 << 14),
    ("MPOL_F_STATIC_NODES", 1 << 15),
];

/// `linux.memoryPolicy`: the process's NUMA policy (inherited across fork and exec).
pub fn set_memory_policy(p: &crate::config::MemoryPolicy) -> Result<()> {
    let mut mode = lookup(MEMORY_POLICY_MODES, &p.mode, "memory policy mode", "set_mempolicy")?;
    for f in &p.flags {
        mode |= lookup(MEMORY_POLICY_FLAGS, f, "memory policy flag", "set_mempolicy")?;
    }
    // A node list as the CPU lists are written; 1024 nodes (MAX_NUMNODES's usual bound).
    let mut mask = [0u64; 16];
    if let Some(nodes) = p.nodes.as_deref().filter(|n| !n.trim().is_empty()) {
        for n in parse_cpus(nodes).map_err(|_| InitError::msg("set_mempolicy", nodes, "not a node list (like 0-3,7)"))? {
            let slot = mask.get_mut(n / 64).ok_or_else(|| InitError::msg("set_mempolicy", nodes, "node number too large"))?;
            *slot |= 1 << (n % 64);
        }
    }
    let empty = mask.iter().all(|w| *w == 0);
    let (ptr, max) = if empty { (std::ptr::null(), 0) } else { (mask.as_ptr(), (mask.len() * 64) as libc::c_ulong) };
    // SAFETY: set_mempolicy(mode, a node mask of `max` bits or none).
    if unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, max) } < 0 {
        return Err(InitError::sys("set_mempolicy", &p.mode, Errno::last()));
    }
    Ok(())
}

/// A CPU list as the spec and cpuset write it ("0-3,7") as the CPU numbers.
pub fn parse_cpus(list: &str) -> Result<Vec<usize>> {
    let bad = || InitError::msg("sched_setaffinity", list, "not a CPU list (like 0-3,7)");
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (usize, usize) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b || b >= libc::CPU_SETSIZE as usize {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// `process.execCPUAffinity`: the calling thread's CPUs (runc 1.2: `initial` for the init
/// before it joins the container's cgroup, `final` right before execve).
pub fn set_affinity(list: &str) -> Result<()> {
    let cpus = parse_cpus(list)?;
    // SAFETY: a zeroed cpu_set_t, filled with CPU_SET, passed with its size.
    let r = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if r < 0 {
        return Err(InitError::sys("sched_setaffinity", list, Errno::last()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("0-3,7").unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(parse_cpus(" 1 ").unwrap(), vec![1]);
        for bad in ["", "a", "3-1", "1,,x", "100000"] {
            assert!(parse_cpus(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attr_from_names() {
        let s = Scheduler {
            policy: "SCHED_DEADLINE".into(),
            flags: vec!["SCHED_FLAG_RESET_ON_FORK".into(), "SCHED_FLAG_DL_OVERRUN".into()],
            runtime: Some(1_000_000),
            deadline: Some(5_000_000),
            period: Some(10_000_000),
            ..Default::default()
        };
        let a = sched_attr(&s).unwrap();
        assert_eq!((a.size, a.policy, a.flags, a.runtime, a.deadline, a.period), (48, 6, 5, 1_000_000, 5_000_000, 10_000_000));
        let bad = Scheduler { policy: "SCHED_NOPE".into(), ..Default::default() };
        assert!(sched_attr(&bad).unwrap_err().to_string().contains("unknown scheduler policy"));
        let e = set_personality(&Personality { domain: "LINUX".into(), flags: vec!["X".into()] }).unwrap_err();
        assert!(e.to_string().contains("not supported"));
    }
}
