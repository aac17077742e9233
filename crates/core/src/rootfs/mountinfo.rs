//! /proc/self/mountinfo (proc(5)), for the few decisions that depend on the host's mounts: the
//! propagation of the rootfs' parent mount, the cgroup v1 hierarchies, the host proc and sysfs
//! mounts to hide before MS_MOVE.

use crate::error::{InitError, Result};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub id: u32,
    pub parent: u32,
    /// The directory of the filesystem mounted here ("/" for a whole filesystem, a subdirectory
    /// for a bind mount).
    pub root: String,
    pub mount_point: String,
    /// Per-mount options ("rw,nosuid,relatime").
    pub options: String,
    /// Optional fields ("shared:1", "master:2", ...).
    pub optional: Vec<String>,
    pub fs_type: String,
    pub source: String,
    /// Per-superblock options ("rw,cpu,cpuacct").
    pub super_options: String,
}

impl MountInfo {
    pub fn is_shared(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("shared:"))
    }
}

/// Undoes the kernel's octal escapes of space, tab, newline and backslash (`\040`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountInfo> {
    let fields: Vec<&str> = line.split(' ').collect();
    let sep = fields.iter().position(|f| *f == "-")?;
    if sep < 6 || fields.len() < sep + 4 {
        return None;
    }
    Some(MountInfo {
        id: fields[0].parse().ok()?,
        parent: fields[1].parse().ok()?,
        root: unescape(fields[3]),
        mount_point: unescape(fields[4]),
        options: fields[5].to_owned(),
        optional: fields[6..sep].iter().map(|s| s.to_string()).collect(),
        fs_type: fields[sep + 1].to_owned(),
        source: unescape(fields[sep + 2]),
        super_options: fields[sep + 3].to_owned(),
    })
}

/// The mount table of this process.
pub fn read() -> Result<Vec<MountInfo>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
        InitError::sys(
            "read",
            "/proc/self/mountinfo",
            nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        )
    })?;
    Ok(parse(&text))
}

/// The mount that `path` (absolute, no symlinks) is on: the last-mounted entry whose mount
/// point is the longest prefix of `path`.
pub fn containing<'a>(mounts: &'a [MountInfo], path: &str) -> Option<&'a MountInfo> {
    let mut best: Option<&MountInfo> = None;
    for m in mounts {
        if !is_under(path, &m.mount_point) {
            continue;
        }
        // Later entries with the same mount point are mounted on top.
        if best.is_none_or(|b| m.mount_point.len() >= b.mount_point.len()) {
            best = Some(m);
        }
    }
    best
}

/// `path` is `dir` or below it (component-wise: /foo is not under /fo).
pub fn is_under(path: &str, dir: &str) -> bool {
    if dir == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime master:3 shared:7 - cgroup cgroup rw,cpu,cpuacct
43 27 254:0 /tmp/my\\040dir/rootfs /tmp/my\\040dir/rootfs rw,relatime - ext4 /dev/vda rw
garbage line
";

    #[test]
    fn parses_fields_and_optional_tags() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 5);
        assert_eq!(m[0].mount_point, "/proc");
        assert_eq!(m[0].fs_type, "proc");
        assert!(m[0].optional.is_empty());
        assert!(m[1].is_shared());
        assert_eq!(m[3].optional, vec!["master:3", "shared:7"]);
        assert_eq!(m[3].super_options, "rw,cpu,cpuacct");
        assert_eq!(m[4].root, "/tmp/my dir/rootfs");
        assert_eq!(m[4].mount_point, "/tmp/my dir/rootfs");
    }

    #[test]
    fn finds_the_containing_mount() {
        let m = parse(SAMPLE);
        assert_eq!(containing(&m, "/tmp/my dir/rootfs").unwrap().id, 43);
        assert_eq!(containing(&m, "/tmp/my dir/rootfs/etc").unwrap().id, 43);
        assert_eq!(containing(&m, "/tmp/my dir").unwrap().id, 27);
        assert_eq!(containing(&m, "/procfoo").unwrap().id, 27);
        assert_eq!(containing(&m, "/proc/1").unwrap().id, 22);
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("a\\040b\\134c\\011"), "a b\\c\t");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
    }
}
