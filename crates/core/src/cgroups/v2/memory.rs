//! v2 memory (runc fs2/memory.go): memory.max, memory.low (reservation) and memory.swap.max,
//! which on v2 is swap alone while OCI's value is memory+swap (ConvertMemorySwapToCgroupV2Value).

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::cgroups::stats::{MemoryEntry, Stats};
use crate::error::{InitError, Result};
use nix::errno::Errno;

/// 0 is "not set" (""), -1 is "max".
fn num_to_str(v: i64) -> String {
    match v {
        0 => String::new(),
        -1 => "max".into(),
        v => v.to_string(),
    }
}

/// runc's ConvertMemorySwapToCgroupV2Value(memorySwap, memory).
pub fn swap_to_v2(swap: i64, memory: i64) -> std::result::Result<i64, String> {
    match () {
        // Unlimited memory and no explicit swap: unlimited swap too (v1 compatibility).
        _ if memory == -1 && swap == 0 => Ok(-1),
        _ if swap == -1 || swap == 0 => Ok(swap),
        _ if memory == -1 => Ok(swap),
        _ if memory == 0 => Err("unable to set swap limit without memory limit".into()),
        _ if memory < 0 => Err(format!("invalid memory value: {memory}")),
        _ if swap < memory => Err("memory+swap limit should be >= memory limit".into()),
        _ => Ok(swap - memory),
    }
}

pub fn needs(r: &Resources) -> bool {
    r.memory.as_ref().map(|m| {
        m.limit.unwrap_or(0) != 0 || m.swap.unwrap_or(0) != 0 || m.reservation.unwrap_or(0) != 0
    }) == Some(true)
}

/// checkBeforeUpdate: refuse a limit at or below the current usage (on v2 the kernel would
/// OOM-kill instead of refusing like v1). Best effort: an unreadable usage passes.
pub fn check_usage(dir: &str, r: &Resources) -> Result<()> {
    let Some(m) = &r.memory else { return Ok(()) };
    if m.check_before_update != Some(true) {
        return Ok(());
    }
    let (limit, swap) = (m.limit.unwrap_or(0), m.swap.unwrap_or(0));
    if limit <= 0 && swap <= 0 {
        return Ok(());
    }
    let Ok(usage) = fs::read_u64(dir, "memory.current") else {
        return Ok(());
    };
    if swap > 0 && swap as u64 <= usage {
        return Err(InitError::msg(
            "set memory limit",
            fs::join(dir, "memory.swap.max"),
            format!("rejecting memory+swap limit {swap} <= usage {usage}"),
        ));
    }
    if limit > 0 && limit as u64 <= usage {
        return Err(InitError::msg(
            "set memory limit",
            fs::join(dir, "memory.max"),
            format!("rejecting memory limit {limit} <= usage {usage}"),
        ));
    }
    Ok(())
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    let Some(m) = &r.memory else { return Ok(()) };
    if !needs(r) {
        return Ok(());
    }
    check_usage(dir, r)?;
    let (limit, swap_in) = (m.limit.unwrap_or(0), m.swap.unwrap_or(0));
    let swap = swap_to_v2(swap_in, limit).map_err(|d| {
        InitError::msg("set memory swap limit", fs::join(dir, "memory.swap.max"), d)
    })?;
    let mut swap_str = num_to_str(swap);
    if swap_str.is_empty() && swap == 0 && swap_in > 0 {
        // memory == memory+swap: no swap at all.
        swap_str = "0".into();
    }
    // Never write "" to memory.swap.max: that means 0.
    if !swap_str.is_empty() {
        match fs::write_file(dir, "memory.swap.max", &swap_str) {
            // No swap accounting: "max" or "0" are what we have anyway.
            Err(e)
                if fs::errno_of(&e) == Errno::ENOENT && (swap_str == "max" || swap_str == "0") => {}
            r => r?,
        }
    }
    let v = num_to_str(limit);
    if !v.is_empty() {
        fs::write_file(dir, "memory.max", &v)?;
    }
    let v = num_to_str(m.reservation.unwrap_or(0));
    if !v.is_empty() {
        fs::write_file(dir, "memory.low", &v)?;
    }
    Ok(())
}

