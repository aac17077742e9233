//! Linux namespaces: OCI names → clone flags and `/proc/<pid>/ns` file names, the plan of which
//! namespaces stage 1 joins and which it creates, and the uid/gid map file format.

use crate::config::{Config, IdMapping};
use crate::error::{InitError, Result};
use nix::sched::CloneFlags;

/// CLONE_NEWTIME (Linux 5.6); nix has no constant for it.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(0x80);

/// (OCI name, clone flag, file under `/proc/<pid>/ns/`), in the order config-linux.md lists the
/// types (which is also the order validation lists them in: src/spec/tables.generated.ts is
/// rendered from this table). Stage 1 joins namespaces given by path in this order, except that
/// the user namespace always comes first (see [`plan`]).
pub const NAMESPACES: [(&str, CloneFlags, &str); 8] = [
    ("pid", CloneFlags::CLONE_NEWPID, "pid"),
    ("network", CloneFlags::CLONE_NEWNET, "net"),
    ("mount", CloneFlags::CLONE_NEWNS, "mnt"),
    ("ipc", CloneFlags::CLONE_NEWIPC, "ipc"),
    ("uts", CloneFlags::CLONE_NEWUTS, "uts"),
    ("user", CloneFlags::CLONE_NEWUSER, "user"),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP, "cgroup"),
    ("time", CLONE_NEWTIME, "time"),
];

fn lookup(ns_type: &str) -> Result<&'static (&'static str, CloneFlags, &'static str)> {
    NAMESPACES
        .iter()
        .find(|(n, _, _)| *n == ns_type)
        .ok_or_else(|| InitError::msg("namespace", ns_type, "unknown namespace type"))
}

/// The clone flag of an OCI namespace type ("network" → CLONE_NEWNET).
pub fn clone_flag(ns_type: &str) -> Result<CloneFlags> {
    lookup(ns_type).map(|e| e.1)
}

/// The `/proc/<pid>/ns` file name of an OCI namespace type ("mount" → "mnt").
pub fn proc_name(ns_type: &str) -> Result<&'static str> {
    lookup(ns_type).map(|e| e.2)
}

/// A namespace to join: its flag (for setns' nstype check), OCI name and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub flag: CloneFlags,
    pub ns_type: &'static str,
    pub path: String,
}

/// What stage 1 does with namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsPlan {
    /// Namespaces to join, user first.
    pub joins: Vec<Join>,
    /// Namespaces to create (including CLONE_NEWUSER, which is unshared on its own first).
    pub create: CloneFlags,
}

impl NsPlan {
    pub fn creates(&self, flag: CloneFlags) -> bool {
        self.create.contains(flag)
    }
}

/// Sorts `linux.namespaces` into joins and creations; an unknown or repeated type is an error.
pub fn plan(cfg: &Config) -> Result<NsPlan> {
    let mut seen = CloneFlags::empty();
    let mut joins = Vec::new();
    let mut create = CloneFlags::empty();
    for ns in &cfg.namespaces {
        let &(name, flag, _) = lookup(&ns.ns_type)?;
        if seen.contains(flag) {
            return Err(InitError::msg(
                "namespace",
                name,
                "namespace type given twice",
            ));
        }
        seen |= flag;
        match &ns.path {
            Some(p) => joins.push(Join {
                flag,
                ns_type: name,
                path: p.clone(),
            }),
            None => create |= flag,
        }
    }
    // The user namespace first: it decides the privileges for every other setns(2) (joining a
    // namespace needs CAP_SYS_ADMIN in the user namespace that owns it). The others in table
    // order.
    let order = |j: &Join| {
        let pos = NAMESPACES.iter().position(|e| e.1 == j.flag);
        (j.flag != CloneFlags::CLONE_NEWUSER, pos)
    };
    joins.sort_by_key(order);
    Ok(NsPlan { joins, create })
}

/// The namespaces of process `pid` that differ from ours, as joins by path
/// (`/proc/<pid>/ns/<file>`), in table order: what a process entering its container joins
/// (nsenter's `--all` rule: a namespace the caller shares is not joined; setns(2) of one's own
/// user namespace fails with EINVAL). A type this kernel lacks (no ns file) is skipped.
pub fn of_process(pid: i32) -> Result<Vec<crate::config::Namespace>> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for (name, _, file) in NAMESPACES {
        let theirs = format!("/proc/{pid}/ns/{file}");
        let id = |p: &str| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
        let t = match id(&theirs) {
            Ok(t) => t,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && !std::path::Path::new(&format!("/proc/self/ns/{file}")).exists() => continue,
            Err(e) => {
                let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                return Err(InitError::sys("stat", theirs, errno));
            }
        };
        if id(&format!("/proc/self/ns/{file}")).ok() != Some(t) {
            out.push(crate::config::Namespace { ns_type: name.to_string(), path: Some(theirs) });
        }
    }
    Ok(out)
}

