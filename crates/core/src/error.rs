//! The error every step of the container setup reports.
//!
//! Convention (crun's, see ../shared/STYLE.md): the step, the quoted object and the errno, so the
//! one line that containerd or podman shows the user says what failed, on what, and why:
//! ``mount `proc` to `/rootfs/proc`: EPERM (Operation not permitted)``.

use nix::errno::Errno;
use std::fmt;

/// A failure of one step of the container setup, in the parent or in the init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    /// What was being done: "mount", "pivot_root", "exec", "setns", "write uid_map", ...
    pub step: String,
    /// The object of the step: a path, a namespace, a capability name ("" when none).
    pub path: String,
    /// The errno, 0 when the failure has none (a bad option, a name we do not know).
    pub errno: i32,
    /// Extra detail for failures without an errno, or context ("flags: 0x5000").
    pub detail: String,
}

impl InitError {
    /// A failed system call on `path`.
    pub fn sys(step: impl Into<String>, path: impl Into<String>, errno: Errno) -> Self {
        InitError { step: step.into(), path: path.into(), errno: errno as i32, detail: String::new() }
    }

    /// A failure that is not a system call (bad option, unknown name, protocol error).
    pub fn msg(step: impl Into<String>, path: impl Into<String>, detail: impl Into<String>) -> Self {
        InitError { step: step.into(), path: path.into(), errno: 0, detail: detail.into() }
    }

    /// Adds context to the detail ("flags: 0x5000", "via /proc/self/fd/7").
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The symbolic errno name ("ENOENT"), or "" when there is none.
    pub fn errno_name(&self) -> String {
        if self.errno == 0 {
            return String::new();
        }
        let e = Errno::from_raw(self.errno);
        if e == Errno::UnknownErrno { format!("errno {}", self.errno) } else { format!("{e:?}") }
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.step)?;
        if !self.path.is_empty() {
            write!(f, " `{}`", self.path)?;
        }
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        if self.errno != 0 {
            let e = Errno::from_raw(self.errno);
            write!(f, ": {} ({})", self.errno_name(), e.desc())?;
        }
        Ok(())
    }
}

impl std::error::Error for InitError {}

/// Shorthand for the results of setup steps.
pub type Result<T> = std::result::Result<T, InitError>;

/// Attaches the step and object to a nix result: `mount(...).step("mount", dest)?`.
pub trait StepExt<T> {
    fn step(self, step: &str, path: &str) -> Result<T>;
}

impl<T> StepExt<T> for nix::Result<T> {
    fn step(self, step: &str, path: &str) -> Result<T> {
        self.map_err(|e| InitError::sys(step, path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_step_path_and_errno() {
        let e = InitError::sys("mount", "/rootfs/proc", Errno::EPERM);
        assert_eq!(e.to_string(), "mount `/rootfs/proc`: EPERM (Operation not permitted)");
        let e = InitError::msg("parse mount option", "/data", "unknown option \"bogus\"");
        assert_eq!(e.to_string(), "parse mount option `/data` (unknown option \"bogus\")");
    }
}
