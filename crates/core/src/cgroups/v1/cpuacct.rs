//! v1 cpuacct: CPU usage statistics only (runc fs/cpuacct.go).

use crate::cgroups::fs;
use crate::cgroups::stats::Stats;
use crate::error::Result;

const NS_PER_SEC: u64 = 1_000_000_000;

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    if !fs::exists(dir) {
        return Ok(());
    }
    // cpuacct.stat is in USER_HZ ticks.
    let ticks = clock_ticks();
    for (k, v) in fs::parse_flat_keyed(&fs::read_file(dir, "cpuacct.stat")?) {
        match k.as_str() {
            "user" => s.cpu.usage.user = v * NS_PER_SEC / ticks,
            "system" => s.cpu.usage.kernel = v * NS_PER_SEC / ticks,
            _ => {}
        }
    }
    s.cpu.usage.total = fs::read_u64(dir, "cpuacct.usage")?;
    s.cpu.usage.percpu = fs::read_file(dir, "cpuacct.usage_percpu")?
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    // "cpu user system" then one line per cpu; absent before kernel 4.7.
    if let Ok(all) = fs::read_file(dir, "cpuacct.usage_all") {
        let (mut k, mut u) = (Vec::new(), Vec::new());
        for line in all.lines().skip(1) {
            let f: Vec<u64> = line
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            if f.len() == 3 {
                u.push(f[1]);
                k.push(f[2]);
            }
        }
        s.cpu.usage.percpu_kernel = k;
        s.cpu.usage.percpu_user = u;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::fs::testutil::FakeDir;

    #[test]
    fn usage() {
        let d = FakeDir::new(&[
            ("cpuacct.stat", "user 10\nsystem 20\n"),
            ("cpuacct.usage", "12345\n"),
            ("cpuacct.usage_percpu", "5 7 \n"),
            ("cpuacct.usage_all", "cpu user system\n0 1 2\n1 3 4\n"),
        ]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        let t = clock_ticks();
        assert_eq!(s.cpu.usage.user, 10 * NS_PER_SEC / t);
        assert_eq!(s.cpu.usage.kernel, 20 * NS_PER_SEC / t);
        assert_eq!(s.cpu.usage.total, 12345);
        assert_eq!(s.cpu.usage.percpu, vec![5, 7]);
        assert_eq!(s.cpu.usage.percpu_user, vec![1, 3]);
        assert_eq!(s.cpu.usage.percpu_kernel, vec![2, 4]);
    }
}
