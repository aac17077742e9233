//! v1 memory (runc fs/memory.go): the limit and memory+swap limit written in the order the
//! kernel accepts (memsw must stay >= limit at every step), the soft limit, the OOM killer
//! switch and swappiness; statistics from the usage files and memory.stat.

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::cgroups::stats::{MemoryEntry, Stats};
use crate::error::{InitError, Result};
use nix::errno::Errno;

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

fn set_memory(dir: &str, val: i64) -> Result<()> {
    if val == 0 {
        return Ok(());
    }
    match fs::write_file(dir, LIMIT, &val.to_string()) {
        Err(e) if fs::errno_of(&e) == Errno::EBUSY => {
            // The kernel refuses a limit below the current usage: say so.
            let usage = fs::read_u64(dir, "memory.usage_in_bytes")?;
            let max = fs::read_u64(dir, "memory.max_usage_in_bytes")?;
            Err(e.with_detail(format!(
                "unable to set memory limit to {val} (current usage: {usage}, peak usage: {max})"
            )))
        }
        r => r,
    }
}

fn set_swap(dir: &str, val: i64) -> Result<()> {
    if val == 0 {
        return Ok(());
    }
    fs::write_file(dir, MEMSW, &val.to_string())
}

fn set_memory_and_swap(dir: &str, limit: i64, mut swap: i64) -> Result<()> {
    // An unlimited memory without an explicit swap means unlimited swap too, where the kernel
    // has swap accounting.
    if limit == -1 && swap == 0 && fs::exists(&fs::join(dir, MEMSW)) {
        swap = -1;
    }
    if limit != 0 && swap != 0 {
        let cur = fs::read_u64(dir, LIMIT)?;
        // Raising: swap first, so memsw >= limit holds after each write.
        if swap == -1 || cur < swap as u64 {
            set_swap(dir, swap)?;
            return set_memory(dir, limit);
        }
    }
    set_memory(dir, limit)?;
    set_swap(dir, swap)
}

pub fn needs(r: &Resources) -> bool {
    r.memory.as_ref().map(|m| {
        m.limit.unwrap_or(0) != 0
            || m.swap.unwrap_or(0) != 0
            || m.reservation.unwrap_or(0) != 0
            || m.disable_oom_killer == Some(true)
            || m.swappiness.map(|s| s != -1).unwrap_or(false)
            || m.kernel.unwrap_or(0) != 0
            || m.kernel_tcp.unwrap_or(0) != 0
    }) == Some(true)
}

/// Writes a kernel-memory limit where the kernel still has the file; kmem.limit_in_bytes
/// answers EOPNOTSUPP since Linux 5.16 (deprecated), which is not an error.
fn set_kernel(dir: &str, file: &str, val: i64) -> Result<()> {
    if val == 0 || !fs::exists(&fs::join(dir, file)) {
        return Ok(());
    }
    match fs::write_file(dir, file, &val.to_string()) {
        Err(e) if fs::errno_of(&e) == Errno::EOPNOTSUPP => Ok(()),
        r => r,
    }
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    let Some(m) = &r.memory else { return Ok(()) };
    set_memory_and_swap(dir, m.limit.unwrap_or(0), m.swap.unwrap_or(0))?;
    set_kernel(dir, "memory.kmem.limit_in_bytes", m.kernel.unwrap_or(0))?;
    set_kernel(
        dir,
        "memory.kmem.tcp.limit_in_bytes",
        m.kernel_tcp.unwrap_or(0),
    )?;
    if let Some(res) = m.reservation.filter(|v| *v != 0) {
        fs::write_file(dir, "memory.soft_limit_in_bytes", &res.to_string())?;
    }
    if m.disable_oom_killer == Some(true) {
        fs::write_file(dir, "memory.oom_control", "1")?;
    }
    match m.swappiness {
        None | Some(-1) => {}
        Some(s @ 0..=100) => fs::write_file(dir, "memory.swappiness", &s.to_string())?,
        Some(s) => {
            return Err(InitError::msg(
                "set memory swappiness",
                fs::join(dir, "memory.swappiness"),
                format!("invalid value {s}: valid memory swappiness range is 0-100"),
            ))
        }
    }
    Ok(())
}

fn memory_data(dir: &str, name: &str) -> Result<MemoryEntry> {
    let module = if name.is_empty() {
        "memory".to_string()
    } else {
        format!("memory.{name}")
    };
    let usage = match fs::read_u64(dir, &format!("{module}.usage_in_bytes")) {
        Ok(v) => v,
        // swap and kmem accounting are optional in the kernel.
        Err(e) if !name.is_empty() && fs::errno_of(&e) == Errno::ENOENT => {
            return Ok(MemoryEntry::default())
        }
        Err(e) => return Err(e),
    };
    Ok(MemoryEntry {
        usage,
        max: fs::read_u64(dir, &format!("{module}.max_usage_in_bytes"))?,
        failcnt: fs::read_u64(dir, &format!("{module}.failcnt"))?,
        limit: fs::read_u64(dir, &format!("{module}.limit_in_bytes"))?,
    })
}

pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    let text = match fs::read_file(dir, "memory.stat") {
        Ok(t) => t,
        Err(e) if fs::errno_of(&e) == Errno::ENOENT => return Ok(()),
        Err(e) => return Err(e),
    };
    for (k, v) in fs::parse_flat_keyed(&text) {
        s.memory.raw.insert(k, v);
    }
    s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
    s.memory.usage = memory_data(dir, "")?;
    s.memory.swap = memory_data(dir, "memsw")?;
    s.memory.kernel = memory_data(dir, "kmem")?;
    s.memory.kernel_tcp = memory_data(dir, "kmem.tcp")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::Memory;
    use crate::cgroups::fs::testutil::{written, FakeDir};

    fn files(cur_limit: &str) -> FakeDir {
        FakeDir::new(&[
            (LIMIT, cur_limit),
            (MEMSW, ""),
            ("memory.soft_limit_in_bytes", ""),
            ("memory.oom_control", ""),
            ("memory.swappiness", ""),
            ("memory.kmem.tcp.limit_in_bytes", ""),
        ])
    }

    fn res(m: Memory) -> Resources {
        Resources {
            memory: Some(m),
            ..Default::default()
        }
    }

    fn w() -> Vec<String> {
        written()
    }

    #[test]
    fn raising_writes_swap_first() {
        let d = files("9223372036854771712");
        set(
            d.path(),
            &res(Memory {
                limit: Some(1 << 30),
                swap: Some(2 << 30),
                ..Default::default()
            }),
        )
        .unwrap();
        // current limit (max) is not < swap: memory first.
        assert_eq!(
            w(),
            [format!("{LIMIT}=1073741824"), format!("{MEMSW}=2147483648")]
        );
        let d = files("1048576");
        set(
            d.path(),
            &res(Memory {
                limit: Some(1 << 30),
                swap: Some(2 << 30),
                ..Default::default()
            }),
        )
        .unwrap();
        assert_eq!(
            w(),
            [format!("{MEMSW}=2147483648"), format!("{LIMIT}=1073741824")]
        );
    }

    #[test]
    fn unlimited_memory_means_unlimited_swap() {
        let d = files("1048576");
        set(
            d.path(),
            &res(Memory {
                limit: Some(-1),
                ..Default::default()
            }),
        )
        .unwrap();
        assert_eq!(w(), [format!("{MEMSW}=-1"), format!("{LIMIT}=-1")]);
    }

    #[test]
    fn reservation_oom_swappiness_kernel_tcp() {
        let d = files("0");
        set(
            d.path(),
            &res(Memory {
                reservation: Some(4096),
                disable_oom_killer: Some(true),
                swappiness: Some(10),
                kernel_tcp: Some(8192),
                kernel: Some(1),
                ..Default::default()
            }),
        )
        .unwrap();
        // kmem.limit_in_bytes does not exist in the fake: skipped.
        assert_eq!(
            w(),
            [
                "memory.kmem.tcp.limit_in_bytes=8192",
                "memory.soft_limit_in_bytes=4096",
                "memory.oom_control=1",
                "memory.swappiness=10"
            ]
        );
        assert!(set(
            d.path(),
            &res(Memory {
                swappiness: Some(101),
                ..Default::default()
            })
        )
        .is_err());
        set(
            d.path(),
            &res(Memory {
                swappiness: Some(-1),
                ..Default::default()
            }),
        )
        .unwrap();
        assert!(w().is_empty());
    }

    #[test]
    fn stats_from_files() {
        let d = FakeDir::new(&[
            ("memory.stat", "cache 10\nrss 20\n"),
            ("memory.usage_in_bytes", "100"),
            ("memory.max_usage_in_bytes", "200"),
            ("memory.failcnt", "1"),
            ("memory.limit_in_bytes", "9223372036854771712"),
        ]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        assert_eq!(s.memory.cache, 10);
        assert_eq!(
            s.memory.usage,
            MemoryEntry {
                limit: 9223372036854771712,
                usage: 100,
                max: 200,
                failcnt: 1
            }
        );
        assert_eq!(s.memory.swap, MemoryEntry::default());
        assert_eq!(s.memory.raw.get("rss"), Some(&20));
    }
}
