//! Where a container's cgroup lives: the host's layout (v1, hybrid, unified), the mounts of the
//! v1 hierarchies, and `linux.cgroupsPath` resolved with runc's rules:
//!
//! - cgroupfs drivers (runc libcontainer/cgroups/fs/paths.go, fs2/defaultpath.go): the path is
//!   lexically cleaned (`utils.CleanPath`: a relative "../x" becomes "x"); empty means the
//!   container id. An absolute path is taken under each hierarchy's mount point. A relative one
//!   is taken, on v1, under the runtime's *own* cgroup in each hierarchy (/proc/self/cgroup,
//!   made relative to the mount's root for nested setups) -- except the hybrid unified
//!   hierarchy, which runc 1.1 always takes from its mount point; on v2, under the *parent* of
//!   the runtime's own cgroup (the runtime's own leaf usually has processes, so no controllers
//!   can be enabled below it).
//! - systemd driver (libcontainer/specconv, cgroups/systemd): "slice:prefix:name" names the unit
//!   `prefix-name.scope` in `slice` (default system.slice, user.slice when rootless); a name
//!   ending in ".slice" makes a slice unit instead. "a-b.slice" lives at /a.slice/a-b.slice.

use crate::error::{InitError, Result};

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
pub const HYBRID_MOUNTPOINT: &str = "/sys/fs/cgroup/unified";

/// The host's cgroup layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// cgroup2 mounted at /sys/fs/cgroup: every controller in one hierarchy.
    Unified,
    /// v1 hierarchies under /sys/fs/cgroup/<controller>; `hybrid` when a cgroup2 is also
    /// mounted at /sys/fs/cgroup/unified (systemd's hybrid mode).
    Legacy { hybrid: bool },
}

fn fs_type(path: &str) -> Option<i64> {
    let c = std::ffi::CString::new(path).ok()?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid C string and st a properly sized out buffer.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between libcs
    Some(st.f_type as i64)
}

impl Layout {
    /// Detects the layout the way runc does (statfs of /sys/fs/cgroup, then of
    /// /sys/fs/cgroup/unified).
    pub fn detect() -> Layout {
        if fs_type(CGROUP_ROOT) == Some(libc::CGROUP2_SUPER_MAGIC) {
            return Layout::Unified;
        }
        let hybrid = fs_type(HYBRID_MOUNTPOINT) == Some(libc::CGROUP2_SUPER_MAGIC);
        Layout::Legacy { hybrid }
    }
}

/// Go's `filepath.Clean`: lexical, no symlinks.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let abs = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().map(|l| *l != "..").unwrap_or(false) {
                    out.pop();
                } else if !abs {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let joined = out.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// runc's `utils.CleanPath`: "" stays ""; a relative path cannot climb out ("../../x" is "x").
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    let c = clean(p);
    if c.starts_with('/') {
        return c;
    }
    let rooted = clean(&format!("/{c}"));
    let rel = rooted.trim_start_matches('/');
    if rel.is_empty() {
        ".".into()
    } else {
        rel.to_string()
    }
}

/// Go's `filepath.Join` for two parts (cleaned; an empty part is skipped).
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        _ => clean(&format!("{a}/{b}")),
    }
}

/// The path inside the hierarchies for a cgroupfs driver: cgroupsPath cleaned, or the id.
pub fn inner_path(cgroups_path: &str, id: &str) -> String {
    let p = clean_path(cgroups_path);
    if !p.is_empty() {
        return p;
    }
    clean_path(id)
}

/// One cgroup v1 (or hybrid cgroup2) mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mount {
    pub mountpoint: String,
    /// The mount's root inside its hierarchy (not "/" inside a container that bind-mounts a
    /// sub-cgroup).
    pub root: String,
    /// The subsystems of this hierarchy: controller names, "name=systemd" for named ones.
    pub subsystems: Vec<String>,
}

