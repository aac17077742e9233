//! Linux capabilities: the OCI names, the five sets as bit masks, and the system calls that
//! apply them in the container init (bounding drop, capset, ambient raise).
//!
//! The sets are parsed in the parent before the fork, so a misspelt name fails `create` before
//! any process exists; the init only applies masks.

use crate::config::Capabilities;
use crate::error::{InitError, Result};
use nix::errno::Errno;

/// The capability names in kernel number order: `CAPS[n]` is capability `n`
/// (include/uapi/linux/capability.h; CAP_CHECKPOINT_RESTORE = 40 since Linux 5.9).
pub const CAPS: [&str; 41] = [
    "CAP_CHOWN",              // 0
    "CAP_DAC_OVERRIDE",       // 1
    "CAP_DAC_READ_SEARCH",    // 2
    "CAP_FOWNER",             // 3
    "CAP_FSETID",             // 4
    "CAP_KILL",               // 5
    "CAP_SETGID",             // 6
    "CAP_SETUID",             // 7
    "CAP_SETPCAP",            // 8
    "CAP_LINUX_IMMUTABLE",    // 9
    "CAP_NET_BIND_SERVICE",   // 10
    "CAP_NET_BROADCAST",      // 11
    "CAP_NET_ADMIN",          // 12
    "CAP_NET_RAW",            // 13
    "CAP_IPC_LOCK",           // 14
    "CAP_IPC_OWNER",          // 15
    "CAP_SYS_MODULE",         // 16
    "CAP_SYS_RAWIO",          // 17
    "CAP_SYS_CHROOT",         // 18
    "CAP_SYS_PTRACE",         // 19
    "CAP_SYS_PACCT",          // 20
    "CAP_SYS_ADMIN",          // 21
    "CAP_SYS_BOOT",           // 22
    "CAP_SYS_NICE",           // 23
    "CAP_SYS_RESOURCE",       // 24
    "CAP_SYS_TIME",           // 25
    "CAP_SYS_TTY_CONFIG",     // 26
    "CAP_MKNOD",              // 27
    "CAP_LEASE",              // 28
    "CAP_AUDIT_WRITE",        // 29
    "CAP_AUDIT_CONTROL",      // 30
    "CAP_SETFCAP",            // 31
    "CAP_MAC_OVERRIDE",       // 32
    "CAP_MAC_ADMIN",          // 33
    "CAP_SYSLOG",             // 34
    "CAP_WAKE_ALARM",         // 35
    "CAP_BLOCK_SUSPEND",      // 36
    "CAP_AUDIT_READ",         // 37
    "CAP_PERFMON",            // 38
    "CAP_BPF",                // 39
    "CAP_CHECKPOINT_RESTORE", // 40
];

/// The kernel number of a capability name ("CAP_SYS_ADMIN" → 21).
pub fn number(name: &str) -> Option<u32> {
    CAPS.iter().position(|c| *c == name).map(|n| n as u32)
}

/// The name of a capability number (21 → "CAP_SYS_ADMIN").
pub fn name(number: u32) -> Option<&'static str> {
    CAPS.get(number as usize).copied()
}

/// Parses a list of names into a mask (bit n = capability n). `set` names the list in errors
/// ("bounding", "effective", ...).
pub fn parse_set(names: &[String], set: &str) -> Result<u64> {
    let mut mask = 0u64;
    for n in names {
        match number(n) {
            Some(bit) => mask |= 1 << bit,
            None => {
                return Err(InitError::msg(
                    "parse capability",
                    n.as_str(),
                    format!("unknown capability in process.capabilities.{set}"),
                ))
            }
        }
    }
    Ok(mask)
}

/// The five sets as masks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
}

impl CapSets {
    /// Parses `process.capabilities`. No capabilities object means every set is empty: runc does
    /// the same (finalizeNamespace uses an empty `configs.Capabilities`), so the process runs
    /// with nothing, not with the runtime's capabilities.
    pub fn parse(caps: Option<&Capabilities>) -> Result<CapSets> {
        let Some(c) = caps else {
            return Ok(CapSets::default());
        };
        Ok(CapSets {
            bounding: parse_set(&c.bounding, "bounding")?,
            effective: parse_set(&c.effective, "effective")?,
            inheritable: parse_set(&c.inheritable, "inheritable")?,
            permitted: parse_set(&c.permitted, "permitted")?,
            ambient: parse_set(&c.ambient, "ambient")?,
        })
    }

    /// Drops the bits the running kernel does not know. runc ignores such "unavailable"
    /// capabilities with a warning rather than failing; a newer config on an older kernel then
    /// still runs.
    pub fn masked(self, last_cap: u32) -> CapSets {
        let m = valid_mask(last_cap);
        CapSets {
            bounding: self.bounding & m,
            effective: self.effective & m,
            inheritable: self.inheritable & m,
            permitted: self.permitted & m,
            ambient: self.ambient & m,
        }
    }
}

/// Bits 0..=last_cap.
pub fn valid_mask(last_cap: u32) -> u64 {
    if last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (last_cap + 1)) - 1
    }
}

