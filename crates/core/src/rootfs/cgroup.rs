//! The spec's `cgroup` mount, the way runc 1.1 builds it.
//!
//! - cgroup v1 (and hybrid, as on Debian hosts with a `unified` cgroup2 next to the v1
//!   hierarchies): a tmpfs (nosuid,nodev,noexec, mode=755) at the destination, then for each v1
//!   hierarchy `<dest>/<basename of its mount point>`: without a cgroup namespace a bind of the
//!   container's own cgroup directory in that hierarchy, with the mount's flags (so read-only
//!   for the default spec); with one, the cgroup filesystem of that hierarchy itself. Co-mounted
//!   controllers (`cpu,cpuacct`) get `cpu` and `cpuacct` symlinks. The hybrid `unified`
//!   hierarchy is not exposed, as runc 1.1 does not.
//! - cgroup v2 only: cgroup2 at the destination; when the kernel refuses (EPERM/EBUSY: a user
//!   namespace without a cgroup namespace) a bind of the container's cgroup directory.
//!
//! "The container's cgroup" is where the init is when `prepare` runs (/proc/self/cgroup), so
//! the init must have been moved into its cgroups before.

use super::mountinfo::{self, MountInfo};
use super::mounts;
use super::path;
use crate::config::Config;
use crate::error::{InitError, Result};
use crate::rootfs::mount_opts::MountOptions;
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
use nix::unistd::symlinkat;
use std::os::fd::{AsFd, BorrowedFd};

/// One line of /proc/self/cgroup: `4:memory:/user.slice`, `1:name=systemd:/`, `0::/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLine {
    /// The controllers of the hierarchy ("cpu", "cpuacct", "name=systemd"); empty for v2.
    pub controllers: Vec<String>,
    pub path: String,
}

pub fn parse_proc_cgroup(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some(CgroupLine {
                controllers: controllers
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
                path: path.to_owned(),
            })
        })
        .collect()
}

/// What the cgroup mount exposes of one v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// The directory under the destination: the basename of the host mount point ("cpu",
    /// "cpu,cpuacct", "systemd").
    pub dir: String,
    /// The container's cgroup directory on the host (the bind source); None when it is not
    /// visible through the host's mount of the hierarchy (e.g. the mount's root is not an
    /// ancestor of our cgroup, as inside a cgroup namespace, where the mount is not needed).
    pub source: Option<String>,
    /// The controllers, as the `cgroup` filesystem takes them in its data ("name=systemd").
    pub subsystems: Vec<String>,
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// The v1 hierarchies, each once, in mount table order, with this process' cgroup in each.
/// A hierarchy not listed in /proc/self/cgroup is left out.
pub fn v1_hierarchies(mounts: &[MountInfo], cgroups: &[CgroupLine]) -> Vec<V1Hierarchy> {
    let known: Vec<&str> = cgroups
        .iter()
        .flat_map(|c| c.controllers.iter().map(String::as_str))
        .collect();
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut out = Vec::new();
    for m in mounts.iter().filter(|m| m.fs_type == "cgroup") {
        let subsystems: Vec<String> = m
            .super_options
            .split(',')
            .filter(|o| o.starts_with("name=") || known.contains(o))
            .map(str::to_owned)
            .collect();
        if subsystems.is_empty() {
            continue;
        }
        let key = sorted(&subsystems);
        if seen.contains(&key) {
            continue;
        }
        let Some(line) = cgroups.iter().find(|c| sorted(&c.controllers) == key) else {
            continue;
        };
        // The mount shows the hierarchy from `root` down; our cgroup must be inside it.
        let rel = if m.root == "/" {
            Some(line.path.as_str())
        } else {
            match line.path.strip_prefix(m.root.as_str()) {
                Some(r) if r.is_empty() || r.starts_with('/') => Some(r),
                _ => None,
            }
        };
        let dir = m.mount_point.rsplit('/').next().unwrap_or("").to_owned();
        if dir.is_empty() {
            continue;
        }
        seen.push(key);
        out.push(V1Hierarchy {
            dir,
            source: rel.map(|rel| path::clean(&format!("{}/{}", m.mount_point, rel))),
            subsystems,
        });
    }
    out
}

/// The v1 controllers a hierarchy's super options may name.
const V1_CONTROLLERS: [&str; 14] = [
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "net_cls",
    "net_prio", "perf_event", "hugetlb", "rdma", "misc",
];

