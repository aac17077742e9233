//! v1 net_cls and net_prio (runc fs/net_cls.go, net_prio.go). There is no v2 equivalent.

use crate::cgroups::config::Resources;
use crate::cgroups::fs;
use crate::error::Result;

pub fn needs_cls(r: &Resources) -> bool {
    r.network.as_ref().and_then(|n| n.class_id).unwrap_or(0) != 0
}

pub fn needs_prio(r: &Resources) -> bool {
    r.network
        .as_ref()
        .and_then(|n| n.priorities.as_ref())
        .map(|p| !p.is_empty())
        .unwrap_or(false)
}

pub fn set_cls(dir: &str, r: &Resources) -> Result<()> {
    match r.network.as_ref().and_then(|n| n.class_id) {
        Some(id) if id != 0 => fs::write_file(dir, "net_cls.classid", &(id as u32).to_string()),
        _ => Ok(()),
    }
}

pub fn set_prio(dir: &str, r: &Resources) -> Result<()> {
    for p in r
        .network
        .as_ref()
        .and_then(|n| n.priorities.as_ref())
        .into_iter()
        .flatten()
    {
        fs::write_file(
            dir,
            "net_prio.ifpriomap",
            &format!("{} {}", p.name, p.priority),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::{InterfacePriority, Network};
    use crate::cgroups::fs::testutil::{written, FakeDir};

    #[test]
    fn classid_and_priomap() {
        let d = FakeDir::new(&[("net_cls.classid", ""), ("net_prio.ifpriomap", "")]);
        let r = Resources {
            network: Some(Network {
                class_id: Some(0x100001),
                priorities: Some(vec![
                    InterfacePriority {
                        name: "eth0".into(),
                        priority: 5,
                    },
                    InterfacePriority {
                        name: "lo".into(),
                        priority: 1,
                    },
                ]),
            }),
            ..Default::default()
        };
        set_cls(d.path(), &r).unwrap();
        set_prio(d.path(), &r).unwrap();
        let w: Vec<String> = written();
        assert_eq!(
            w,
            [
                "net_cls.classid=1048577",
                "net_prio.ifpriomap=eth0 5",
                "net_prio.ifpriomap=lo 1"
            ]
        );
    }
}
