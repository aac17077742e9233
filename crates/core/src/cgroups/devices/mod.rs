//! Device access control: the OCI `linux.resources.devices` rules plus runc's default
//! allow-list, enforced by `devices.allow`/`devices.deny` on v1 and by an eBPF program on v2.

pub mod ebpf;
pub mod emulator;

use super::config::DeviceRule;
use super::fs;
use crate::error::{InitError, Result};
pub use emulator::Emulator;

/// A set of the access bits r, w, m.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms(pub u8);

impl Perms {
    pub const R: u8 = 1;
    pub const W: u8 = 2;
    pub const M: u8 = 4;
    pub const ALL: Perms = Perms(7);

    pub fn parse(s: &str) -> Option<Perms> {
        let mut p = 0;
        for c in s.chars() {
            p |= match c {
                'r' => Self::R,
                'w' => Self::W,
                'm' => Self::M,
                _ => return None,
            };
        }
        Some(Perms(p))
    }
    pub fn union(self, o: Perms) -> Perms {
        Perms(self.0 | o.0)
    }
    pub fn intersection(self, o: Perms) -> Perms {
        Perms(self.0 & o.0)
    }
    pub fn difference(self, o: Perms) -> Perms {
        Perms(self.0 & !o.0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for Perms {
    /// Always in "rwm" order, like runc's Permissions.fromSet.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (bit, c) in [(Self::R, 'r'), (Self::W, 'w'), (Self::M, 'm')] {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A validated device rule: type 'a', 'b' or 'c'; -1 is a wildcard major or minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: u8,
    pub major: i64,
    pub minor: i64,
    pub perms: Perms,
    pub allow: bool,
}

impl Rule {
    const fn c(major: i64, minor: i64, perms: u8) -> Rule {
        Rule {
            kind: b'c',
            major,
            minor,
            perms: Perms(perms),
            allow: true,
        }
    }

    /// Validates one spec rule (runc specconv: type "a" by default, -1 for absent numbers,
    /// access must not be empty).
    pub fn from_spec(d: &DeviceRule, idx: usize) -> Result<Rule> {
        let at = format!("linux.resources.devices[{idx}]");
        let kind = match d.dev_type.as_deref().unwrap_or("") {
            "" | "a" => b'a',
            "b" => b'b',
            "c" => b'c',
            t => {
                return Err(InitError::msg(
                    "parse device rule",
                    at,
                    format!("invalid cgroup device type {t:?}"),
                ))
            }
        };
        let access = d.access.as_deref().unwrap_or("");
        if access.is_empty() {
            return Err(InitError::msg(
                "parse device rule",
                at,
                "device access cannot be empty",
            ));
        }
        let perms = Perms::parse(access).ok_or_else(|| {
            InitError::msg(
                "parse device rule",
                at.clone(),
                format!("invalid device access {access:?}"),
            )
        })?;
        // Absent or -1 is any (runc's Wildcard); anything else negative is no device number (it
        // was taken for any, which widened a rule to every device of its minor or major).
        let num = |what: &str, v: Option<i64>| match v {
            None | Some(-1) => Ok(-1),
            Some(n) if n >= 0 => Ok(n),
            Some(n) => Err(InitError::msg(
                "parse device rule",
                at.clone(),
                format!("invalid device {what} {n} (-1 for any, or a device number)"),
            )),
        };
        Ok(Rule {
            kind,
            major: num("major", d.major)?,
            minor: num("minor", d.minor)?,
            perms,
            allow: d.allow,
        })
    }

    /// Parses a `devices.list` line ("c 1:3 rwm", "a *:* rwm"); `allow` is set to true.
    pub fn parse_list_line(line: &str) -> Result<Rule> {
        let bad = || {
            InitError::msg(
                "parse devices.list",
                line,
                "line doesn't match devices.list format",
            )
        };
        let mut it = line.split_whitespace();
        let kind = match it.next().ok_or_else(bad)? {
            "a" => b'a',
            "b" => b'b',
            "c" => b'c',
            _ => return Err(bad()),
        };
        let (maj, min) = it.next().and_then(|s| s.split_once(':')).ok_or_else(bad)?;
        let num = |s: &str| {
            if s == "*" {
                Some(-1)
            } else {
                s.parse::<u32>().ok().map(i64::from)
            }
        };
        let perms = Perms::parse(it.next().ok_or_else(bad)?)
            .filter(|p| !p.is_empty())
            .ok_or_else(bad)?;
        Ok(Rule {
            kind,
            major: num(maj).ok_or_else(bad)?,
            minor: num(min).ok_or_else(bad)?,
            perms,
            allow: true,
        })
    }

    /// The form the v1 files take: "c 1:3 rwm", with "*" for wildcards (runc's CgroupString).
    pub fn cgroup_string(&self) -> String {
        let n = |v: i64| {
            if v < 0 {
                "*".to_string()
            } else {
                v.to_string()
            }
        };
        format!(
            "{} {}:{} {}",
            self.kind as char,
            n(self.major),
            n(self.minor),
            self.perms
        )
    }
}

/// runc 1.1's `specconv.AllowedDevices`, in its order: (device node path or "", rule). runc
/// 1.2 dropped /dev/net/tun (10:200); Debian's runc 1.1.5, which we are compared with, has it.
pub const DEFAULT_ALLOWED: &[(&str, Rule)] = &[
    ("", Rule::c(-1, -1, Perms::M)),
    (
        "",
        Rule {
            kind: b'b',
            major: -1,
            minor: -1,
            perms: Perms(Perms::M),
            allow: true,
        },
    ),
    ("/dev/null", Rule::c(1, 3, 7)),
    ("/dev/random", Rule::c(1, 8, 7)),
    ("/dev/full", Rule::c(1, 7, 7)),
    ("/dev/tty", Rule::c(5, 0, 7)),
    ("/dev/zero", Rule::c(1, 5, 7)),
    ("/dev/urandom", Rule::c(1, 9, 7)),
    // /dev/pts/*
    ("", Rule::c(136, -1, 7)),
    // /dev/ptmx
    ("", Rule::c(5, 2, 7)),
    // tuntap, "from the very early days of Docker"
    ("", Rule::c(10, 200, 7)),
];

/// runc's default allow rules minus those whose node the spec declares itself (specconv
/// createDevices: "if a spec device is redundant with a default device, the spec one takes
/// priority").
pub fn default_rules(spec_device_paths: &[String]) -> Vec<Rule> {
    DEFAULT_ALLOWED
        .iter()
        .filter(|(p, _)| p.is_empty() || !spec_device_paths.iter().any(|s| s == p))
        .map(|(_, r)| *r)
        .collect()
}

/// The full rule list to enforce: the spec's rules, then runc's default allow-list. As in
/// runc, the list starts from deny-all, so a spec without device rules still gets only the
/// defaults (a privileged container says `{"allow": true, "access": "rwm"}`). Applying the
/// same list again changes nothing (v1 writes only the difference; v2 swaps in an identical
/// program), which is what `update` relies on.
pub fn rules_for(r: &super::config::Resources) -> Result<Vec<Rule>> {
    let spec = r.devices.as_deref().unwrap_or(&[]);
    let mut out = Vec::with_capacity(spec.len() + DEFAULT_ALLOWED.len());
    for (i, d) in spec.iter().enumerate() {
        out.push(Rule::from_spec(d, i)?);
    }
    if !r.skip_default_devices.unwrap_or(false) {
        out.extend(default_rules(r.device_paths.as_deref().unwrap_or(&[])));
    }
    Ok(out)
}

/// v1: writes the minimal `devices.deny`/`devices.allow` sequence from the cgroup's current
/// `devices.list` to `rules`, then (with `verify`) reads the list back and checks the result
/// (runc fs/devices.go Set).
pub fn apply_v1(dir: &str, rules: &[Rule], verify: bool) -> Result<()> {
    let current = Emulator::from_list(&fs::read_file(dir, "devices.list")?)?;
    let target = Emulator::from_rules(rules)?;
    for r in current.transition(&target) {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        fs::write_file(dir, file, &r.cgroup_string())?;
    }
    if verify {
        let after = Emulator::from_list(&fs::read_file(dir, "devices.list")?)?;
        let ok = if target.default_allow {
            after.default_allow
        } else {
            after == target
        };
        if !ok {
            return Err(InitError::msg(
                "apply device rules",
                fs::join(dir, "devices.list"),
                "the resulting devices cgroup does not match the rules",
            ));
        }
    }
    Ok(())
}

/// systemd's view of the rules (runc devices/systemd.go): `DevicePolicy` and the `DeviceAllow`
/// list of (path, perms). A deny-list cannot be expressed: allow-all becomes policy "auto" with
/// no rules; any other deny-list a temporary deny-all (our own program/files enforce the rest).
pub fn systemd_properties(rules: &[Rule]) -> Result<(String, Vec<(String, String)>)> {
    let emu = Emulator::from_rules(rules)?;
    if emu.default_allow {
        if emu.is_allow_all() {
            return Ok(("auto".into(), vec![]));
        }
        return Ok(("strict".into(), vec![]));
    }
    let mut allow = Vec::new();
    for r in emu.rules().into_iter().skip(1) {
        let prefix = if r.kind == b'b' { "block" } else { "char" };
        let path = match (r.major, r.minor) {
            // "_ *:n _" cannot be expressed; our own enforcement still applies it.
            (-1, m) if m >= 0 => continue,
            (-1, _) => format!("{prefix}-*"),
            (maj, -1) => format!("{prefix}-{maj}"),
            (maj, min) => format!("/dev/{prefix}/{maj}:{min}"),
        };
        allow.push((path, r.perms.to_string()));
    }
    Ok(("strict".into(), allow))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::Resources;
    use crate::cgroups::fs::testutil::{writes, FakeDir};

    fn deny_all() -> DeviceRule {
        DeviceRule {
            allow: false,
            dev_type: None,
            major: None,
            minor: None,
            access: Some("rwm".into()),
        }
    }

    #[test]
    fn negative_numbers_other_than_minus_one_are_refused() {
        let rule = |major: Option<i64>, minor: Option<i64>| DeviceRule {
            allow: true,
            dev_type: Some("c".into()),
            major,
            minor,
            access: Some("rw".into()),
        };
        let any = Rule::from_spec(&rule(Some(-1), None), 0).unwrap();
        assert_eq!((any.major, any.minor), (-1, -1));
        let e = Rule::from_spec(&rule(Some(-5), Some(3)), 2).unwrap_err();
        assert_eq!(e.path, "linux.resources.devices[2]");
        assert!(e.detail.contains("invalid device major -5"), "{e}");
        assert!(Rule::from_spec(&rule(Some(1), Some(-3)), 0).is_err());
    }

    #[test]
    fn spec_rule_validation() {
        assert_eq!(
            Rule::from_spec(&deny_all(), 0).unwrap().cgroup_string(),
            "a *:* rwm"
        );
        let bad = DeviceRule {
            dev_type: Some("x".into()),
            ..deny_all()
        };
        assert!(Rule::from_spec(&bad, 3)
            .unwrap_err()
            .to_string()
            .contains("devices[3]"));
        let empty = DeviceRule {
            access: Some("".into()),
            ..deny_all()
        };
        assert!(Rule::from_spec(&empty, 0).is_err());
    }

    #[test]
    fn v1_default_spec_writes_what_runc_writes() {
        // runc 1.1.5 on a fresh cgroup for the default spec ({"allow":false,"access":"rwm"}):
        // "a" deny first, then the allow-list sorted by (major, minor, type).
        let d = FakeDir::new(&[
            ("devices.list", "a *:* rwm\n"),
            ("devices.allow", ""),
            ("devices.deny", ""),
        ]);
        let r = Resources {
            devices: Some(vec![deny_all()]),
            ..Default::default()
        };
        let rules = rules_for(&r).unwrap();
        apply_v1(d.path(), &rules, false).unwrap();
        let w: Vec<String> = writes()
            .into_iter()
            .map(|(f, v)| format!("{f}: {v}"))
            .collect();
        assert_eq!(
            w,
            [
                "devices.deny: a *:* rwm",
                "devices.allow: b *:* m",
                "devices.allow: c *:* m",
                "devices.allow: c 1:3 rwm",
                "devices.allow: c 1:5 rwm",
                "devices.allow: c 1:7 rwm",
                "devices.allow: c 1:8 rwm",
                "devices.allow: c 1:9 rwm",
                "devices.allow: c 5:0 rwm",
                "devices.allow: c 5:2 rwm",
                "devices.allow: c 10:200 rwm",
                "devices.allow: c 136:* rwm",
            ]
        );
    }

    #[test]
    fn v1_update_without_changes_writes_nothing() {
        let list = "b *:* m\nc *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\nc 5:2 rwm\nc 10:200 rwm\nc 136:* rwm\n";
        let d = FakeDir::new(&[
            ("devices.list", list),
            ("devices.allow", ""),
            ("devices.deny", ""),
        ]);
        let r = Resources {
            devices: Some(vec![deny_all()]),
            ..Default::default()
        };
        apply_v1(d.path(), &rules_for(&r).unwrap(), true).unwrap();
        assert!(writes().is_empty());
    }

    #[test]
    fn spec_device_paths_drop_defaults() {
        let rules = default_rules(&["/dev/null".into()]);
        assert!(!rules.iter().any(|r| r.major == 1 && r.minor == 3));
        assert_eq!(rules.len(), DEFAULT_ALLOWED.len() - 1);
    }

    #[test]
    fn systemd_device_allow() {
        let r = Resources {
            devices: Some(vec![deny_all()]),
            ..Default::default()
        };
        let (policy, allow) = systemd_properties(&rules_for(&r).unwrap()).unwrap();
        assert_eq!(policy, "strict");
        assert_eq!(allow[0], ("block-*".to_string(), "m".to_string()));
        assert!(allow.contains(&("/dev/char/1:3".into(), "rwm".into())));
        assert!(allow.contains(&("char-136".into(), "rwm".into())));
        let all = Resources {
            devices: Some(vec![DeviceRule {
                allow: true,
                ..deny_all()
            }]),
            skip_default_devices: Some(true),
            ..Default::default()
        };
        assert_eq!(
            systemd_properties(&rules_for(&all).unwrap()).unwrap(),
            ("auto".into(), vec![])
        );
    }
}
