//! v1 pids (runc fs/pids.go): `pids.max`, a number or "max" for a negative limit.

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::cgroups::stats::Stats;
use crate::error::Result;

pub fn needs(r: &Resources) -> bool {
    r.pids_limit.unwrap_or(0) != 0
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    match r.pids_limit.unwrap_or(0) {
        0 => Ok(()),
        l if l > 0 => fs::write_file(dir, "pids.max", &l.to_string()),
        _ => fs::write_file(dir, "pids.max", "max"),
    }
}

/// `pids.current`, and `pids.max` with "max" as 0 (no limit). Shared with v2 (same files).
pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    if !fs::exists(dir) {
        return Ok(());
    }
    s.pids.current = fs::read_u64(dir, "pids.current")?;
    let max = fs::read_file(dir, "pids.max")?;
    s.pids.limit = if max.trim() == "max" {
        0
    } else {
        fs::read_u64(dir, "pids.max")?
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::fs::testutil::FakeDir;

    #[test]
    fn limit_values() {
        let d = FakeDir::new(&[("pids.max", "")]);
        for (lim, want) in [
            (Some(10), "10"),
            (Some(-1), "max"),
            (None, "max"),
            (Some(0), "max"),
        ] {
            set(
                d.path(),
                &Resources {
                    pids_limit: lim,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(d.get("pids.max"), want);
        }
    }

    #[test]
    fn stats_max_is_zero() {
        let d = FakeDir::new(&[("pids.current", "3\n"), ("pids.max", "max\n")]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        assert_eq!((s.pids.current, s.pids.limit), (3, 0));
    }
}