fn unescape_mountinfo(s: &str) -> String {
    // Octal escapes: \040 (space), \011 (tab), \012 (newline), \134 (backslash).
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                out.push((oct[0] - b'0') * 64 + (oct[1] - b'0') * 8 + (oct[2] - b'0'));
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `cgroup` (v1) mounts in a mountinfo text; `known` lists the subsystem names to pick from
/// the super options (the names in /proc/self/cgroup, as runc's getCgroupMountsV1 does).
pub fn parse_v1_mounts(mountinfo: &str, known: &[String]) -> Vec<V1Mount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 || post[0] != "cgroup" {
            continue;
        }
        let subsystems: Vec<String> = post[2]
            .split(',')
            .filter(|o| known.iter().any(|k| k == o))
            .map(String::from)
            .collect();
        if subsystems.is_empty() {
            continue;
        }
        out.push(V1Mount {
            mountpoint: unescape_mountinfo(pre[4]),
            root: unescape_mountinfo(pre[3]),
            subsystems,
        });
    }
    out
}

/// /proc/<pid>/cgroup as (subsystem, path) pairs; a line "2:cpu,cpuacct:/x" gives two pairs and
/// the v2 line "0::/x" gives ("", "/x").
pub fn parse_proc_cgroup(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in s.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(subs), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        for sub in subs.split(',') {
            out.push((sub.to_string(), path.to_string()));
        }
    }
    out
}

/// runc's v1 subsystems, in the order runc creates, joins and sets them (fs.go `subsystems`).
pub const V1_SUBSYSTEMS: &[&str] = &[
    "cpuset",
    "devices",
    "memory",
    "cpu",
    "cpuacct",
    "pids",
    "blkio",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "freezer",
    "rdma",
    "name=systemd",
];

/// What the v1 path resolution reads from the host.
pub struct V1Host<'a> {
    pub mountinfo: &'a str,
    pub self_cgroup: &'a str,
    pub hybrid: bool,
}

impl V1Host<'_> {
    fn mounts(&self) -> Vec<V1Mount> {
        let known: Vec<String> = parse_proc_cgroup(self.self_cgroup)
            .into_iter()
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty())
            .collect();
        parse_v1_mounts(self.mountinfo, &known)
    }
}

/// The v1 cgroup directory of every mounted subsystem for `inner` (see the module doc), in
/// runc's order, plus ("", <unified dir>) on a hybrid host. A missing `devices` hierarchy is an
/// error (runc: the devices cgroup is a hard requirement for the container's security).
pub fn v1_paths(inner: &str, host: &V1Host) -> Result<Vec<(String, String)>> {
    let mounts = host.mounts();
    let own = parse_proc_cgroup(host.self_cgroup);
    let mut out = Vec::new();
    for &sub in V1_SUBSYSTEMS {
        let Some(m) = mounts
            .iter()
            .find(|m| m.subsystems.iter().any(|s| s == sub))
        else {
            if sub == "devices" {
                return Err(InitError::msg(
                    "find cgroup mount",
                    "devices",
                    "the devices cgroup (v1) is not mounted; it is required",
                ));
            }
            continue;
        };
        let path = if inner.starts_with('/') {
            join(&m.mountpoint, inner)
        } else {
            let Some((_, own_path)) = own.iter().find(|(s, _)| s == sub) else {
                return Err(InitError::msg(
                    "find own cgroup",
                    sub,
                    "not in /proc/self/cgroup",
                ));
            };
            let rel = own_path
                .strip_prefix(m.root.trim_end_matches('/'))
                .unwrap_or(own_path);
            join(&join(&m.mountpoint, rel), inner)
        };
        out.push((sub.to_string(), path));
    }
    if host.hybrid {
        // runc 1.1 fs.go: in hybrid mode a "" subsystem joins the unified hierarchy too, always
        // under its mount point (GetOwnCgroupPath("") returns the mount point itself).
        out.push((String::new(), join(HYBRID_MOUNTPOINT, inner)));
    }
    Ok(out)
}

/// The v2 cgroup directory for `inner` (runc fs2 `_defaultDirPath`); `self_cgroup` is
/// /proc/self/cgroup, read for relative paths.
pub fn v2_path(inner: &str, self_cgroup: &str) -> Result<String> {
    if inner.starts_with('/') {
        return Ok(join(CGROUP_ROOT, inner));
    }
    let own = parse_proc_cgroup(self_cgroup)
        .into_iter()
        .find(|(s, _)| s.is_empty())
        .map(|(_, p)| p)
        .ok_or_else(|| {
            InitError::msg(
                "find own cgroup",
                "/proc/self/cgroup",
                "no cgroup v2 (\"0::\") line",
            )
        })?;
    // The parent of our own cgroup: our leaf has processes (us), so controllers cannot be
    // enabled in it for a child.
    let parent = match own.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => own[..i].to_string(),
    };
    Ok(join(&join(CGROUP_ROOT, &parent), inner))
}

