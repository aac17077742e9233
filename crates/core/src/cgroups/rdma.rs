//! rdma (v1 and v2 share the file format, runc fscommon/rdma.go): one
//! "<device> hca_handle=<n> hca_object=<m>" line per device in `rdma.max`.

use super::config::Resources;
use super::fs;
use crate::error::Result;

pub fn needs(r: &Resources) -> bool {
    r.rdma.as_ref().map(|v| !v.is_empty()).unwrap_or(false)
}

pub fn set(dir: &str, r: &Resources) -> Result<()> {
    for l in r.rdma.iter().flatten() {
        let mut line = l.device.clone();
        if let Some(h) = l.hca_handles {
            line.push_str(&format!(" hca_handle={}", h as u32));
        }
        if let Some(o) = l.hca_objects {
            line.push_str(&format!(" hca_object={}", o as u32));
        }
        fs::write_file(dir, "rdma.max", &line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::RdmaLimit;
    use crate::cgroups::fs::testutil::FakeDir;

    #[test]
    fn rdma_line() {
        let d = FakeDir::new(&[("rdma.max", "")]);
        let r = Resources {
            rdma: Some(vec![RdmaLimit {
                device: "mlx5_1".into(),
                hca_handles: Some(3),
                hca_objects: None,
            }]),
            ..Default::default()
        };
        set(d.path(), &r).unwrap();
        assert_eq!(d.get("rdma.max"), "mlx5_1 hca_handle=3");
    }
}
