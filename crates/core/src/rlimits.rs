//! `process.rlimits`: names → resources, parsed in the parent, applied by the init with
//! setrlimit(2) before the user switch.
//!
//! Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace (setrlimit(2));
//! without it the kernel answers EPERM, reported as ``setrlimit `RLIMIT_NOFILE`: EPERM``.

use crate::config::Rlimit;
use crate::error::{InitError, Result};
use nix::sys::resource::{setrlimit, Resource};

/// The sixteen Linux resources, by OCI name.
pub const RESOURCES: [(&str, Resource); 16] = [
    ("RLIMIT_CPU", Resource::RLIMIT_CPU),
    ("RLIMIT_FSIZE", Resource::RLIMIT_FSIZE),
    ("RLIMIT_DATA", Resource::RLIMIT_DATA),
    ("RLIMIT_STACK", Resource::RLIMIT_STACK),
    ("RLIMIT_CORE", Resource::RLIMIT_CORE),
    ("RLIMIT_RSS", Resource::RLIMIT_RSS),
    ("RLIMIT_NPROC", Resource::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", Resource::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", Resource::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", Resource::RLIMIT_AS),
    ("RLIMIT_LOCKS", Resource::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", Resource::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", Resource::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", Resource::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", Resource::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", Resource::RLIMIT_RTTIME),
];

/// The resource of an OCI rlimit name.
pub fn resource(name: &str) -> Option<Resource> {
    RESOURCES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// One parsed limit, ready for setrlimit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub name: String,
    pub resource: Resource,
    pub soft: libc::rlim_t,
    pub hard: libc::rlim_t,
}

/// -1 is RLIM_INFINITY (the TypeScript side maps 2^63 and above to -1); other negatives are
/// invalid.
fn limit_value(name: &str, v: i64) -> Result<libc::rlim_t> {
    match v {
        -1 => Ok(libc::RLIM_INFINITY),
        v if v >= 0 => Ok(v as libc::rlim_t),
        v => Err(InitError::msg(
            "parse rlimit",
            name,
            format!("invalid limit {v}"),
        )),
    }
}

/// Parses every entry; an unknown name or a soft limit above the hard one is an error naming
/// the rlimit.
pub fn parse(rlimits: &[Rlimit]) -> Result<Vec<Limit>> {
    rlimits
        .iter()
        .map(|r| {
            let resource = resource(&r.rlimit_type).ok_or_else(|| {
                InitError::msg(
                    "parse rlimit",
                    r.rlimit_type.as_str(),
                    "unknown rlimit type",
                )
            })?;
            let soft = limit_value(&r.rlimit_type, r.soft)?;
            let hard = limit_value(&r.rlimit_type, r.hard)?;
            if soft > hard {
                return Err(InitError::msg(
                    "parse rlimit",
                    r.rlimit_type.as_str(),
                    format!("soft limit {} is above hard limit {}", r.soft, r.hard),
                ));
            }
            Ok(Limit {
                name: r.rlimit_type.clone(),
                resource,
                soft,
                hard,
            })
        })
        .collect()
}

/// Applies the limits to the calling process, in order.
pub fn apply(limits: &[Limit]) -> Result<()> {
    for l in limits {
        setrlimit(l.resource, l.soft, l.hard).map_err(|e| {
            InitError::sys("setrlimit", l.name.as_str(), e).with_detail(format!(
                "soft {}, hard {}",
                show(l.soft),
                show(l.hard)
            ))
        })?;
    }
    Ok(())
}

fn show(v: libc::rlim_t) -> String {
    if v == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::resource::getrlimit;

    fn rl(t: &str, soft: i64, hard: i64) -> Rlimit {
        Rlimit {
            rlimit_type: t.into(),
            soft,
            hard,
        }
    }

    #[test]
    fn all_sixteen_names_resolve() {
        assert_eq!(RESOURCES.len(), 16);
        for (n, r) in RESOURCES {
            assert_eq!(resource(n), Some(r));
        }
        assert_eq!(resource("RLIMIT_NOFILE"), Some(Resource::RLIMIT_NOFILE));
        assert_eq!(resource("NOFILE"), None);
    }

    #[test]
    fn parse_maps_minus_one_to_infinity() {
        let l = parse(&[rl("RLIMIT_CORE", -1, -1), rl("RLIMIT_NOFILE", 1024, 4096)]).unwrap();
        assert_eq!(l[0].soft, libc::RLIM_INFINITY);
        assert_eq!(l[0].hard, libc::RLIM_INFINITY);
        assert_eq!((l[1].soft, l[1].hard), (1024, 4096));
    }

    #[test]
    fn parse_rejects_unknown_and_inverted() {
        let e = parse(&[rl("RLIMIT_BOGUS", 1, 1)]).unwrap_err();
        assert_eq!(
            (e.step.as_str(), e.path.as_str()),
            ("parse rlimit", "RLIMIT_BOGUS")
        );
        let e = parse(&[rl("RLIMIT_NOFILE", 10, 5)]).unwrap_err();
        assert_eq!(e.path, "RLIMIT_NOFILE");
        assert!(parse(&[rl("RLIMIT_NOFILE", -2, 5)]).is_err());
    }

    /// Runs in a forked child so the test process keeps its limits.
    #[test]
    fn apply_sets_and_reports_eperm_above_hard() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        // SAFETY: the child only makes system calls and _exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let ok = apply(&parse(&[rl("RLIMIT_NOFILE", 64, 128)]).unwrap()).is_ok()
                    && getrlimit(Resource::RLIMIT_NOFILE).unwrap() == (64, 128);
                // Raising the hard limit back needs CAP_SYS_RESOURCE.
                let e = apply(&parse(&[rl("RLIMIT_NOFILE", 64, hard as i64)]).unwrap());
                let code = match (ok, e) {
                    (true, Err(e)) if e.step == "setrlimit" && e.path == "RLIMIT_NOFILE" => 0,
                    (true, Ok(())) => 0, // running with CAP_SYS_RESOURCE
                    _ => 1,
                };
                unsafe { libc::_exit(code) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                let st = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
    }
}