/// What /proc/self/cgroup will say once the init has joined `dirs` (host directories, one per
/// hierarchy): for each, the cgroup mount holding it, its controllers and the path within it.
pub fn lines_for_dirs(mounts: &[MountInfo], dirs: &[String]) -> Vec<CgroupLine> {
    let mut out = Vec::new();
    for dir in dirs {
        let holder = mounts
            .iter()
            .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
            .filter(|m| mountinfo::is_under(dir, &m.mount_point))
            .max_by_key(|m| m.mount_point.len());
        let Some(m) = holder else { continue };
        let rel = &dir[m.mount_point.len()..];
        let controllers = if m.fs_type == "cgroup2" {
            Vec::new()
        } else {
            m.super_options
                .split(',')
                .filter(|o| o.starts_with("name=") || V1_CONTROLLERS.contains(o))
                .map(str::to_owned)
                .collect()
        };
        let path = path::clean(&format!("{}/{}", m.root, rel));
        out.push(CgroupLine { controllers, path });
    }
    out
}

fn read_proc_cgroup() -> Result<Vec<CgroupLine>> {
    let text = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| {
        InitError::sys(
            "read",
            "/proc/self/cgroup",
            Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        )
    })?;
    Ok(parse_proc_cgroup(&text))
}

fn is_cgroup2_only() -> bool {
    statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// The flags runc gives the tmpfs and the per-hierarchy cgroup mounts.
const DEFAULT_FLAGS: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Mounts the spec's `cgroup` entry at `dest`.
pub(super) fn mount(
    root: BorrowedFd<'_>,
    dest: &str,
    source: &str,
    opts: &MountOptions,
    cfg: &Config,
) -> Result<()> {
    if is_cgroup2_only() {
        return mount_v2(root, dest, source, opts);
    }
    let mounts = mountinfo::read()?;
    // The init joins its cgroup only right before exec (process::create): bind the container's
    // directories, which the manager resolved, rather than where the init is now.
    let cgroups = if cfg.cgroup_paths.is_empty() {
        read_proc_cgroup()?
    } else {
        lines_for_dirs(&mounts, &cfg.cgroup_paths)
    };
    let hierarchies = v1_hierarchies(&mounts, &cgroups);
    mounts::tmpfs(
        root,
        dest,
        "tmpfs",
        DEFAULT_FLAGS,
        Some("mode=755"),
        &opts.propagation,
        false,
    )?;
    let cgroupns = cfg.has_ns("cgroup");
    for h in &hierarchies {
        let sub = format!("{}/{}", dest.trim_end_matches('/'), h.dir);
        if cgroupns {
            let target = path::mkdir_all(root, &sub, Mode::from_bits_truncate(0o755))?;
            let flags = DEFAULT_FLAGS | (opts.flags & MsFlags::MS_RDONLY);
            let data = h.subsystems.join(",");
            let source = if data == "name=systemd" {
                "systemd"
            } else {
                "cgroup"
            };
            mounts::mount_at(
                Some(source),
                &target,
                Some("cgroup"),
                flags,
                Some(&data),
                &sub,
            )?;
        } else {
            let Some(source) = &h.source else {
                return Err(InitError::msg(
                    "mount",
                    &sub,
                    format!(
                        "our cgroup of {} is outside the host's mount of it",
                        h.subsystems.join(",")
                    ),
                ));
            };
            let flags = MsFlags::MS_BIND | MsFlags::MS_REC | opts.flags;
            mounts::bind(root, &sub, source, flags, &opts.propagation, None)?;
        }
    }
    let comounted: Vec<&V1Hierarchy> = hierarchies.iter().filter(|h| h.dir.contains(',')).collect();
    if !comounted.is_empty() {
        let dir = path::resolve(root, dest)?;
        for h in comounted {
            for name in h.dir.split(',') {
                match symlinkat(h.dir.as_str(), dir.fd.as_fd(), name) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(InitError::sys("symlink", format!("{dest}/{name}"), e)
                            .with_detail(format!("to {:?}", h.dir)))
                    }
                }
            }
        }
    }
    Ok(())
}