fn data(dir: &str, name: &str) -> Result<Option<MemoryEntry>> {
    let module = if name.is_empty() {
        "memory".to_string()
    } else {
        format!("memory.{name}")
    };
    let usage = match fs::read_u64(dir, &format!("{module}.current")) {
        Ok(v) => v,
        Err(e) if !name.is_empty() && fs::errno_of(&e) == Errno::ENOENT => return Ok(None),
        Err(e) => return Err(e),
    };
    let limit = fs::read_u64(dir, &format!("{module}.max"))?;
    // memory.peak since Linux 5.19, memory.swap.peak since 6.5.
    let max = match fs::read_u64(dir, &format!("{module}.peak")) {
        Ok(v) => v,
        Err(e) if fs::errno_of(&e) == Errno::ENOENT => 0,
        Err(e) => return Err(e),
    };
    Ok(Some(MemoryEntry {
        limit,
        usage,
        max,
        failcnt: 0,
    }))
}

pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    for (k, v) in fs::parse_flat_keyed(&fs::read_file(dir, "memory.stat")?) {
        s.memory.raw.insert(k, v);
    }
    s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
    let mem = data(dir, "")?.unwrap_or_default();
    // v1 reports swap as memory+swap; do the same (runc >= 1.2).
    let swap_only = data(dir, "swap")?.unwrap_or_default();
    let mut swap = swap_only.clone();
    swap.usage += mem.usage;
    if swap.limit != u64::MAX {
        swap.limit = swap.limit.saturating_add(mem.limit);
    }
    swap.max = 0;
    s.memory.usage = mem;
    s.memory.swap = swap;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::Memory;
    use crate::cgroups::fs::testutil::FakeDir;

    #[test]
    fn swap_conversion_like_runc() {
        assert_eq!(swap_to_v2(0, -1), Ok(-1));
        assert_eq!(swap_to_v2(-1, 100), Ok(-1));
        assert_eq!(swap_to_v2(0, 100), Ok(0));
        assert_eq!(swap_to_v2(300, -1), Ok(300));
        assert!(swap_to_v2(300, 0).is_err());
        assert!(swap_to_v2(100, 300).is_err());
        assert_eq!(swap_to_v2(300, 100), Ok(200));
        assert_eq!(swap_to_v2(100, 100), Ok(0));
    }

    fn files() -> FakeDir {
        FakeDir::new(&[
            ("memory.max", ""),
            ("memory.low", ""),
            ("memory.swap.max", ""),
            ("memory.current", "1000"),
        ])
    }

    #[test]
    fn writes_max_low_swap() {
        let d = files();
        let r = Resources {
            memory: Some(Memory {
                limit: Some(1 << 20),
                swap: Some(3 << 20),
                reservation: Some(4096),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        assert_eq!(
            (
                d.get("memory.max"),
                d.get("memory.swap.max"),
                d.get("memory.low")
            ),
            ("1048576".into(), "2097152".into(), "4096".into())
        );
        // memory == memory+swap: no swap.
        let r = Resources {
            memory: Some(Memory {
                limit: Some(1 << 20),
                swap: Some(1 << 20),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        assert_eq!(d.get("memory.swap.max"), "0");
        let r = Resources {
            memory: Some(Memory {
                limit: Some(-1),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        assert_eq!(
            (d.get("memory.max"), d.get("memory.swap.max")),
            ("max".into(), "max".into())
        );
    }

    #[test]
    fn check_before_update() {
        let d = files();
        let r = Resources {
            memory: Some(Memory {
                limit: Some(500),
                check_before_update: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(set(d.path(), &r)
            .unwrap_err()
            .to_string()
            .contains("rejecting memory limit 500 <= usage 1000"));
        let r = Resources {
            memory: Some(Memory {
                limit: Some(500),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
    }

    #[test]
    fn stats_combine_swap() {
        let d = FakeDir::new(&[
            ("memory.stat", "anon 1\nfile 2\n"),
            ("memory.current", "100"),
            ("memory.max", "max"),
            ("memory.peak", "150"),
            ("memory.swap.current", "10"),
            ("memory.swap.max", "max"),
        ]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        assert_eq!(s.memory.cache, 2);
        assert_eq!(
            s.memory.usage,
            MemoryEntry {
                limit: u64::MAX,
                usage: 100,
                max: 150,
                failcnt: 0
            }
        );
        assert_eq!(
            s.memory.swap,
            MemoryEntry {
                limit: u64::MAX,
                usage: 110,
                max: 0,
                failcnt: 0
            }
        );
    }
}
