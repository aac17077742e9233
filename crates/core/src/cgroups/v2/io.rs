//! v2 io (runc fs2/io.go): the weight goes to BFQ's io.bfq.weight when BFQ is there, else to
//! io.weight converted from the blkio range; per-device weights only with BFQ (kernel >= 5.4);
//! throttles as "MAJ:MIN rbps=N" lines in io.max.

use crate::cgroups::config::{Resources, ThrottleDevice};
use crate::cgroups::fs;
use crate::cgroups::stats::{BlkioEntry, Stats};
use crate::error::Result;
use std::io::{Read, Seek, Write};

/// runc's ConvertBlkIOToIOWeightValue: [10, 1000] linearly onto [1, 10000].
pub fn blkio_to_io_weight(w: u64) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (w.saturating_sub(10)) * 9999 / 990
}

pub fn needs(r: &Resources) -> bool {
    r.block_io.as_ref().map(|b| {
        b.weight.unwrap_or(0) != 0
            || b.has_device_rules()
    }) == Some(true)
}

fn throttle(dir: &str, key: &str, list: &Option<Vec<ThrottleDevice>>) -> Result<()> {
    for t in list.iter().flatten() {
        fs::write_file(
            dir,
            "io.max",
            &format!("{}:{} {}={}", t.major, t.minor, key, t.rate),
        )?;
    }
    Ok(())
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    let Some(b) = &r.block_io else { return Ok(()) };
    if !needs(r) {
        return Ok(());
    }
    let weight = b.weight.unwrap_or(0);
    let has_wd = b
        .weight_device
        .as_ref()
        .map(|v| !v.is_empty())
        .unwrap_or(false);
    let bfq_path = fs::join(dir, "io.bfq.weight");
    let mut bfq = if weight != 0 || has_wd {
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&bfq_path)
        {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(fs::io_err("open cgroup file", &bfq_path, &e)),
        }
    } else {
        None
    };
    if weight != 0 {
        match bfq.as_mut() {
            Some(f) => f
                .write_all(weight.to_string().as_bytes())
                .map_err(|e| fs::io_err("write cgroup file", &bfq_path, &e))?,
            None => fs::write_file(
                dir,
                "io.weight",
                &blkio_to_io_weight(weight as u64).to_string(),
            )?,
        }
    }
    if let Some(f) = bfq.as_mut() {
        // Per-device BFQ weights exist when io.bfq.weight reads as "default N\n..." rather
        // than a single number (kernel commit 795fe54c2a8, v5.4).
        let mut buf = [0u8; 32];
        let supported = f.seek(std::io::SeekFrom::Start(0)).is_ok()
            && f.read(&mut buf)
                .map(|n| {
                    String::from_utf8_lossy(&buf[..n])
                        .trim()
                        .parse::<i64>()
                        .is_err()
                })
                .unwrap_or(false);
        if supported {
            for wd in b.weight_device.iter().flatten() {
                if let Some(w) = wd.weight {
                    let line = format!("{}:{} {}\n", wd.major, wd.minor, w);
                    f.write_all(line.as_bytes()).map_err(|e| {
                        fs::io_err("write cgroup file", &bfq_path, &e)
                            .with_detail(format!("device weight {:?}", line.trim()))
                    })?;
                }
            }
        }
    }
    throttle(dir, "rbps", &b.throttle_read_bps_device)?;
    throttle(dir, "wbps", &b.throttle_write_bps_device)?;
    throttle(dir, "riops", &b.throttle_read_iops_device)?;
    throttle(dir, "wiops", &b.throttle_write_iops_device)
}

/// io.stat mapped to the v1 tables runc fills (rbytes/wbytes → service bytes, rios/wios →
/// serviced).
pub fn stats(dir: &str, s: &mut Stats) -> Result<()> {
    let text = fs::read_file(dir, "io.stat")?;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        for item in f {
            let Some((k, v)) = item.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let (op, table) = match k {
                "rbytes" => ("Read", &mut s.blkio.io_service_bytes_recursive),
                "wbytes" => ("Write", &mut s.blkio.io_service_bytes_recursive),
                "rios" => ("Read", &mut s.blkio.io_serviced_recursive),
                "wios" => ("Write", &mut s.blkio.io_serviced_recursive),
                _ => continue,
            };
            table.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::BlockIo;
    use crate::cgroups::fs::testutil::{written, FakeDir};

    #[test]
    fn weight_conversion() {
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10000);
    }

    #[test]
    fn io_weight_and_max_lines() {
        let d = FakeDir::new(&[("io.weight", ""), ("io.max", "")]);
        let t = |ma, mi, rate| ThrottleDevice {
            major: ma,
            minor: mi,
            rate,
        };
        let r = Resources {
            block_io: Some(BlockIo {
                weight: Some(500),
                throttle_read_bps_device: Some(vec![t(8, 0, 1024)]),
                throttle_write_iops_device: Some(vec![t(8, 0, 10), t(8, 16, 20)]),
                ..Default::default()
            }),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        let w: Vec<String> = written();
        assert_eq!(
            w,
            [
                "io.weight=4950",
                "io.max=8:0 rbps=1024",
                "io.max=8:0 wiops=10",
                "io.max=8:16 wiops=20"
            ]
        );
    }

    #[test]
    fn bfq_weight_when_present() {
        let d = FakeDir::new(&[("io.bfq.weight", ""), ("io.weight", "")]);
        set(
            d.path(),
            &Resources {
                block_io: Some(BlockIo {
                    weight: Some(300),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.get("io.bfq.weight"), "300");
        assert_eq!(d.get("io.weight"), "");
    }

    #[test]
    fn io_stat() {
        let d = FakeDir::new(&[(
            "io.stat",
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0\n",
        )]);
        let mut s = Stats::default();
        stats(d.path(), &mut s).unwrap();
        assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
        assert_eq!(
            s.blkio.io_serviced_recursive[1],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Write".into(),
                value: 2
            }
        );
    }
}
