//! v1 blkio (runc fs/blkio.go): weights (CFQ's blkio.weight, or BFQ's blkio.bfq.weight when
//! only that exists), per-device weights and the four throttles, one line per device.

use crate::cgroups::config::{Resources, ThrottleDevice};
use crate::cgroups::fs;
use crate::cgroups::stats::{BlkioEntry, Stats};
use crate::error::{InitError, Result};

pub fn needs(r: &Resources) -> bool {
    r.block_io.as_ref().map(|b| {
        b.weight.unwrap_or(0) != 0
            || b.leaf_weight.unwrap_or(0) != 0
            || b.has_device_rules()
    }) == Some(true)
}

fn throttle(dir: &str, file: &str, list: &Option<Vec<ThrottleDevice>>) -> Result<()> {
    for t in list.iter().flatten() {
        fs::write_file(dir, file, &format!("{}:{} {}", t.major, t.minor, t.rate))?;
    }
    Ok(())
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    let Some(b) = &r.block_io else { return Ok(()) };
    let (weight_file, weight_device_file) = if fs::exists(&fs::join(dir, "blkio.weight")) {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    if let Some(w) = b.weight.filter(|w| *w != 0) {
        fs::write_file(dir, weight_file, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight.filter(|w| *w != 0) {
        fs::write_file(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for wd in b.weight_device.iter().flatten() {
        if let Some(w) = wd.weight.filter(|w| *w != 0) {
            fs::write_file(
                dir,
                weight_device_file,
                &format!("{}:{} {}", wd.major, wd.minor, w),
            )?;
        }
        if let Some(w) = wd.leaf_weight.filter(|w| *w != 0) {
            fs::write_file(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {}", wd.major, wd.minor, w),
            )?;
        }
    }
    throttle(
        dir,
        "blkio.throttle.read_bps_device",
        &b.throttle_read_bps_device,
    )?;
    throttle(
        dir,
        "blkio.throttle.write_bps_device",
        &b.throttle_write_bps_device,
    )?;
    throttle(
        dir,
        "blkio.throttle.read_iops_device",
        &b.throttle_read_iops_device,
    )?;
    throttle(
        dir,
        "blkio.throttle.write_iops_device",
        &b.throttle_write_iops_device,
    )
}

/// "8:0 Read 123" / "8:0 123" lines; "Total N" lines are skipped. None when the file is absent.
fn read_stat(dir: &str, file: &str) -> Result<Option<Vec<BlkioEntry>>> {
    let text = match fs::read_file(dir, file) {
        Ok(t) => t,
        Err(e) if fs::errno_of(&e) == nix::errno::Errno::ENOENT => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split([' ', ':']).filter(|s| !s.is_empty()).collect();
        if f.len() < 3 {
            if f.len() == 2 && f[0] == "Total" {
                continue;
            }
            if f.is_empty() {
                continue;
            }
            return Err(InitError::msg(
                "parse blkio stats",
                fs::join(dir, file),
                format!("invalid line {line:?}"),
            ));
        }
        let p = |s: &str| {
            s.parse::<u64>().map_err(|_| {
                InitError::msg(
                    "parse blkio stats",
                    fs::join(dir, file),
                    format!("invalid line {line:?}"),
                )
            })
        };
        let (op, vi) = if f.len() == 4 {
            (f[2].to_string(), 3)
        } else {
            (String::new(), 2)
        };
        out.push(BlkioEntry {
            major: p(f[0])?,
            minor: p(f[1])?,
            op,
            value: p(f[vi])?,
        });
    }
    Ok(Some(out))
}

/// runc's GetStats: the first group whose first file exists wins (BFQ debug, BFQ, CFQ,
/// throttle recursive, throttle).
pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    type Target = fn(&mut Stats) -> &mut Vec<BlkioEntry>;
    let sectors: Target = |s| &mut s.blkio.sectors_recursive;
    let svc_time: Target = |s| &mut s.blkio.io_service_time_recursive;
    let wait: Target = |s| &mut s.blkio.io_wait_time_recursive;
    let merged: Target = |s| &mut s.blkio.io_merged_recursive;
    let queued: Target = |s| &mut s.blkio.io_queued_recursive;
    let time: Target = |s| &mut s.blkio.io_time_recursive;
    let serviced: Target = |s| &mut s.blkio.io_serviced_recursive;
    let bytes: Target = |s| &mut s.blkio.io_service_bytes_recursive;
    let groups: [&[(&str, Target)]; 5] = [
        &[
            ("blkio.bfq.sectors_recursive", sectors),
            ("blkio.bfq.io_service_time_recursive", svc_time),
            ("blkio.bfq.io_wait_time_recursive", wait),
            ("blkio.bfq.io_merged_recursive", merged),
            ("blkio.bfq.io_queued_recursive", queued),
            ("blkio.bfq.time_recursive", time),
            ("blkio.bfq.io_serviced_recursive", serviced),
            ("blkio.bfq.io_service_bytes_recursive", bytes),
        ],
        &[
            ("blkio.bfq.io_serviced_recursive", serviced),
            ("blkio.bfq.io_service_bytes_recursive", bytes),
        ],
        &[
            ("blkio.sectors_recursive", sectors),
            ("blkio.io_service_time_recursive", svc_time),
            ("blkio.io_wait_time_recursive", wait),
            ("blkio.io_merged_recursive", merged),
            ("blkio.io_queued_recursive", queued),
            ("blkio.time_recursive", time),
            ("blkio.io_serviced_recursive", serviced),
            ("blkio.io_service_bytes_recursive", bytes),
        ],
        &[
            ("blkio.throttle.io_serviced_recursive", serviced),
            ("blkio.throttle.io_service_bytes_recursive", bytes),
        ],
        &[
            ("blkio.throttle.io_serviced", serviced),
            ("blkio.throttle.io_service_bytes", bytes),
        ],
    ];
    for group in groups {
        for (i, (file, target)) in group.iter().enumerate() {
            match read_stat(dir, file)? {
                None if i == 0 => break,
                None => return Ok(()),
                Some(v) => *target(s) = v,
            }
            if i == group.len() - 1 {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::{BlockIo, WeightDevice};
    use crate::cgroups::fs::testutil::{written, FakeDir};

    #[test]
    fn weights_and_throttles() {
        let d = FakeDir::new(&[
            ("blkio.weight", ""),
            ("blkio.leaf_weight", ""),
            ("blkio.weight_device", ""),
            ("blkio.leaf_weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_iops_device", ""),
        ]);
        let t = |ma, mi, rate| ThrottleDevice {
            major: ma,
            minor: mi,
            rate,
        };
        let r = Resources {
            block_io: Some(BlockIo {
                weight: Some(500),
                leaf_weight: Some(300),
                weight_device: Some(vec![WeightDevice {
                    major: 8,
                    minor: 0,
                    weight: Some(400),
                    leaf_weight: Some(200),
                }]),
                throttle_read_bps_device: Some(vec![t(8, 0, 1048576), t(8, 16, 2048)]),
                throttle_write_iops_device: Some(vec![t(8, 0, 100)]),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        let w: Vec<String> = written();
        assert_eq!(
            w,
            [
                "blkio.weight=500",
                "blkio.leaf_weight=300",
                "blkio.weight_device=8:0 400",
                "blkio.leaf_weight_device=8:0 200",
                "blkio.throttle.read_bps_device=8:0 1048576",
                "blkio.throttle.read_bps_device=8:16 2048",
                "blkio.throttle.write_iops_device=8:0 100"
            ]
        );
    }

    #[test]
    fn bfq_weight_when_no_cfq() {
        let d = FakeDir::new(&[("blkio.bfq.weight", "")]);
        set(
            d.path(),
            &Resources {
                block_io: Some(BlockIo {
                    weight: Some(100),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.get("blkio.bfq.weight"), "100");
    }

    #[test]
    fn throttle_stats() {
        let d = FakeDir::new(&[
            (
                "blkio.throttle.io_serviced",
                "8:0 Read 2\n8:0 Write 3\nTotal 5\n",
            ),
            ("blkio.throttle.io_service_bytes", "8:0 Read 4096\n"),
        ]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        assert_eq!(s.blkio.io_serviced_recursive.len(), 2);
        assert_eq!(
            s.blkio.io_service_bytes_recursive[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
    }
}
