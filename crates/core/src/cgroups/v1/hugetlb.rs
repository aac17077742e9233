//! v1 hugetlb: `hugetlb.<size>.limit_in_bytes`, and the reservation limit
//! `hugetlb.<size>.rsvd.limit_in_bytes` to the same value where the kernel has it (runc 1.2).

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::cgroups::stats::{huge_page_sizes, Hugetlb, Stats};
use crate::error::Result;
use nix::errno::Errno;

pub fn needs(r: &Resources) -> bool {
    r.hugepage_limits
        .as_ref()
        .map(|v| !v.is_empty())
        .unwrap_or(false)
}

/// Shared with v2, which uses the suffix ".max".
pub fn set_with_suffix(dir: &str, r: &Resources, suffix: &str) -> Result<()> {
    let mut skip_rsvd = false;
    for l in r.hugepage_limits.iter().flatten() {
        let prefix = format!("hugetlb.{}", l.page_size);
        let val = l.limit.to_string();
        fs::write_file(dir, &format!("{prefix}{suffix}"), &val)?;
        if skip_rsvd {
            continue;
        }
        match fs::write_file(dir, &format!("{prefix}.rsvd{suffix}"), &val) {
            Err(e) if fs::errno_of(&e) == Errno::ENOENT => skip_rsvd = true,
            r => r?,
        }
    }
    Ok(())
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    set_with_suffix(dir, r, ".limit_in_bytes")
}

pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    if !fs::exists(dir) {
        return Ok(());
    }
    for size in huge_page_sizes() {
        let f = |x: &str| fs::read_u64(dir, &format!("hugetlb.{size}.{x}"));
        s.hugetlb.insert(
            size.clone(),
            Hugetlb {
                usage: f("usage_in_bytes")?,
                max: f("max_usage_in_bytes")?,
                failcnt: f("failcnt")?,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::HugepageLimit;
    use crate::cgroups::fs::testutil::{written, FakeDir};

    #[test]
    fn limits_and_rsvd() {
        let d = FakeDir::new(&[
            ("hugetlb.2MB.limit_in_bytes", ""),
            ("hugetlb.2MB.rsvd.limit_in_bytes", ""),
            ("hugetlb.1GB.limit_in_bytes", ""),
        ]);
        let r = Resources {
            hugepage_limits: Some(vec![
                HugepageLimit {
                    page_size: "2MB".into(),
                    limit: 4194304,
                },
                HugepageLimit {
                    page_size: "1GB".into(),
                    limit: 0,
                },
            ]),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        let w: Vec<String> = written();
        assert_eq!(
            w,
            [
                "hugetlb.2MB.limit_in_bytes=4194304",
                "hugetlb.2MB.rsvd.limit_in_bytes=4194304",
                "hugetlb.1GB.limit_in_bytes=0",
                "hugetlb.1GB.rsvd.limit_in_bytes=0"
            ]
        );
    }
}
