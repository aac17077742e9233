//! v2 cpu (runc fs2/cpu.go): cpu.idle, cpu.weight converted from the OCI shares, cpu.max
//! "<quota|max> <period>" and cpu.max.burst.

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::cgroups::stats::Stats;
use crate::error::Result;
use nix::errno::Errno;

/// runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] linearly onto [1, 10000]
/// (y = 1 + ((x - 2) * 9999) / 262142); 0 stays "unset". Below 2 is clamped to 2, as the v1
/// kernel does with shares.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.max(2) - 2) * 9999) / 262142
}

pub fn needs(r: &Resources) -> bool {
    r.cpu.as_ref().map(|c| {
        c.shares.unwrap_or(0) != 0
            || c.quota.unwrap_or(0) != 0
            || c.period.unwrap_or(0) != 0
            || c.idle.is_some()
            || c.burst.is_some()
    }) == Some(true)
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    let Some(c) = &r.cpu else { return Ok(()) };
    if !needs(r) {
        return Ok(());
    }
    if let Some(idle) = c.idle {
        fs::write_file(dir, "cpu.idle", &idle.to_string())?;
    }
    let weight = shares_to_weight(c.shares.unwrap_or(0).max(0) as u64);
    if weight != 0 {
        fs::write_file(dir, "cpu.weight", &weight.to_string())?;
    }
    let quota = c.quota.unwrap_or(0);
    let period = c.period.unwrap_or(0);
    let mut burst = String::new();
    if let Some(b) = c.burst {
        burst = b.to_string();
        match fs::write_file(dir, "cpu.max.burst", &burst) {
            Ok(()) => burst.clear(),
            // A burst above the old quota is refused until the new quota is in: retry after.
            Err(e) if fs::errno_of(&e) == Errno::EINVAL && quota != 0 => {}
            Err(e) => return Err(e),
        }
    }
    if quota != 0 || period != 0 {
        let q = if quota > 0 {
            quota.to_string()
        } else {
            "max".into()
        };
        // The kernel's default period (Documentation/admin-guide/cgroup-v2.rst).
        let p = if period != 0 { period } else { 100000 };
        fs::write_file(dir, "cpu.max", &format!("{q} {p}"))?;
        if !burst.is_empty() {
            fs::write_file(dir, "cpu.max.burst", &burst)?;
        }
    }
    Ok(())
}

pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    for (k, v) in fs::parse_flat_keyed(&fs::read_file(dir, "cpu.stat")?) {
        match k.as_str() {
            "usage_usec" => s.cpu.usage.total = v * 1000,
            "user_usec" => s.cpu.usage.user = v * 1000,
            "system_usec" => s.cpu.usage.kernel = v * 1000,
            "nr_periods" => s.cpu.throttling.periods = v,
            "nr_throttled" => s.cpu.throttling.throttled_periods = v,
            "throttled_usec" => s.cpu.throttling.throttled_time = v * 1000,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::Cpu;
    use crate::cgroups::fs::testutil::{written, FakeDir};

    #[test]
    fn weight_formula() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262144), 10000);
    }

    #[test]
    fn writes_in_order() {
        let d = FakeDir::new(&[
            ("cpu.idle", ""),
            ("cpu.weight", ""),
            ("cpu.max", ""),
            ("cpu.max.burst", ""),
        ]);
        let r = Resources {
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(50000),
                burst: Some(100),
                idle: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        let w: Vec<String> = written();
        assert_eq!(
            w,
            [
                "cpu.idle=0",
                "cpu.weight=39",
                "cpu.max.burst=100",
                "cpu.max=50000 100000"
            ]
        );
        set(
            d.path(),
            &Resources {
                cpu: Some(Cpu {
                    quota: Some(-1),
                    period: Some(50000),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.get("cpu.max"), "max 50000");
    }

    #[test]
    fn usage_stats_in_ns() {
        let d = FakeDir::new(&[("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 1\nnr_throttled 1\nthrottled_usec 2\n")]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        assert_eq!(
            (
                s.cpu.usage.total,
                s.cpu.usage.user,
                s.cpu.usage.kernel,
                s.cpu.throttling.throttled_time
            ),
            (10000, 6000, 4000, 2000)
        );
    }
}
