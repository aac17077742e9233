//! v1 freezer (runc fs/freezer.go). A v1 cgroup can stay in FREEZING while tasks keep
//! appearing; runc retries up to 1000 times, with an occasional thaw and short sleep, and
//! thaws again if freezing fails (a cgroup left FREEZING is dangerous).

use crate::cgroups::fs;
use crate::cgroups::FreezerState;
use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::time::Duration;

pub fn freeze(dir: &str) -> Result<()> {
    let r = try_freeze(dir);
    if r.is_err() {
        let _ = fs::write_file(dir, "freezer.state", "THAWED");
    }
    r
}

fn try_freeze(dir: &str) -> Result<()> {
    for i in 0..1000 {
        if i % 50 == 49 {
            let _ = fs::write_file(dir, "freezer.state", "THAWED");
            std::thread::sleep(Duration::from_millis(10));
        }
        fs::write_file(dir, "freezer.state", "FROZEN")?;
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_micros(10));
        }
        match fs::read_file(dir, "freezer.state")?.trim() {
            "FREEZING" => continue,
            "FROZEN" => return Ok(()),
            s => {
                return Err(InitError::msg(
                    "freeze cgroup",
                    fs::join(dir, "freezer.state"),
                    format!("unexpected state {s}"),
                ))
            }
        }
    }
    Err(InitError::msg(
        "freeze cgroup",
        fs::join(dir, "freezer.state"),
        "unable to freeze: still FREEZING",
    ))
}

pub fn thaw(dir: &str) -> Result<()> {
    fs::write_file(dir, "freezer.state", "THAWED")
}

/// The state, FROZEN only when this cgroup itself is frozen (not through an ancestor).
pub fn state(dir: &str) -> Result<FreezerState> {
    loop {
        let s = match fs::read_file(dir, "freezer.state") {
            Ok(s) => s,
            Err(e) if matches!(fs::errno_of(&e), Errno::ENOENT | Errno::ENODEV) => {
                return Ok(FreezerState::Undefined)
            }
            Err(e) => return Err(e),
        };
        match s.trim() {
            "THAWED" => return Ok(FreezerState::Thawed),
            "FROZEN" => {
                return match fs::read_file(dir, "freezer.self_freezing") {
                    Ok(v) if v.trim() == "0" => Ok(FreezerState::Thawed),
                    Ok(v) if v.trim() == "1" => Ok(FreezerState::Frozen),
                    Ok(v) => Err(InitError::msg(
                        "read freezer state",
                        fs::join(dir, "freezer.self_freezing"),
                        format!("unknown value {v:?}"),
                    )),
                    Err(_) => Ok(FreezerState::Frozen),
                };
            }
            "FREEZING" => std::thread::sleep(Duration::from_millis(1)),
            other => {
                return Err(InitError::msg(
                    "read freezer state",
                    fs::join(dir, "freezer.state"),
                    format!("unknown state {other:?}"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::fs::testutil::FakeDir;

    #[test]
    fn freeze_thaw_state() {
        let d = FakeDir::new(&[
            ("freezer.state", "THAWED\n"),
            ("freezer.self_freezing", "1\n"),
        ]);
        assert_eq!(state(d.path()).unwrap(), FreezerState::Thawed);
        freeze(d.path()).unwrap();
        assert_eq!(d.get("freezer.state"), "FROZEN");
        assert_eq!(state(d.path()).unwrap(), FreezerState::Frozen);
        thaw(d.path()).unwrap();
        assert_eq!(state(d.path()).unwrap(), FreezerState::Thawed);
    }
}
