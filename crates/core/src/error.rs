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

/// How much of an object or a detail a message quotes: a config value can be megabytes (a
/// hostname, 70,000 additionalGids), and the line users see must stay a line.
pub const QUOTE_MAX: usize = 256;
/// The same for the detail, which explains (and may quote a list).
pub const DETAIL_MAX: usize = 1024;

/// `s` cut to at most `max` bytes (on a character boundary), marker included, saying how
/// long it was; a shortened string is not shortened again (the wire and the message use the
/// same limits, see sync.rs).
pub fn shorten(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let marker = format!("… ({} bytes)", s.len());
    let mut end = max.saturating_sub(marker.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}{marker}", &s[..end]))
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", shorten(&self.step, QUOTE_MAX))?;
        if !self.path.is_empty() {
            write!(f, " `{}`", shorten(&self.path, QUOTE_MAX))?;
        }
        if !self.detail.is_empty() {
            write!(f, " ({})", shorten(&self.detail, DETAIL_MAX))?;
        }
        if self.errno != 0 {
            let e = Errno::from_raw(self.errno);
            write!(f, ": {} ({})", self.errno_name(), e.desc())?;
        }
        Ok(())
    }
}

impl std::error::Error for InitError {}

impl InitError {
    /// The error as one JSON object: the one-line message and the fields apart, so that a
    /// caller across the napi boundary gets them as properties (src/native/index.ts).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "message": self.to_string(),
            "step": self.step,
            "path": self.path,
            "errno": self.errno,
            "errnoName": self.errno_name(),
            "detail": self.detail,
        })
        .to_string()
    }
}

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
    fn long_values_are_quoted_shortened() {
        let e = InitError::sys("sethostname", "h".repeat(100_000), Errno::EINVAL);
        let text = e.to_string();
        assert!(text.len() < 400, "{}", text.len());
        assert!(text.contains("… (100000 bytes)"));
        let long = "é".repeat(30);
        let short = shorten(&long, 20);
        assert_eq!(short, "ééé… (60 bytes)");
        assert_eq!(shorten(&short, 20), short, "not shortened twice");
    }

    #[test]
    fn json_carries_the_message_and_the_fields() {
        let e = InitError::sys("mount", "/proc", Errno::EPERM);
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["message"], "mount `/proc`: EPERM (Operation not permitted)");
        assert_eq!(v["step"], "mount");
        assert_eq!(v["path"], "/proc");
        assert_eq!(v["errno"], libc::EPERM);
        assert_eq!(v["errnoName"], "EPERM");
    }

    #[test]
    fn display_names_step_path_and_errno() {
        let e = InitError::sys("mount", "/rootfs/proc", Errno::EPERM);
        assert_eq!(e.to_string(), "mount `/rootfs/proc`: EPERM (Operation not permitted)");
        let e = InitError::msg("parse mount option", "/data", "unknown option \"bogus\"");
        assert_eq!(e.to_string(), "parse mount option `/data` (unknown option \"bogus\")");
    }
}