/// The highest capability the kernel knows (/proc/sys/kernel/cap_last_cap).
pub fn last_cap() -> Result<u32> {
    const PATH: &str = "/proc/sys/kernel/cap_last_cap";
    let s = std::fs::read_to_string(PATH).map_err(|e| {
        InitError::sys(
            "read",
            PATH,
            Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        )
    })?;
    s.trim()
        .parse::<u32>()
        .map_err(|_| InitError::msg("read", PATH, format!("not a number: {:?}", s.trim())))
}

/// Removes every capability not in `keep` from the bounding set (PR_CAPBSET_DROP, which needs
/// CAP_SETPCAP, so this runs before the user switch).
pub fn drop_bounding(keep: u64, last_cap: u32) -> Result<()> {
    for cap in 0..=last_cap.min(63) {
        if keep & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            return Err(InitError::sys(
                "drop bounding capability",
                cap_label(cap),
                Errno::last(),
            ));
        }
    }
    Ok(())
}

#[repr(C)]
struct CapUserHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapUserData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// capget(2)/capset(2) ABI version with 64-bit sets (two data structs).
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Sets the effective, permitted and inheritable sets of the calling thread with the raw
/// capset(2) system call (glibc has no wrapper; libcap is not worth a dependency for this).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    let hdr = CapUserHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapUserData::default(); 2];
    for (i, d) in data.iter_mut().enumerate() {
        let shift = 32 * i;
        d.effective = (effective >> shift) as u32;
        d.permitted = (permitted >> shift) as u32;
        d.inheritable = (inheritable >> shift) as u32;
    }
    // SAFETY: the header and a two-element data array, as capset(2) requires for version 3.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &hdr as *const CapUserHeader,
            data.as_ptr(),
        )
    };
    if r < 0 {
        return Err(
            InitError::sys("capset", "", Errno::last()).with_detail(format!(
                "effective {effective:#x}, permitted {permitted:#x}, inheritable {inheritable:#x}"
            )),
        );
    }
    Ok(())
}

/// Clears the ambient set and raises each capability in `ambient`. Raising needs the capability
/// in both the permitted and the inheritable set (prctl(2)). Like runc 1.1, a capability that
/// cannot be raised is skipped, not an error: EINVAL (kernel before 4.3) and EPERM (not in
/// inheritable). `runc spec`'s default config lists ambient capabilities without inheritable
/// ones, and runc runs it with an empty ambient set (checked: CapAmb 0 with runc 1.1.5).
pub fn set_ambient(ambient: u64, last_cap: u32) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r < 0 && Errno::last() != Errno::EINVAL {
        return Err(InitError::sys(
            "clear ambient capabilities",
            "",
            Errno::last(),
        ));
    }
    for cap in 0..=last_cap.min(63) {
        if ambient & (1 << cap) == 0 {
            continue;
        }
        // SAFETY: as above.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                cap as libc::c_ulong,
                0,
                0,
            )
        };
        if r < 0 && !matches!(Errno::last(), Errno::EINVAL | Errno::EPERM) {
            return Err(InitError::sys(
                "raise ambient capability",
                cap_label(cap),
                Errno::last(),
            ));
        }
    }
    Ok(())
}

fn cap_label(cap: u32) -> String {
    name(cap)
        .map(str::to_string)
        .unwrap_or_else(|| format!("capability {cap}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn table_matches_kernel_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_KILL"), Some(5));
        assert_eq!(number("CAP_NET_BIND_SERVICE"), Some(10));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_AUDIT_WRITE"), Some(29));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(name(39), Some("CAP_BPF"));
        assert_eq!(name(41), None);
        // OCI names carry the CAP_ prefix; bare names are not accepted.
        assert_eq!(number("SYS_ADMIN"), None);
    }

    #[test]
    fn parse_set_builds_mask() {
        let m = parse_set(
            &names(&["CAP_CHOWN", "CAP_KILL", "CAP_CHECKPOINT_RESTORE"]),
            "bounding",
        )
        .unwrap();
        assert_eq!(m, 1 | (1 << 5) | (1 << 40));
        assert_eq!(parse_set(&[], "bounding").unwrap(), 0);
    }

    #[test]
    fn unknown_name_is_named_in_the_error() {
        let e = parse_set(&names(&["CAP_KILL", "CAP_BOGUS"]), "effective").unwrap_err();
        assert_eq!(e.step, "parse capability");
        assert_eq!(e.path, "CAP_BOGUS");
        assert!(e.detail.contains("effective"), "{e}");
    }

    #[test]
    fn missing_capabilities_object_means_no_capabilities() {
        assert_eq!(CapSets::parse(None).unwrap(), CapSets::default());
    }

    #[test]
    fn mask_drops_caps_the_kernel_lacks() {
        assert_eq!(valid_mask(40), (1u64 << 41) - 1);
        assert_eq!(valid_mask(63), u64::MAX);
        let s = CapSets {
            bounding: (1 << 40) | 1,
            ..Default::default()
        }
        .masked(39);
        assert_eq!(s.bounding, 1);
    }

    #[test]
    fn last_cap_reads_proc() {
        assert!(last_cap().unwrap() >= 36);
    }
}
