//! `linux.resources.unified`: cgroup v2 files written verbatim, after validation (runc fs2
//! setUnified): the key must be a file name "<controller>.<parameter>", the controller enabled
//! for this cgroup (its cgroup.controllers) or the core "cgroup" interface.

use crate::cgroups::config::UnifiedEntry;
use crate::cgroups::fs;
use crate::error::{InitError, Result};

/// Checks a key against the controllers available to the cgroup.
pub fn validate(key: &str, controllers: &[String]) -> std::result::Result<(), String> {
    if key.contains('/') || key.contains("..") {
        return Err(format!(
            "unified resource {key:?} must be a file name (no slashes)"
        ));
    }
    let Some((ctrl, param)) = key.split_once('.') else {
        return Err(format!(
            "unified resource {key:?} must be in the form CONTROLLER.PARAMETER"
        ));
    };
    if ctrl.is_empty() || param.is_empty() {
        return Err(format!(
            "unified resource {key:?} must be in the form CONTROLLER.PARAMETER"
        ));
    }
    if ctrl != "cgroup" && !controllers.iter().any(|c| c == ctrl) {
        return Err(format!(
            "unified resource {key:?} can't be set: controller {ctrl:?} not available"
        ));
    }
    Ok(())
}

/// Validates every entry first (nothing is written when one is bad), then writes each value
/// line by line (runc's WriteFileByLine: io.max takes one device per write).
pub fn set(dir: &str, entries: &[UnifiedEntry], controllers: &[String]) -> Result<()> {
    for e in entries {
        validate(&e.key, controllers)
            .map_err(|d| InitError::msg("set unified resource", fs::join(dir, &e.key), d))?;
    }
    for e in entries {
        for line in e.value.split('\n') {
            fs::write_file(dir, &e.key, line).map_err(|err| {
                err.with_detail(format!(
                    "unable to set unified resource {:?} to {:?}",
                    e.key, line
                ))
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::fs::testutil::{writes, written, FakeDir};

    #[test]
    fn validation() {
        let c = vec!["memory".to_string(), "pids".to_string()];
        assert!(validate("memory.high", &c).is_ok());
        assert!(validate("cgroup.max.depth", &c).is_ok());
        assert!(validate("../memory.high", &c)
            .unwrap_err()
            .contains("no slashes"));
        assert!(validate("memory", &c)
            .unwrap_err()
            .contains("CONTROLLER.PARAMETER"));
        assert!(validate("cpu.weight", &c)
            .unwrap_err()
            .contains("not available"));
    }

    #[test]
    fn writes_verbatim_by_line() {
        let d = FakeDir::new(&[("memory.high", ""), ("io.max", "")]);
        let c = vec!["memory".to_string(), "io".to_string()];
        let e = |k: &str, v: &str| UnifiedEntry {
            key: k.into(),
            value: v.into(),
        };
        set(
            d.path(),
            &[
                e("memory.high", "1G"),
                e("io.max", "8:0 rbps=1\n8:16 wbps=2"),
            ],
            &c,
        )
        .unwrap();
        let w: Vec<String> = written();
        assert_eq!(
            w,
            ["memory.high=1G", "io.max=8:0 rbps=1", "io.max=8:16 wbps=2"]
        );
        assert!(set(d.path(), &[e("memory.high", "2G"), e("cpu.max", "1")], &c).is_err());
        assert!(writes().is_empty(), "nothing written when one key is bad");
    }
}
