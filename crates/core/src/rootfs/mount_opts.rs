//! OCI mount options ("ro", "rbind", "nosuid", "rro", "mode=755", ...) turned into what the
//! kernel takes: mount(2) flags, the propagation changes that need a mount(2) call of their own,
//! the recursive attributes for mount_setattr(2), and the filesystem data string.
//!
//! The tables follow runc's `parseMountOptions` (libcontainer/specconv): an option that is not a
//! flag, a propagation, a recursive attribute or an extension is filesystem data, passed through
//! unchanged in the order given ("mode=755,size=65536k"). Parsing never fails.

use nix::mount::MsFlags;

/// mount_setattr(2) attribute bits (linux/mount.h). Spelled out here rather than taken from
/// libc so the pure parsing does not depend on how a given libc version exports them.
pub mod attr {
    pub const RDONLY: u64 = 0x0000_0001;
    pub const NOSUID: u64 = 0x0000_0002;
    pub const NODEV: u64 = 0x0000_0004;
    pub const NOEXEC: u64 = 0x0000_0008;
    /// The mask of the access-time setting: setting one of the values below needs this whole
    /// mask in `attr_clr` (mount_setattr(2): "cannot simply specify the access-time setting in
    /// attr_set, but must also include MOUNT_ATTR__ATIME in the attr_clr field").
    pub const ATIME_MASK: u64 = 0x0000_0070;
    pub const RELATIME: u64 = 0x0000_0000;
    pub const NOATIME: u64 = 0x0000_0010;
    pub const STRICTATIME: u64 = 0x0000_0020;
    pub const NODIRATIME: u64 = 0x0000_0080;
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
    /// An idmapped mount (with `MountAttr::userns_fd`).
    pub const IDMAP: u64 = 0x0010_0000;

    /// The kernel's mount_attr (linux/mount.h, MOUNT_ATTR_SIZE_VER0).
    #[repr(C)]
    pub struct MountAttr {
        pub attr_set: u64,
        pub attr_clr: u64,
        pub propagation: u64,
        pub userns_fd: u64,
    }
}

/// One spec mount's options, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount(2) call (and for the remount of a bind mount).
    pub flags: MsFlags,
    /// Flags an option explicitly turned off ("rw", "suid", "dev", "exec", "atime", ...).
    pub clear: MsFlags,
    /// Propagation changes, in order, each applied by its own mount(2) call after the mount
    /// (MS_PRIVATE, MS_SLAVE|MS_REC, ...).
    pub propagation: Vec<MsFlags>,
    /// mount_setattr(2) `attr_set` for the recursive options ("rro", "rnosuid", ...),
    /// applied with AT_RECURSIVE to the whole mounted tree.
    pub attr_set: u64,
    /// mount_setattr(2) `attr_clr` ("rrw", "rsuid", ... and the atime mask).
    pub attr_clr: u64,
    /// Filesystem data: every option that is none of the above, joined with ",".
    pub data: String,
    /// `tmpcopyup`: copy the directory's content into the new tmpfs (rootfs/copyup.rs).
    pub tmpcopyup: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            clear: MsFlags::empty(),
            propagation: Vec::new(),
            attr_set: 0,
            attr_clr: 0,
            data: String::new(),
            tmpcopyup: false,
        }
    }
}

impl MountOptions {
    /// "bind" or "rbind" was given.
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// Some recursive attribute needs a mount_setattr(2) call.
    pub fn has_recursive_attrs(&self) -> bool {
        self.attr_set != 0 || self.attr_clr != 0
    }

    /// `data` for mount(2): None when empty, so the kernel sees NULL as runc passes it.
    pub fn data(&self) -> Option<&str> {
        if self.data.is_empty() {
            None
        } else {
            Some(self.data.as_str())
        }
    }
}

/// A plain flag option: sets or clears `flag`.
fn flag_option(name: &str) -> Option<(bool, MsFlags)> {
    use MsFlags as F;
    // (clear, flag): the table of runc's parseMountOptions, same names, same meanings.
    let entry = match name {
        "acl" => (false, F::MS_POSIXACL),
        "async" => (true, F::MS_SYNCHRONOUS),
        "atime" => (true, F::MS_NOATIME),
        "bind" => (false, F::MS_BIND),
        "dev" => (true, F::MS_NODEV),
        "diratime" => (true, F::MS_NODIRATIME),
        "dirsync" => (false, F::MS_DIRSYNC),
        "exec" => (true, F::MS_NOEXEC),
        "iversion" => (false, F::MS_I_VERSION),
        "lazytime" => (false, F::MS_LAZYTIME),
        "loud" => (true, F::MS_SILENT),
        "mand" => (false, F::MS_MANDLOCK),
        "noacl" => (true, F::MS_POSIXACL),
        "noatime" => (false, F::MS_NOATIME),
        "nodev" => (false, F::MS_NODEV),
        "nodiratime" => (false, F::MS_NODIRATIME),
        "noexec" => (false, F::MS_NOEXEC),
        "noiversion" => (true, F::MS_I_VERSION),
        "nolazytime" => (true, F::MS_LAZYTIME),
        "nomand" => (true, F::MS_MANDLOCK),
        "norelatime" => (true, F::MS_RELATIME),
        "nostrictatime" => (true, F::MS_STRICTATIME),
        "nosuid" => (false, F::MS_NOSUID),
        "rbind" => (false, F::MS_BIND | F::MS_REC),
        "relatime" => (false, F::MS_RELATIME),
        "remount" => (false, F::MS_REMOUNT),
        "ro" => (false, F::MS_RDONLY),
        "rw" => (true, F::MS_RDONLY),
        "silent" => (false, F::MS_SILENT),
        "strictatime" => (false, F::MS_STRICTATIME),
        "suid" => (true, F::MS_NOSUID),
        "sync" => (false, F::MS_SYNCHRONOUS),
        _ => return None,
    };
    Some(entry)
}

