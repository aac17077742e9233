//! The process environment the init completes before execve.

use std::ffi::CString;

/// runc sets HOME when the spec's env lacks it: the user's home directory from the
/// container's /etc/passwd (read after pivot_root), or "/" when there is none.
pub(crate) fn with_home(envp: &[CString], uid: u32) -> Option<CString> {
    if envp.iter().any(|e| e.as_bytes().starts_with(b"HOME=")) {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let home = home_of(&passwd, uid).unwrap_or("/");
    CString::new(format!("HOME={home}")).ok()
}

/// The home field of `uid`'s line in passwd(5) text.
fn home_of(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && f[2].parse() == Ok(uid)).then(|| f[5])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_from_passwd_or_slash() {
        let pw = "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\nbad line\n";
        assert_eq!(home_of(pw, 0), Some("/root"));
        assert_eq!(home_of(pw, 1000), Some("/home/user"));
        assert_eq!(home_of(pw, 7), None);
        let env = [CString::new("HOME=/x").unwrap()];
        assert!(with_home(&env, 0).is_none(), "a HOME in the spec is kept");
    }
}
