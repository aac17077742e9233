//! v1 cpuset (runc fs/cpuset.go). A new cpuset cgroup starts with empty `cpuset.cpus` and
//! `cpuset.mems`, and the kernel refuses tasks in it; runc fills every level it creates from
//! its parent, top-down, unless the spec sets them.

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::cgroups::stats::{parse_cpu_list, Stats};
use crate::error::{InitError, Result};
use nix::errno::Errno;

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    let Some(cpu) = &r.cpu else { return Ok(()) };
    if let Some(cpus) = cpu.cpus.as_deref().filter(|s| !s.is_empty()) {
        fs::write_file(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = cpu.mems.as_deref().filter(|s| !s.is_empty()) {
        fs::write_file(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}

pub fn needs(r: &Resources) -> bool {
    r.cpu
        .as_ref()
        .map(|c| {
            !c.cpus.as_deref().unwrap_or("").is_empty()
                || !c.mems.as_deref().unwrap_or("").is_empty()
        })
        .unwrap_or(false)
}

fn is_empty(s: &str) -> bool {
    s.is_empty() || s == "\n"
}

/// Copies `cpuset.cpus`/`cpuset.mems` from `parent` into `current` where `current`'s are empty.
pub fn copy_if_needed(current: &str, parent: &str) -> Result<()> {
    let (cc, cm) = (
        fs::read_file(current, "cpuset.cpus")?,
        fs::read_file(current, "cpuset.mems")?,
    );
    let (pc, pm) = (
        fs::read_file(parent, "cpuset.cpus")?,
        fs::read_file(parent, "cpuset.mems")?,
    );
    if is_empty(&cc) {
        fs::write_file(current, "cpuset.cpus", &pc)?;
    }
    if is_empty(&cm) {
        fs::write_file(current, "cpuset.mems", &pm)?;
    }
    Ok(())
}

fn parent_of(p: &str) -> String {
    match p.trim_end_matches('/').rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => p[..i].into(),
    }
}

/// Creates the levels above `current` down from the hierarchy's mount point, each filled from
/// its parent (runc's cpusetEnsureParent).
fn ensure_parent(current: &str) -> Result<()> {
    let parent = parent_of(current);
    match nix::sys::statfs::statfs(parent.as_str()) {
        Ok(st) if st.filesystem_type() != nix::sys::statfs::CGROUP_SUPER_MAGIC => return Ok(()),
        Ok(_) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(InitError::sys("statfs", parent, e)),
    }
    ensure_parent(&parent)?;
    fs::mkdir(current)?;
    copy_if_needed(current, &parent)
}

/// Creates the container's cpuset cgroup ready for tasks: parents filled, the spec's cpus/mems
/// written, the rest inherited (runc's ApplyDir; not inheriting explicitly at the leaf keeps
/// `cpuset.cpu_exclusive` parents working).
pub fn create(dir: &str, r: &Resources) -> Result<()> {
    ensure_parent(&parent_of(dir))?;
    fs::mkdir(dir)?;
    set(dir, r)?;
    copy_if_needed(dir, &parent_of(dir))
}

pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    let opt = |r: Result<String>| match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if fs::errno_of(&e) == Errno::ENOENT => Ok(None),
        Err(e) => Err(e),
    };
    let num = |f: &str| -> Result<u64> {
        Ok(opt(fs::read_file(dir, f))?
            .and_then(|v| fs::parse_u64(v.trim()))
            .unwrap_or(0))
    };
    let c = &mut s.cpuset;
    if let Some(v) = opt(fs::read_file(dir, "cpuset.cpus"))? {
        c.cpus = parse_cpu_list(&v);
    }
    if let Some(v) = opt(fs::read_file(dir, "cpuset.mems"))? {
        c.mems = parse_cpu_list(&v);
    }
    c.cpu_exclusive = num("cpuset.cpu_exclusive")?;
    c.mem_hardwall = num("cpuset.mem_hardwall")?;
    c.mem_exclusive = num("cpuset.mem_exclusive")?;
    c.memory_migrate = num("cpuset.memory_migrate")?;
    c.memory_spread_page = num("cpuset.memory_spread_page")?;
    c.memory_spread_slab = num("cpuset.memory_spread_slab")?;
    c.memory_pressure = num("cpuset.memory_pressure")?;
    c.sched_load_balance = num("cpuset.sched_load_balance")?;
    if let Some(v) = opt(fs::read_file(dir, "cpuset.sched_relax_domain_level"))? {
        c.sched_relax_domain_level = v.trim().parse().unwrap_or(0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::Cpu;
    use crate::cgroups::fs::testutil::FakeDir;

    #[test]
    fn writes_cpus_and_mems_when_set() {
        let d = FakeDir::new(&[("cpuset.cpus", ""), ("cpuset.mems", "")]);
        let r = Resources {
            cpu: Some(Cpu {
                cpus: Some("0-1".into()),
                mems: Some("0".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        assert_eq!(
            (d.get("cpuset.cpus"), d.get("cpuset.mems")),
            ("0-1".into(), "0".into())
        );
        let d = FakeDir::new(&[("cpuset.cpus", "x"), ("cpuset.mems", "y")]);
        set(d.path(), &Resources::default()).unwrap();
        assert_eq!(d.get("cpuset.cpus"), "x");
    }

    #[test]
    fn inherits_empty_values_from_parent() {
        let p = FakeDir::new(&[("cpuset.cpus", "0-3\n"), ("cpuset.mems", "0\n")]);
        let c = format!("{}/child", p.path());
        std::fs::create_dir(&c).unwrap();
        std::fs::write(format!("{c}/cpuset.cpus"), "\n").unwrap();
        std::fs::write(format!("{c}/cpuset.mems"), "1\n").unwrap();
        copy_if_needed(&c, p.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(format!("{c}/cpuset.cpus")).unwrap(),
            "0-3\n"
        );
        assert_eq!(
            std::fs::read_to_string(format!("{c}/cpuset.mems")).unwrap(),
            "1\n"
        );
    }
}