/// A systemd unit for the container, from cgroupsPath "slice:prefix:name".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdUnit {
    /// The parent slice ("system.slice"), "" for the default.
    pub parent: String,
    pub prefix: String,
    pub name: String,
}

/// The scope prefix used when cgroupsPath is empty (runc specconv: "runc").
pub const DEFAULT_SCOPE_PREFIX: &str = "runc";

impl SystemdUnit {
    /// Parses cgroupsPath for the systemd driver (runc specconv CreateCgroupConfig).
    pub fn parse(cgroups_path: &str, id: &str) -> Result<SystemdUnit> {
        if cgroups_path.is_empty() {
            return Ok(SystemdUnit {
                parent: String::new(),
                prefix: DEFAULT_SCOPE_PREFIX.into(),
                name: id.into(),
            });
        }
        let parts: Vec<&str> = cgroups_path.split(':').collect();
        if parts.len() != 3 {
            return Err(InitError::msg(
                "parse cgroupsPath",
                cgroups_path,
                "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups",
            ));
        }
        Ok(SystemdUnit {
            parent: parts[0].into(),
            prefix: parts[1].into(),
            name: parts[2].into(),
        })
    }

    /// The unit name: `prefix-name.scope`, or `name` itself when it ends in ".slice" (runc's
    /// getUnitName).
    pub fn unit_name(&self) -> String {
        if self.name.ends_with(".slice") {
            self.name.clone()
        } else {
            format!("{}-{}.scope", self.prefix, self.name)
        }
    }

    /// The parent slice unit: the given one, or system.slice (user.slice when rootless).
    pub fn slice(&self, rootless: bool) -> String {
        if !self.parent.is_empty() {
            self.parent.clone()
        } else if rootless {
            "user.slice".into()
        } else {
            "system.slice".into()
        }
    }

    /// The unit's cgroup path below a hierarchy root: expanded slice + unit name.
    pub fn cgroup_path(&self, rootless: bool) -> Result<String> {
        let slice = if self.parent.is_empty() {
            self.slice(rootless)
        } else {
            expand_slice(&self.parent)?
        };
        let slice = if slice.starts_with('/') {
            slice
        } else {
            format!("/{slice}")
        };
        Ok(join(&slice, &self.unit_name()))
    }
}

