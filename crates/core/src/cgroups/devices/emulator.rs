//! An emulation of the v1 devices cgroup (runc libcontainer/cgroups/devices/devices_emulator.go).
//!
//! The kernel's v1 devices cgroup is either an allow-list (default deny, "exceptions" allow) or
//! a deny-list (default allow, exceptions deny), and `devices.list` only shows the allow-list.
//! runc reduces every rule list to this model so that:
//! - v1 gets the minimal sequence of `devices.allow`/`devices.deny` writes to go from the
//!   current state to the target (no window where a running container loses a device it keeps);
//! - v2 gets the same semantics compiled to eBPF, including the refusal to "punch a hole" in a
//!   wildcard rule, which v1 silently ignores.

use super::{Perms, Rule};
use crate::error::{InitError, Result};
use std::collections::BTreeMap;

/// (major, minor, type): the sort order runc uses, wildcards (-1) first, 'b' before 'c'.
type Meta = (i64, i64, u8);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Emulator {
    /// Deny-list mode: everything is allowed except the rules.
    pub default_allow: bool,
    pub rules: BTreeMap<Meta, Perms>,
}

fn meta(r: &Rule) -> Meta {
    (r.major, r.minor, r.kind)
}

fn fmt_meta(m: Meta, p: Perms) -> String {
    Rule {
        kind: m.2,
        major: m.0,
        minor: m.1,
        perms: p,
        allow: true,
    }
    .cgroup_string()
}

impl Emulator {
    fn add(&mut self, m: Meta, p: Perms) {
        let e = self.rules.entry(m).or_insert(Perms(0));
        *e = e.union(p);
    }

    fn remove(&mut self, m: Meta, p: Perms) -> Result<()> {
        // A rule that is a subset of a wildcard rule cannot be removed on v1 (the kernel keeps
        // the wildcard and silently ignores the request); runc refuses it rather than leave
        // the user with a false sense of security.
        for partial in [(-1, m.1, m.2), (m.0, -1, m.2), (-1, -1, m.2)] {
            if partial == m {
                continue;
            }
            if let Some(pp) = self.rules.get(&partial) {
                if !pp.intersection(p).is_empty() {
                    return Err(InitError::msg(
                        "apply device rule",
                        fmt_meta(m, p),
                        format!("not supported by the devices cgroup: cannot punch a hole in the wildcard rule {:?}", fmt_meta(partial, *pp)),
                    ));
                }
            }
        }
        if let Some(cur) = self.rules.get(&m).copied() {
            let left = cur.difference(p);
            if left.is_empty() {
                self.rules.remove(&m);
            } else {
                self.rules.insert(m, left);
            }
        }
        Ok(())
    }

    /// Applies one rule, in order, as the kernel would.
    pub fn apply(&mut self, r: &Rule) -> Result<()> {
        if r.kind == b'a' {
            *self = Emulator {
                default_allow: r.allow,
                rules: BTreeMap::new(),
            };
            return Ok(());
        }
        let m = meta(r);
        match (r.allow, self.default_allow) {
            (true, true) => self.remove(m, r.perms),
            (true, false) => {
                self.add(m, r.perms);
                Ok(())
            }
            (false, true) => {
                self.add(m, r.perms);
                Ok(())
            }
            (false, false) => self.remove(m, r.perms),
        }
    }

    /// The emulator for a rule list, starting from deny-all (runc's buildEmulator).
    pub fn from_rules(rules: &[Rule]) -> Result<Emulator> {
        let mut e = Emulator::default();
        for r in rules {
            e.apply(r)?;
        }
        Ok(e)
    }