/// The contents of a uid_map/gid_map file: one "inside outside count" line per mapping,
/// written in a single write(2) as user_namespaces(7) requires.
/// The host id that `id` inside the container maps to (itself when there are no mappings, i.e.
/// no user namespace); None when the mappings leave it out.
pub fn host_id(maps: &[IdMapping], id: u32) -> Option<u32> {
    if maps.is_empty() {
        return Some(id);
    }
    maps.iter().find_map(|m| {
        let off = id.checked_sub(m.container_id)?;
        (off < m.size).then(|| m.host_id + off)
    })
}

pub fn format_id_map(maps: &[IdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Namespace;

    fn ns(t: &str, path: Option<&str>) -> Namespace {
        Namespace {
            ns_type: t.into(),
            path: path.map(str::to_string),
        }
    }

    #[test]
    fn names_map_to_flags_and_proc_files() {
        assert_eq!(clone_flag("network").unwrap(), CloneFlags::CLONE_NEWNET);
        assert_eq!(clone_flag("mount").unwrap(), CloneFlags::CLONE_NEWNS);
        assert_eq!(clone_flag("time").unwrap().bits(), libc::CLONE_NEWTIME);
        assert_eq!(proc_name("network").unwrap(), "net");
        assert_eq!(proc_name("mount").unwrap(), "mnt");
        assert_eq!(proc_name("cgroup").unwrap(), "cgroup");
        let e = clone_flag("net").unwrap_err();
        assert_eq!((e.step.as_str(), e.path.as_str()), ("namespace", "net"));
    }

    #[test]
    fn every_proc_name_exists_on_this_kernel() {
        for (_, _, f) in NAMESPACES {
            assert!(
                std::path::Path::new("/proc/self/ns").join(f).exists(),
                "{f}"
            );
        }
    }

    #[test]
    fn plan_puts_user_join_first() {
        let cfg = Config {
            namespaces: vec![
                ns("network", Some("/proc/1/ns/net")),
                ns("pid", None),
                ns("user", Some("/proc/1/ns/user")),
                ns("mount", None),
            ],
            ..Default::default()
        };
        let p = plan(&cfg).unwrap();
        assert_eq!(
            p.joins.iter().map(|j| j.ns_type).collect::<Vec<_>>(),
            ["user", "network"]
        );
        assert_eq!(p.create, CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS);
        assert!(!p.creates(CloneFlags::CLONE_NEWUSER));
    }

    #[test]
    fn plan_joins_user_then_table_order() {
        let cfg = Config {
            namespaces: NAMESPACES
                .iter()
                .rev()
                .map(|(t, _, f)| ns(t, Some(&format!("/proc/1/ns/{f}"))))
                .collect(),
            ..Default::default()
        };
        let p = plan(&cfg).unwrap();
        assert_eq!(
            p.joins.iter().map(|j| j.ns_type).collect::<Vec<_>>(),
            ["user", "pid", "network", "mount", "ipc", "uts", "cgroup", "time"]
        );
        assert!(p.create.is_empty());
    }

    #[test]
    fn plan_rejects_duplicates_and_unknown() {
        let cfg = Config {
            namespaces: vec![ns("pid", None), ns("pid", None)],
            ..Default::default()
        };
        assert!(plan(&cfg).is_err());
        let cfg = Config {
            namespaces: vec![ns("bogus", None)],
            ..Default::default()
        };
        assert_eq!(plan(&cfg).unwrap_err().path, "bogus");
    }

    #[test]
    fn host_id_of_container_ids() {
        let maps = [
            IdMapping { container_id: 0, host_id: 100000, size: 1000 },
            IdMapping { container_id: 1000, host_id: 1000, size: 1 },
        ];
        assert_eq!(host_id(&maps, 0), Some(100000));
        assert_eq!(host_id(&maps, 999), Some(100999));
        assert_eq!(host_id(&maps, 1000), Some(1000));
        assert_eq!(host_id(&maps, 1001), None);
        assert_eq!(host_id(&[], 0), Some(0));
    }

    #[test]
    fn id_map_lines() {
        let m = [
            IdMapping {
                container_id: 0,
                host_id: 100000,
                size: 65536,
            },
            IdMapping {
                container_id: 65536,
                host_id: 1000,
                size: 1,
            },
        ];
        assert_eq!(format_id_map(&m), "0 100000 65536\n65536 1000 1\n");
        assert_eq!(format_id_map(&[]), "");
    }
}