fn mount_v2(root: BorrowedFd<'_>, dest: &str, source: &str, opts: &MountOptions) -> Result<()> {
    let target = path::mkdir_all(root, dest, Mode::from_bits_truncate(0o755))?;
    match mounts::mount_at(
        Some(source),
        &target,
        Some("cgroup2"),
        opts.flags,
        opts.data(),
        dest,
    ) {
        Ok(()) => mounts::propagate(root, dest, &opts.propagation),
        Err(e) if e.errno == Errno::EPERM as i32 || e.errno == Errno::EBUSY as i32 => {
            let own = read_proc_cgroup()?
                .into_iter()
                .find(|c| c.controllers.is_empty())
                .map(|c| c.path)
                .unwrap_or_else(|| "/".to_owned());
            let source = path::clean(&format!("/sys/fs/cgroup/{own}"));
            mounts::bind(
                root,
                dest,
                &source,
                MsFlags::MS_BIND | opts.flags,
                &opts.propagation,
                None,
            )
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
90 27 0:32 / /mnt/again rw,relatime - cgroup cgroup rw,memory
";

    const HYBRID_CGROUP: &str = "\
9:name=systemd:/user.slice
4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn parses_proc_cgroup() {
        let c = parse_proc_cgroup(HYBRID_CGROUP);
        assert_eq!(c.len(), 5);
        assert_eq!(c[0].controllers, vec!["name=systemd"]);
        assert_eq!(c[1].path, "/process_api/abc");
        assert!(c[4].controllers.is_empty());
        assert_eq!(c[4].path, "/");
    }

    #[test]
    fn plans_each_v1_hierarchy_once_without_unified() {
        let h = v1_hierarchies(
            &mountinfo::parse(HYBRID_MOUNTINFO),
            &parse_proc_cgroup(HYBRID_CGROUP),
        );
        let dirs: Vec<&str> = h.iter().map(|h| h.dir.as_str()).collect();
        assert_eq!(dirs, vec!["cpu", "cpuacct", "memory", "systemd"]);
        assert_eq!(h[0].source.as_deref(), Some("/sys/fs/cgroup/cpu"));
        assert_eq!(
            h[2].source.as_deref(),
            Some("/sys/fs/cgroup/memory/process_api/abc")
        );
        assert_eq!(
            h[3].source.as_deref(),
            Some("/sys/fs/cgroup/systemd/user.slice")
        );
        assert_eq!(h[3].subsystems, vec!["name=systemd"]);
    }

    #[test]
    fn comounted_controllers_and_non_root_mounts() {
        let mi = "\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpuacct,cpu
36 31 0:33 /outer /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
37 31 0:34 /other /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
";
        let cg = "\
3:devices:/mine
2:pids:/outer/inner
1:cpu,cpuacct:/a/b
";
        let h = v1_hierarchies(&mountinfo::parse(mi), &parse_proc_cgroup(cg));
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].dir, "cpu,cpuacct");
        assert_eq!(h[0].subsystems, vec!["cpuacct", "cpu"]);
        assert_eq!(
            h[0].source.as_deref(),
            Some("/sys/fs/cgroup/cpu,cpuacct/a/b")
        );
        assert_eq!(h[1].source.as_deref(), Some("/sys/fs/cgroup/pids/inner"));
        // Inside a cgroup namespace the host's mount roots look like "/..": no bind source.
        assert_eq!(h[2].dir, "devices");
        assert_eq!(h[2].source, None);
    }
}

#[cfg(test)]
mod lines_for_dirs_tests {
    use super::*;

    #[test]
    fn container_dirs_become_proc_cgroup_lines() {
        let text = "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                    31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
                    32 25 0:28 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
                    33 25 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let mounts = mountinfo::parse(text);
        let dirs = [
            "/sys/fs/cgroup/memory/a/c1".to_string(),
            "/sys/fs/cgroup/cpu,cpuacct/c1".to_string(),
            "/sys/fs/cgroup/systemd/c1".to_string(),
            "/sys/fs/cgroup/unified/c1".to_string(),
        ];
        let lines = lines_for_dirs(&mounts, &dirs);
        assert_eq!(lines[0], CgroupLine { controllers: vec!["memory".into()], path: "/a/c1".into() });
        assert_eq!(lines[1].controllers, vec!["cpu".to_string(), "cpuacct".to_string()]);
        assert_eq!(lines[2].controllers, vec!["name=systemd".to_string()]);
        assert_eq!(lines[3], CgroupLine { controllers: vec![], path: "/c1".into() });
        let h = v1_hierarchies(&mounts, &lines);
        assert_eq!(h[0].source.as_deref(), Some("/sys/fs/cgroup/memory/a/c1"));
        assert_eq!(h.len(), 3, "the unified hierarchy is not a v1 bind");
    }
}