    /// The state of a v1 cgroup from its `devices.list` ("a *:* rwm" means deny-list mode).
    pub fn from_list(list: &str) -> Result<Emulator> {
        let mut e = Emulator::default();
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            let r = Rule::parse_list_line(line)?;
            // devices.list is an allow-list: "a" switches to allow-all.
            e.apply(&Rule { allow: true, ..r })?;
        }
        Ok(e)
    }

    /// The minimal rules that take a cgroup from `self` to `target` (runc's Transition).
    pub fn transition(&self, target: &Emulator) -> Vec<Rule> {
        let mut out = Vec::new();
        let mut old = &self.rules;
        let empty = BTreeMap::new();
        // A deny-list's exceptions are not visible in devices.list, so from one (or when the
        // mode changes) start over with the disruptive "a" rule.
        if self.default_allow || self.default_allow != target.default_allow {
            out.push(Rule {
                kind: b'a',
                major: -1,
                minor: -1,
                perms: Perms::ALL,
                allow: target.default_allow,
            });
            old = &empty;
        }
        for (m, p) in old {
            let dropped = p.difference(target.rules.get(m).copied().unwrap_or(Perms(0)));
            if !dropped.is_empty() {
                out.push(Rule {
                    kind: m.2,
                    major: m.0,
                    minor: m.1,
                    perms: dropped,
                    allow: target.default_allow,
                });
            }
        }
        for (m, p) in &target.rules {
            let gained = p.difference(old.get(m).copied().unwrap_or(Perms(0)));
            if !gained.is_empty() {
                out.push(Rule {
                    kind: m.2,
                    major: m.0,
                    minor: m.1,
                    perms: gained,
                    allow: !target.default_allow,
                });
            }
        }
        out
    }

    /// The canonical rule list: the default ("a") rule, then the exceptions in order.
    pub fn rules(&self) -> Vec<Rule> {
        let mut out = vec![Rule {
            kind: b'a',
            major: -1,
            minor: -1,
            perms: Perms::ALL,
            allow: self.default_allow,
        }];
        for (m, p) in &self.rules {
            out.push(Rule {
                kind: m.2,
                major: m.0,
                minor: m.1,
                perms: *p,
                allow: !self.default_allow,
            });
        }
        out
    }

    /// Whether everything is allowed (deny-list with no exceptions).
    pub fn is_allow_all(&self) -> bool {
        self.default_allow && self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str, allow: bool) -> Rule {
        Rule {
            allow,
            ..Rule::parse_list_line(s).unwrap()
        }
    }

    #[test]
    fn deny_all_then_allow_list() {
        let e = Emulator::from_rules(&[
            r("a *:* rwm", false),
            r("c 1:3 rwm", true),
            r("c 1:3 r", true),
        ])
        .unwrap();
        assert!(!e.default_allow);
        assert_eq!(e.rules.get(&(1, 3, b'c')), Some(&Perms::ALL));
    }

    #[test]
    fn cannot_punch_hole_in_wildcard() {
        let err = Emulator::from_rules(&[r("c *:* rwm", false), r("c 1:3 r", false)]);
        assert!(err.is_ok(), "default deny: removing from nothing is fine");
        let err = Emulator::from_rules(&[
            r("a *:* rwm", false),
            r("c *:* rwm", true),
            r("c 1:3 r", false),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("punch a hole"), "{err}");
    }

    #[test]
    fn transition_from_fresh_cgroup_starts_with_deny_all() {
        let cur = Emulator::from_list("a *:* rwm\n").unwrap();
        assert!(cur.default_allow);
        let target = Emulator::from_rules(&[
            r("a *:* rwm", false),
            r("c 1:5 rwm", true),
            r("b *:* m", true),
        ])
        .unwrap();
        let t: Vec<String> = cur
            .transition(&target)
            .iter()
            .map(|x| format!("{} {}", x.allow, x.cgroup_string()))
            .collect();
        assert_eq!(t, ["false a *:* rwm", "true b *:* m", "true c 1:5 rwm"]);
    }

    #[test]
    fn transition_between_allow_lists_is_minimal() {
        let cur = Emulator::from_list("c 1:3 rwm\nc 1:5 rw\n").unwrap();
        let target = Emulator::from_rules(&[
            r("a *:* rwm", false),
            r("c 1:3 rwm", true),
            r("c 1:5 rwm", true),
            r("c 1:9 r", true),
        ])
        .unwrap();
        let t: Vec<String> = cur
            .transition(&target)
            .iter()
            .map(|x| format!("{} {}", x.allow, x.cgroup_string()))
            .collect();
        assert_eq!(t, ["true c 1:5 m", "true c 1:9 r"]);
        let back = Emulator::from_rules(&[r("a *:* rwm", false), r("c 1:3 r", true)]).unwrap();
        let t: Vec<String> = cur
            .transition(&back)
            .iter()
            .map(|x| format!("{} {}", x.allow, x.cgroup_string()))
            .collect();
        assert_eq!(t, ["false c 1:3 wm", "false c 1:5 rw"]);
    }
}
