//! v2 freezer (runc fs2/freezer.go): `cgroup.freeze`, then wait for "frozen 1" in
//! `cgroup.events` (the kernel freezes asynchronously).

use crate::cgroups::fs;
use crate::cgroups::FreezerState;
use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::time::Duration;

pub fn set(dir: &str, frozen: bool) -> Result<()> {
    if !fs::exists(&fs::join(dir, "cgroup.freeze")) {
        // Without the freezer (kernel < 5.2), thawing is a no-op; freezing is an error.
        if !frozen {
            return Ok(());
        }
        return Err(InitError::msg(
            "freeze cgroup",
            fs::join(dir, "cgroup.freeze"),
            "freezer not supported (kernel < 5.2)",
        ));
    }
    fs::write_file(dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
    let got = state(dir)?;
    let want = if frozen {
        FreezerState::Frozen
    } else {
        FreezerState::Thawed
    };
    if got != want {
        return Err(InitError::msg(
            "freeze cgroup",
            fs::join(dir, "cgroup.freeze"),
            format!("expected state {want:?}, got {got:?}"),
        ));
    }
    Ok(())
}

pub fn state(dir: &str) -> Result<FreezerState> {
    let s = match fs::read_file(dir, "cgroup.freeze") {
        Ok(s) => s,
        Err(e) if matches!(fs::errno_of(&e), Errno::ENOENT | Errno::ENODEV) => {
            return Ok(FreezerState::Undefined)
        }
        Err(e) => return Err(e),
    };
    match s.trim() {
        "0" => Ok(FreezerState::Thawed),
        "1" => wait_frozen(dir),
        other => Err(InitError::msg(
            "read freezer state",
            fs::join(dir, "cgroup.freeze"),
            format!("unknown state {other:?}"),
        )),
    }
}

/// Polls cgroup.events for "frozen 1", every 10 ms for at most 10 s (runc's waitFrozen).
fn wait_frozen(dir: &str) -> Result<FreezerState> {
    for _ in 0..1000 {
        let ev = fs::read_file(dir, "cgroup.events")?;
        match ev.lines().find_map(|l| l.strip_prefix("frozen ")) {
            Some(v) if v.trim() == "1" => return Ok(FreezerState::Frozen),
            Some(_) => std::thread::sleep(Duration::from_millis(10)),
            None => return Ok(FreezerState::Undefined),
        }
    }
    Err(InitError::msg(
        "freeze cgroup",
        fs::join(dir, "cgroup.events"),
        "timeout of 10s reached waiting for the cgroup to freeze",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::fs::testutil::FakeDir;

    #[test]
    fn freeze_reads_events() {
        let d = FakeDir::new(&[
            ("cgroup.freeze", "0\n"),
            ("cgroup.events", "populated 1\nfrozen 1\n"),
        ]);
        set(d.path(), true).unwrap();
        assert_eq!(d.get("cgroup.freeze"), "1");
        set(d.path(), false).unwrap();
        let none = FakeDir::new(&[]);
        assert_eq!(state(none.path()).unwrap(), FreezerState::Undefined);
        assert!(set(none.path(), true).is_err());
        set(none.path(), false).unwrap();
    }
}