/// The propagation names, as mount options and as `linux.rootfsPropagation` (runc's
/// mountPropagationMapping), in the order validation lists them (src/spec/tables.generated.ts).
pub const PROPAGATIONS: [(&str, MsFlags); 8] = [
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// A propagation name, as a mount option or as `linux.rootfsPropagation`.
pub fn propagation(name: &str) -> Option<MsFlags> {
    PROPAGATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

/// A recursive attribute option: (clear, attribute).
fn recursive_option(name: &str) -> Option<(bool, u64)> {
    Some(match name {
        "rro" => (false, attr::RDONLY),
        "rrw" => (true, attr::RDONLY),
        "rnosuid" => (false, attr::NOSUID),
        "rsuid" => (true, attr::NOSUID),
        "rnodev" => (false, attr::NODEV),
        "rdev" => (true, attr::NODEV),
        "rnoexec" => (false, attr::NOEXEC),
        "rexec" => (true, attr::NOEXEC),
        "rnodiratime" => (false, attr::NODIRATIME),
        "rdiratime" => (true, attr::NODIRATIME),
        "rrelatime" => (false, attr::RELATIME),
        "rnorelatime" => (true, attr::RELATIME),
        "rnoatime" => (false, attr::NOATIME),
        "ratime" => (true, attr::NOATIME),
        "rstrictatime" => (false, attr::STRICTATIME),
        "rnostrictatime" => (true, attr::STRICTATIME),
        "rnosymfollow" => (false, attr::NOSYMFOLLOW),
        "rsymfollow" => (true, attr::NOSYMFOLLOW),
        _ => return None,
    })
}

/// runtime-spec 1.2's idmapped-mount options (runc 1.2 and later list them in `features`).
pub const IDMAP_OPTIONS: [&str; 2] = ["idmap", "ridmap"];

/// The option names runc knows (its `features` list); [`supported`] keeps those we act on.
const RUNC_OPTION_NAMES: [&str; 65] = [
    "idmap", "ridmap",
    "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec",
    "iversion", "lazytime", "loud", "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec",
    "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "nosymfollow",
    "private", "ratime", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec",
    "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime", "rnostrictatime", "rnosuid",
    "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared", "rslave",
    "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
    "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", "rdev",
];

/// Whether `name` is an option this parser acts on (rather than passing it to the filesystem
/// as data).
pub fn recognized(name: &str) -> bool {
    name == "defaults"
        || name == "tmpcopyup"
        || IDMAP_OPTIONS.contains(&name)
        || flag_option(name).is_some()
        || propagation(name).is_some()
        || recursive_option(name).is_some()
}

/// The mount options of runc's list that runts supports, sorted: what `features` reports.
pub fn supported() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = RUNC_OPTION_NAMES.iter().copied().filter(|n| recognized(n)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Parses one mount's options, later options overriding earlier ones ("ro,rw" is rw).
pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
    let mut out = MountOptions::default();
    let mut data: Vec<&str> = Vec::new();
    for option in options {
        let o = option.as_ref();
        if o == "defaults" {
            // runc passes "defaults" on as filesystem data, which tmpfs and others then reject;
            // it means "no flags" in fstab(5), so it is a no-op here.
            continue;
        }
        if IDMAP_OPTIONS.contains(&o) {
            // Acted on by the runtime, which makes the mount (idmap.rs).
            continue;
        }
        if let Some((clear, flag)) = flag_option(o) {
            if clear {
                out.flags.remove(flag);
                out.clear.insert(flag);
            } else {
                out.flags.insert(flag);
                out.clear.remove(flag);
            }
        } else if let Some(p) = propagation(o) {
            out.propagation.push(p);
        } else if let Some((clear, a)) = recursive_option(o) {
            if clear {
                out.attr_clr |= a;
                out.attr_set &= !a;
            } else {
                out.attr_set |= a;
                out.attr_clr &= !a;
                // The atime values are a 3-bit field, not flags: setting one needs the whole
                // mask in attr_clr (RELATIME is 0, so "rrelatime" is the mask alone).
                if a & !attr::ATIME_MASK == 0 {
                    out.attr_clr |= attr::ATIME_MASK;
                }
            }
        } else if o == "tmpcopyup" {
            out.tmpcopyup = true;
        } else {
            data.push(o);
        }
    }
    out.data = data.join(",");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use MsFlags as F;

    #[test]
    fn default_spec_dev_tmpfs() {
        let o = parse(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, F::MS_NOSUID | F::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.data(), Some("mode=755,size=65536k"));
        assert!(o.propagation.is_empty());
        assert!(!o.is_bind());
        assert!(!o.has_recursive_attrs());
    }

    #[test]
    fn devpts_options_pass_through_as_data() {
        let o = parse(&[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]);
        assert_eq!(o.flags, F::MS_NOSUID | F::MS_NOEXEC);
        assert_eq!(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }

    #[test]
    fn later_options_override_earlier() {
        let o = parse(&["ro", "nosuid", "rw", "suid"]);
        assert_eq!(o.flags, F::empty());
        assert_eq!(o.clear, F::MS_RDONLY | F::MS_NOSUID);
        let o = parse(&["rw", "ro"]);
        assert_eq!(o.flags, F::MS_RDONLY);
        assert_eq!(o.clear, F::empty());
        assert_eq!(o.data(), None);
    }

    #[test]
    fn bind_and_rbind() {
        let o = parse(&["bind", "ro"]);
        assert!(o.is_bind());
        assert_eq!(o.flags, F::MS_BIND | F::MS_RDONLY);
        let o = parse(&["rbind", "nodev", "noexec", "sync", "dirsync", "noatime"]);
        assert_eq!(
            o.flags,
            F::MS_BIND
                | F::MS_REC
                | F::MS_NODEV
                | F::MS_NOEXEC
                | F::MS_SYNCHRONOUS
                | F::MS_DIRSYNC
                | F::MS_NOATIME
        );
    }

    #[test]
    fn propagation_options_are_separate_calls_in_order() {
        let o = parse(&["rbind", "rprivate", "slave", "runbindable"]);
        assert_eq!(
            o.propagation,
            vec![
                F::MS_PRIVATE | F::MS_REC,
                F::MS_SLAVE,
                F::MS_UNBINDABLE | F::MS_REC
            ]
        );
        assert_eq!(o.flags, F::MS_BIND | F::MS_REC);
        assert_eq!(propagation("rshared"), Some(F::MS_SHARED | F::MS_REC));
        assert_eq!(propagation("bogus"), None);
        for (base, flag) in [
            ("private", F::MS_PRIVATE),
            ("slave", F::MS_SLAVE),
            ("shared", F::MS_SHARED),
            ("unbindable", F::MS_UNBINDABLE),
        ] {
            assert_eq!(propagation(base), Some(flag));
            assert_eq!(propagation(&format!("r{base}")), Some(flag | F::MS_REC));
        }
    }

    #[test]
    fn recursive_attributes() {
        let o = parse(&["rbind", "rro", "rnosuid", "rnodev", "rnoexec"]);
        assert_eq!(
            o.attr_set,
            attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC
        );
        assert_eq!(o.attr_clr, 0);
        assert!(o.has_recursive_attrs());
        // rro then rrw: only the clear remains.
        let o = parse(&["rro", "rrw"]);
        assert_eq!(o.attr_set, 0);
        assert_eq!(o.attr_clr, attr::RDONLY);
        // "ro" and "rro" are independent: one is a mount flag, the other an attribute.
        let o = parse(&["ro", "rro"]);
        assert_eq!(o.flags, F::MS_RDONLY);
        assert_eq!(o.attr_set, attr::RDONLY);
    }

    #[test]
    fn recursive_atime_sets_the_mask_in_clear() {
        let o = parse(&["rnoatime"]);
        assert_eq!(o.attr_set, attr::NOATIME);
        assert_eq!(o.attr_clr, attr::ATIME_MASK);
        let o = parse(&["rstrictatime"]);
        assert_eq!(o.attr_set, attr::STRICTATIME);
        assert_eq!(o.attr_clr, attr::ATIME_MASK);
        let o = parse(&["rrelatime"]);
        assert_eq!(o.attr_set, 0);
        assert_eq!(o.attr_clr, attr::ATIME_MASK);
        // nodiratime is a separate bit, not part of the atime field.
        let o = parse(&["rnodiratime"]);
        assert_eq!(o.attr_set, attr::NODIRATIME);
        assert_eq!(o.attr_clr, 0);
    }

    #[test]
    fn tmpcopyup_and_defaults() {
        let o = parse(&["tmpcopyup", "defaults", "mode=1777"]);
        assert!(o.tmpcopyup);
        assert_eq!(o.data, "mode=1777");
        assert_eq!(o.flags, F::empty());
    }

    #[test]
    fn empty_options() {
        let o = parse::<&str>(&[]);
        assert_eq!(o, MountOptions::default());
    }
}

#[cfg(test)]
mod features_tests {
    use super::*;

    #[test]
    fn supported_options_are_parsed_not_passed_as_data() {
        let names = supported();
        assert!(names.contains(&"rro") && names.contains(&"nosuid") && names.contains(&"rbind"));
        assert!(names.contains(&"tmpcopyup"));
        for n in names {
            if n == "defaults" {
                continue;
            }
            assert!(parse(&[n]).data.is_empty(), "{n} went to the filesystem data");
        }
    }
}