/// systemd's slice hierarchy: "a-b-c.slice" lives at /a.slice/a-b.slice/a-b-c.slice; "-.slice"
/// is the root (runc's ExpandSlice).
pub fn expand_slice(slice: &str) -> Result<String> {
    let bad = || InitError::msg("expand slice", slice, "invalid slice name");
    let name = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if name.is_empty() || slice.contains('/') {
        return Err(bad());
    }
    if name == "-" {
        return Ok("/".into());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for comp in name.split('-') {
        if comp.is_empty() {
            return Err(bad());
        }
        path.push_str(&format!("/{prefix}{comp}.slice"));
        prefix.push_str(comp);
        prefix.push('-');
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const SELF: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/fff
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn clean_path_like_runc() {
        assert_eq!(clean_path(""), "");
        assert_eq!(clean_path("/a/../b/"), "/b");
        assert_eq!(clean_path("../../x/y"), "x/y");
        assert_eq!(clean_path("a/./b"), "a/b");
        assert_eq!(clean_path("/../.."), "/");
        assert_eq!(inner_path("", "abc"), "abc");
        assert_eq!(inner_path("/x/y", "abc"), "/x/y");
    }

    #[test]
    fn v1_relative_uses_own_cgroup_per_hierarchy() {
        // What runc 1.1.5 made on this host for an empty cgroupsPath and id "cgt1".
        let host = V1Host {
            mountinfo: MOUNTINFO,
            self_cgroup: SELF,
            hybrid: true,
        };
        let p = v1_paths("cgt1", &host).unwrap();
        let want = [
            ("cpuset", "/sys/fs/cgroup/cpuset/cgt1"),
            ("devices", "/sys/fs/cgroup/devices/cgt1"),
            ("memory", "/sys/fs/cgroup/memory/process_api/fff/cgt1"),
            ("cpu", "/sys/fs/cgroup/cpu/cgt1"),
            ("cpuacct", "/sys/fs/cgroup/cpuacct/cgt1"),
            ("pids", "/sys/fs/cgroup/pids/cgt1"),
            ("blkio", "/sys/fs/cgroup/blkio/cgt1"),
            ("freezer", "/sys/fs/cgroup/freezer/cgt1"),
            ("name=systemd", "/sys/fs/cgroup/systemd/cgt1"),
            ("", "/sys/fs/cgroup/unified/cgt1"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(p, want);
    }

    #[test]
    fn v1_absolute_is_under_each_mountpoint() {
        let host = V1Host {
            mountinfo: MOUNTINFO,
            self_cgroup: SELF,
            hybrid: false,
        };
        let p = v1_paths("/a/b", &host).unwrap();
        assert!(p.contains(&("memory".into(), "/sys/fs/cgroup/memory/a/b".into())));
        assert!(!p.iter().any(|(s, _)| s.is_empty()));
    }

    #[test]
    fn v1_comounted_and_nested_root() {
        let mi = "\
1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
2 0 0:2 /docker/x /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
";
        let own = "2:cpu,cpuacct:/a\n1:devices:/docker/x/inner\n";
        let host = V1Host {
            mountinfo: mi,
            self_cgroup: own,
            hybrid: false,
        };
        let p = v1_paths("c", &host).unwrap();
        assert_eq!(
            p,
            vec![
                ("devices".into(), "/sys/fs/cgroup/devices/inner/c".into()),
                ("cpu".into(), "/sys/fs/cgroup/cpu,cpuacct/a/c".into()),
                ("cpuacct".into(), "/sys/fs/cgroup/cpu,cpuacct/a/c".into()),
            ]
        );
    }

    #[test]
    fn v1_without_devices_is_an_error() {
        let mi = "1 0 0:1 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        let host = V1Host {
            mountinfo: mi,
            self_cgroup: "1:cpu:/\n",
            hybrid: false,
        };
        assert!(v1_paths("c", &host)
            .unwrap_err()
            .to_string()
            .contains("devices"));
    }

    #[test]
    fn v2_relative_is_under_parent_of_own_cgroup() {
        let own = "0::/user.slice/user-0.slice/session-1.scope\n";
        assert_eq!(
            v2_path("c", own).unwrap(),
            "/sys/fs/cgroup/user.slice/user-0.slice/c"
        );
        assert_eq!(v2_path("c", "0::/\n").unwrap(), "/sys/fs/cgroup/c");
        assert_eq!(
            v2_path("c", "0::/init.scope\n").unwrap(),
            "/sys/fs/cgroup/c"
        );
        assert_eq!(v2_path("/x/c", own).unwrap(), "/sys/fs/cgroup/x/c");
    }

    #[test]
    fn systemd_names() {
        let u = SystemdUnit::parse("", "abc").unwrap();
        assert_eq!(u.unit_name(), "runc-abc.scope");
        assert_eq!(
            u.cgroup_path(false).unwrap(),
            "/system.slice/runc-abc.scope"
        );
        assert_eq!(u.cgroup_path(true).unwrap(), "/user.slice/runc-abc.scope");
        let u = SystemdUnit::parse("machine-a.slice:docker:123", "x").unwrap();
        assert_eq!(u.unit_name(), "docker-123.scope");
        assert_eq!(u.slice(false), "machine-a.slice");
        assert_eq!(
            u.cgroup_path(false).unwrap(),
            "/machine.slice/machine-a.slice/docker-123.scope"
        );
        let u = SystemdUnit::parse("-.slice:p:n", "x").unwrap();
        assert_eq!(u.cgroup_path(false).unwrap(), "/p-n.scope");
        let u = SystemdUnit::parse("system.slice:p:my.slice", "x").unwrap();
        assert_eq!(u.unit_name(), "my.slice");
        assert!(SystemdUnit::parse("a:b", "x")
            .unwrap_err()
            .to_string()
            .contains("slice:prefix:name"));
    }

    #[test]
    fn expand_slice_like_runc() {
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in ["a--b.slice", "-a.slice", "a/b.slice", ".slice", "foo"] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
    }
}
