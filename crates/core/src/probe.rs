//! `runts check`: what this host gives containers, probed with the system calls themselves
//! (briefly, in children or on detached copies, never changing the runtime's own namespaces),
//! not guessed from the kernel version. Each finding is OK, WARN or FAIL with what it means for
//! containers and, when it is not OK, how to fix it; src/runtime/check.ts adds the engines'
//! configuration and prints them.

use crate::cgroups::Layout;
use crate::config::IdMapping;
use nix::errno::Errno;
#[cfg(feature = "napi")]
use napi_derive::napi;
use std::os::fd::AsRawFd;

/// One line of `runts check`.
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// "cgroups", "user namespaces", "seccomp", ...
    pub area: String,
    /// "ok", "warn" or "fail".
    pub status: String,
    /// What was found, and what it means for containers.
    pub detail: String,
    /// How to fix it (not OK only).
    pub fix: Option<String>,
}

/// Where to look (`--criu`, `--root`, the directory the compiled runts falls back to for its
/// addon where memfds cannot be executable).
#[cfg_attr(feature = "napi", napi(object))]
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    pub criu: String,
    pub state_root: String,
    pub tmp_dir: String,
    /// Where a root runtime keeps its copy of the addon (src/paths.ts ADDON_CACHE).
    pub addon_cache: String,
}

fn ok(area: &str, detail: impl Into<String>) -> Finding {
    Finding { area: area.into(), status: "ok".into(), detail: detail.into(), fix: None }
}
fn warn(area: &str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding { area: area.into(), status: "warn".into(), detail: detail.into(), fix: Some(fix.into()) }
}
fn fail(area: &str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding { area: area.into(), status: "fail".into(), detail: detail.into(), fix: Some(fix.into()) }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// Our own cgroup v2 path ("0::" in /proc/self/cgroup), "" when there is none.
fn own_v2_cgroup() -> String {
    read("/proc/self/cgroup").and_then(|t| t.lines().find_map(|l| l.strip_prefix("0::").map(str::to_owned))).unwrap_or_default()
}

/// Every finding, in the order `runts check` prints them.
pub fn host(o: &ProbeOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(cgroups());
    out.push(systemd());
    out.extend(user_namespaces());
    out.extend(seccomp());
    out.extend(syscalls());
    out.push(idmapped_mounts(&o.state_root));
    out.push(time_namespace());
    out.push(lsm());
    out.push(criu(&o.criu, &o.tmp_dir));
    out.push(state_root(&o.state_root));
    let memfd = exec_memfd(&o.addon_cache);
    let memfd_ok = memfd.status == "ok";
    out.push(memfd);
    out.push(tmp_dir(&o.tmp_dir, &o.addon_cache, memfd_ok));
    out.push(nofile());
    out
}

// ---------------------------------------------------------------- cgroups, systemd

fn cgroups() -> Vec<Finding> {
    let a = "cgroups";
    let mut out = Vec::new();
    match Layout::detect() {
        Layout::Unified => {
            let controllers = read("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default();
            out.push(ok(a, format!("cgroup v2 (unified); controllers: {controllers}")));
            // Delegated to us: what the parent of our own cgroup enables for its children.
            let own = own_v2_cgroup();
            let parent = std::path::Path::new(&own).parent().map(|p| p.display().to_string()).unwrap_or_default();
            let control = read(&format!("/sys/fs/cgroup{}/cgroup.subtree_control", parent.trim_end_matches('/'))).unwrap_or_default();
            let missing: Vec<&str> = ["cpu", "memory", "pids", "io"].into_iter().filter(|c| !control.split_whitespace().any(|x| x == *c)).collect();
            if missing.is_empty() {
                out.push(ok(a, format!("delegated where runts runs ({parent}): {control}")));
            } else {
                out.push(warn(a, format!("not enabled for the cgroups beside runts' own ({parent}): {}; limits on them cannot be set there", missing.join(" ")), "give containers a cgroupsPath under a cgroup with those controllers in cgroup.subtree_control, or use --systemd-cgroup (systemd delegates them)"));
            }
        }
        layout => {
            let mounted: Vec<String> = read("/proc/cgroups")
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() >= 4 && f[3] == "1").then(|| f[0].to_owned())
                })
                .collect();
            let kind = if layout == (Layout::Legacy { hybrid: true }) { "cgroup v1, hybrid (a cgroup2 at /sys/fs/cgroup/unified beside the v1 controllers; runts handles it, crun refuses it)" } else { "cgroup v1" };
            out.push(ok(a, format!("{kind}; controllers: {}", mounted.join(" "))));
            out.push(warn(a, "cgroup v1: no pressure stall information, no CLONE_INTO_CGROUP, and systemd and Kubernetes are leaving v1", "boot with systemd.unified_cgroup_hierarchy=1 (and cgroup_no_v1=all) for cgroup v2"));
        }
    }
    out
}

fn systemd() -> Finding {
    let a = "systemd";
    if !std::path::Path::new("/run/systemd/system").is_dir() {
        return ok(a, "not running as PID 1: --systemd-cgroup cannot be used (the cgroupfs driver is)");
    }
    let version = std::process::Command::new("systemctl").arg("--version").output().ok().and_then(|o| String::from_utf8(o.stdout).ok()).and_then(|s| s.lines().next().map(str::to_owned));
    match version {
        Some(v) => ok(a, format!("running ({v}): --systemd-cgroup makes each container a transient scope")),
        None => warn(a, "running, but systemctl --version gave nothing", "install systemd's systemctl (or check PATH)"),
    }
}

// ---------------------------------------------------------------- namespaces

/// Runs `unshare(flags)` in a child sharing our memory (it only makes the call and exits):
/// Ok, or the errno.
fn unshare_in_child(flags: libc::c_int) -> std::result::Result<(), Errno> {
    extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: raw system calls only; `arg` carries the flags by value.
        unsafe {
            let r = libc::syscall(libc::SYS_unshare, arg as usize as libc::c_long);
            let e = if r < 0 { *libc::__errno_location() } else { 0 };
            libc::syscall(libc::SYS_exit, e as libc::c_long);
        }
        0
    }
    let mut stack = vec![0u8; 16 * 1024];
    // SAFETY: the 16-byte-aligned top of a live stack; the child makes two system calls on it
    // and exits before we return (we reap it).
    unsafe {
        let top = (stack.as_mut_ptr().add(stack.len()) as usize & !15) as *mut libc::c_void;
        let pid = libc::clone(child, top, libc::CLONE_VM | libc::SIGCHLD, flags as usize as *mut libc::c_void);
        if pid < 0 {
            return Err(Errno::last());
        }
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 && Errno::last() == Errno::EINTR {}
        let code = libc::WEXITSTATUS(status);
        if code == 0 { Ok(()) } else { Err(Errno::from_raw(code)) }
    }
}

fn user_namespaces() -> Vec<Finding> {
    let a = "user namespaces";
    let mut out = Vec::new();
    let max = read("/proc/sys/user/max_user_namespaces");
    match unshare_in_child(libc::CLONE_NEWUSER) {
        Ok(()) => out.push(ok(a, format!("a user namespace can be made (max_user_namespaces {}): rootless containers, idmapped mounts and userns pods work", max.as_deref().unwrap_or("?")))),
        Err(e) => out.push(fail(
            a,
            format!("unshare(CLONE_NEWUSER) fails: {}; max_user_namespaces {}: containers with a user namespace cannot run", e, max.as_deref().unwrap_or("?")),
            "sysctl user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1 where the kernel has it, for rootless)",
        )),
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        out.push(warn(a, "kernel.unprivileged_userns_clone is 0: users other than root cannot make user namespaces (no rootless containers)", "sysctl kernel.unprivileged_userns_clone=1"));
    }
    // subuid/subgid of the caller: more than its own id in a rootless container.
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid).ok().flatten().map(|u| u.name).unwrap_or_default();
    let has = |file: &str| read(file).unwrap_or_default().lines().any(|l| l.split(':').next().is_some_and(|who| who == name || who == uid.to_string()));
    let (u, g) = (has("/etc/subuid"), has("/etc/subgid"));
    if u && g {
        out.push(ok(a, format!("{name} has ranges in /etc/subuid and /etc/subgid (rootless containers may map more ids than its own, through newuidmap/newgidmap)")));
    } else if uid.is_root() {
        out.push(ok(a, format!("{name}: no ranges in /etc/subuid and /etc/subgid (root maps ids directly; a rootless user needs them)")));
    } else {
        out.push(warn(a, format!("{name} has no ranges in {}: its rootless containers can map only its own id", if u { "/etc/subgid" } else { "/etc/subuid" }), format!("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}")));
    }
    out
}

fn time_namespace() -> Finding {
    let a = "time namespaces";
    match unshare_in_child(libc::CLONE_NEWTIME) {
        Ok(()) => ok(a, "a time namespace can be made (linux.timeOffsets)"),
        Err(e) => warn(a, format!("unshare(CLONE_NEWTIME) fails: {}: configs with a time namespace cannot run", e), "a kernel of 5.6 or later with CONFIG_TIME_NS"),
    }
}

// ---------------------------------------------------------------- seccomp

fn seccomp() -> Vec<Finding> {
    let a = "seccomp";
    const SECCOMP_GET_ACTION_AVAIL: libc::c_long = 2;
    const SECCOMP_GET_NOTIF_SIZES: libc::c_long = 3;
    // SAFETY: prctl with no pointers.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if mode < 0 {
        let e = Errno::last();
        return vec![fail(a, format!("the kernel has no seccomp (prctl PR_GET_SECCOMP: {e}): configs with linux.seccomp cannot run"), "a kernel with CONFIG_SECCOMP_FILTER")];
    }
    let actions: [(&str, u32); 7] = [
        ("SCMP_ACT_KILL_PROCESS", 0x8000_0000),
        ("SCMP_ACT_KILL_THREAD", 0),
        ("SCMP_ACT_TRAP", 0x0003_0000),
        ("SCMP_ACT_ERRNO", 0x0005_0000),
        ("SCMP_ACT_NOTIFY", 0x7fc0_0000),
        ("SCMP_ACT_TRACE", 0x7ff0_0000),
        ("SCMP_ACT_LOG", 0x7ffc_0000),
    ];
    let missing: Vec<&str> = actions
        .iter()
        .filter(|(_, ret)| {
            // SAFETY: the action value is read from a live local.
            let r = unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, ret as *const u32) };
            r < 0
        })
        .map(|(n, _)| *n)
        .collect();
    let mut out = vec![if missing.is_empty() { ok(a, format!("the kernel enforces filters, with every action runts knows: KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, NOTIFY, TRACE, LOG (runts itself: seccomp mode {mode})")) } else { warn(a, format!("this kernel lacks {}: profiles using them are refused", missing.join(", ")), "a newer kernel") }];
    // SECCOMP_SET_MODE_FILTER with no program: an unknown flag fails with EINVAL before the
    // program is read (EFAULT): nothing is ever installed.
    const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
    let flags: [(&str, libc::c_long); 6] = [
        ("SECCOMP_FILTER_FLAG_TSYNC", 1),
        ("SECCOMP_FILTER_FLAG_LOG", 2),
        ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4),
        ("SECCOMP_FILTER_FLAG_NEW_LISTENER", 8),
        ("SECCOMP_FILTER_FLAG_TSYNC_ESRCH", 16),
        // Only with a listener.
        ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 8 | 32),
    ];
    let lacking: Vec<&str> = flags
        .iter()
        .filter(|(_, bits)| {
            // SAFETY: a null program: the kernel fails the call before it reads or installs one.
            let r = unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, *bits, std::ptr::null::<u8>()) };
            r == 0 || Errno::last() != Errno::EFAULT
        })
        .map(|(n, _)| *n)
        .collect();
    out.push(if lacking.is_empty() {
        ok(a, "every filter flag: TSYNC, LOG, SPEC_ALLOW, NEW_LISTENER, TSYNC_ESRCH, WAIT_KILLABLE_RECV")
    } else {
        warn(a, format!("this kernel lacks {}: profiles with those linux.seccomp.flags are refused", lacking.join(", ")), "a newer kernel (WAIT_KILLABLE_RECV: 5.19)")
    });
    let mut sizes = [0u16; 3];
    // SAFETY: the kernel writes three u16s into `sizes`.
    if unsafe { libc::syscall(libc::SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, sizes.as_mut_ptr()) } == 0 {
        out.push(ok(a, "the notify API (SCMP_ACT_NOTIFY, seccomp agents at listenerPath) is there"));
    } else {
        out.push(warn(a, "no seccomp notify API: profiles with SCMP_ACT_NOTIFY are refused", "Linux 5.0 or later"));
    }
    out
}

// ---------------------------------------------------------------- system calls runts uses

/// Whether a system call exists: called so that it fails at once (bad arguments), ENOSYS
/// meaning it is not there.
fn exists(nr: libc::c_long, args: [libc::c_long; 5]) -> bool {
    // SAFETY: every call here is made with arguments that make it fail before it touches memory
    // (null pointers with zero sizes, invalid descriptors).
    let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4]) };
    !(r < 0 && Errno::last() == Errno::ENOSYS)
}

fn syscalls() -> Vec<Finding> {
    let mut out = Vec::new();
    // pidfd_open(2) of ourselves: engines get the init's pidfd (--pidfd-socket).
    // SAFETY: pidfd_open of our own pid; the descriptor is closed at once.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if fd >= 0 {
        // SAFETY: closing the descriptor just opened.
        unsafe { libc::close(fd as i32) };
        out.push(ok("pidfd", "pidfd_open works (--pidfd-socket, race-free signals)"));
    } else {
        out.push(warn("pidfd", format!("pidfd_open fails: {}: --pidfd-socket cannot be used", Errno::last()), "Linux 5.3 or later"));
    }
    if exists(libc::SYS_clone3, [0, 0, 0, 0, 0]) {
        out.push(clone_into_cgroup());
    } else {
        out.push(warn("clone3", "no clone3: exec'd processes join the cgroup after they start (a cgroup.procs write)", "Linux 5.3 or later (5.7 for CLONE_INTO_CGROUP)"));
    }
    // openat2(-1, NULL, NULL, 0): EFAULT/EINVAL/EBADF where it exists.
    out.push(if exists(libc::SYS_openat2, [-1, 0, 0, 0, 0]) { ok("openat2", "openat2 exists (RESOLVE_IN_ROOT lookups)") } else { warn("openat2", "no openat2", "Linux 5.6 or later") });
    out.push(if exists(libc::SYS_mount_setattr, [-1, 0, 0, 0, 0]) { ok("mount_setattr", "mount_setattr exists (recursive mount attributes, idmapped mounts)") } else { warn("mount_setattr", "no mount_setattr: idmapped mounts cannot be made", "Linux 5.12 or later") });
    out
}

/// clone3 with CLONE_INTO_CGROUP into our own cgroup v2 directory: a child that exits at once.
fn clone_into_cgroup() -> Finding {
    let a = "clone3";
    let base = match Layout::detect() {
        Layout::Legacy { hybrid: false } => return ok(a, "clone3 exists (CLONE_INTO_CGROUP needs cgroup v2, which this host does not have)"),
        Layout::Legacy { hybrid: true } => "/sys/fs/cgroup/unified",
        Layout::Unified => "/sys/fs/cgroup",
    };
    let dir = format!("{base}{}", own_v2_cgroup());
    let Ok(cg) = nix::fcntl::open(dir.as_str(), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty()) else {
        return ok(a, format!("clone3 exists (our cgroup {dir} could not be opened to try CLONE_INTO_CGROUP)"));
    };
    use crate::process::program::{CloneArgs, CLONE_INTO_CGROUP};
    let args = CloneArgs { flags: CLONE_INTO_CGROUP, exit_signal: libc::SIGCHLD as u64, cgroup: cg.as_raw_fd() as u64, ..Default::default() };
    // SAFETY: a fork-like clone3 (no CLONE_VM): the child only exits; we reap it.
    let pid = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
    if pid == 0 {
        // SAFETY: the child leaves at once.
        unsafe { libc::_exit(0) };
    }
    if pid < 0 {
        let e = Errno::last();
        return warn(a, format!("clone3 with CLONE_INTO_CGROUP fails: {e}: processes join their cgroup after they start"), "Linux 5.7 or later");
    }
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { while libc::waitpid(pid as i32, &mut status, 0) < 0 && Errno::last() == Errno::EINTR {} };
    ok(a, "clone3 with CLONE_INTO_CGROUP works: inits and exec'd processes are born in their cgroup v2")
}

/// An idmapped copy of the mount holding the state root (a detached clone, dropped at once).
fn idmapped_mounts(state_root: &str) -> Finding {
    let a = "idmapped mounts";
    let at = nearest_existing(state_root);
    let fix = "Linux 5.12 or later, and a filesystem that supports them for the rootfs and volumes (ext4, xfs, btrfs, tmpfs from 6.3, overlayfs from 5.19)";
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    let Ok(path) = std::ffi::CString::new(at.clone()) else { return warn(a, "bad path", fix) };
    // SAFETY: open_tree of a NUL-terminated path; the detached copy is owned below.
    let tree = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint) };
    if tree < 0 {
        let e = Errno::last();
        return warn(a, format!("open_tree({at}) fails: {e}: idmapped mounts cannot be made"), fix);
    }
    // SAFETY: the descriptor open_tree just returned.
    let tree = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(tree as i32) };
    let map = [IdMapping { container_id: 0, host_id: 100000, size: 65536 }];
    let userns = match crate::idmap::userns_with(&map, &map) {
        Ok(fd) => fd,
        Err(e) => return warn(a, format!("no user namespace for the mapping: {e}"), fix),
    };
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: userns.as_raw_fd() as u64 };
    // SAFETY: mount_setattr on the detached copy we own, from a live struct of its size.
    let r = unsafe { libc::syscall(libc::SYS_mount_setattr, tree.as_raw_fd(), c"".as_ptr(), libc::AT_EMPTY_PATH, &attr as *const MountAttr, std::mem::size_of::<MountAttr>()) };
    if r < 0 {
        let e = Errno::last();
        return warn(a, format!("the filesystem of {at} cannot be idmapped ({e}): idmapped mounts of it fail (others may work)"), fix);
    }
    ok(a, format!("an idmapped copy of {at}'s mount works (mounts with uidMappings, podman's :idmap)"))
}

fn nearest_existing(path: &str) -> String {
    let mut p = std::path::PathBuf::from(if path.is_empty() { "/" } else { path });
    while !p.exists() {
        if !p.pop() {
            return "/".into();
        }
    }
    p.display().to_string()
}

// ---------------------------------------------------------------- LSMs, CRIU

fn lsm() -> Finding {
    let a = "LSM";
    match (crate::lsm::apparmor_enabled(), crate::lsm::selinux_enabled()) {
        (true, true) => ok(a, "AppArmor and SELinux enabled: process.apparmorProfile and selinuxLabel are applied"),
        (true, false) => ok(a, "AppArmor enabled (process.apparmorProfile is applied); no SELinux (a selinuxLabel is refused, as runc)"),
        (false, true) => ok(a, "SELinux enabled (selinuxLabel, mountLabel applied); no AppArmor (an apparmorProfile is refused, as runc)"),
        (false, false) => ok(a, "neither AppArmor nor SELinux: configs naming a profile or label are refused, as runc"),
    }
}

fn criu(criu: &str, tmp: &str) -> Finding {
    let a = "CRIU";
    let v = match crate::criu::version(criu) {
        Ok(v) => format!("{}.{}.{}", v.major_number, v.minor_number, v.sublevel.unwrap_or(0)),
        Err(e) => return warn(a, format!("not usable ({e}): checkpoint and restore fail"), "apt-get install criu, or --criu PATH"),
    };
    let dir = std::path::Path::new(if tmp.is_empty() { "/tmp" } else { tmp }).join(format!("runts-check-criu-{}", std::process::id()));
    // CRIU's own error (the log it names is removed with the directory).
    let checked = std::fs::create_dir(&dir).map_err(|e| e.to_string()).and_then(|()| crate::criu::check(criu, &dir).map_err(|e| if e.detail.is_empty() { e.to_string() } else { e.detail.clone() }));
    let _ = std::fs::remove_dir_all(&dir);
    match checked {
        Ok(()) => ok(a, format!("{criu} {v}: criu check passes (checkpoint and restore work)")),
        Err(e) => warn(a, format!("{criu} {v}: criu check fails ({e}): checkpoint and restore fail"), "a CRIU release that supports this kernel (Debian 12's 3.17.1 cannot start on 6.18)"),
    }
}

// ---------------------------------------------------------------- runts' own directories

fn state_root(root: &str) -> Finding {
    let a = "state root";
    let at = nearest_existing(root);
    match nix::sys::statfs::statfs(at.as_str()) {
        Ok(fs) if fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC => ok(a, format!("{root} is on tmpfs ({at}): no stale containers after a reboot")),
        Ok(_) => warn(a, format!("{root} is not on tmpfs ({at}): after a reboot its containers would be listed though gone"), "use a --root on tmpfs (/run is one)"),
        Err(e) => warn(a, format!("statfs {at}: {e}"), "check --root"),
    }
}

/// Whether a memfd can be mapped executable: the init program of every container runs from a
/// sealed one (process/program.rs), and the compiled runts loads its addon from one where it
/// keeps no copy (src/native/addon.ts). vm.memfd_noexec=2 (Linux 6.3) forbids it; 1 only makes the
/// executable ones ask for it (MFD_EXEC, which runts does). Probed: created, mapped, closed.
fn exec_memfd(cache: &str) -> Finding {
    let a = "memfd";
    let sysctl = read("/proc/sys/vm/memfd_noexec").map(|v| format!("vm.memfd_noexec={v}")).unwrap_or_else(|| "no vm.memfd_noexec (before Linux 6.3)".into());
    let probe = || -> std::result::Result<(), Errno> {
        let fd = crate::process::program::memfd_with(c"runts-probe", &[0u8; 4096], true).map_err(|e| Errno::from_raw(e.errno))?;
        // SAFETY: a fresh private mapping of our own descriptor, unmapped at once.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_PRIVATE, fd.as_raw_fd(), 0) };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(p, 4096) };
        Ok(())
    };
    match probe() {
        Ok(()) => ok(a, format!("executable memfds work ({sysctl}): the init of every container runs from a sealed one, and the compiled runts loads its addon from one where it keeps no copy of its own (not root, or {cache} unusable)")),
        Err(e) => fail(a, format!("an executable memfd is refused ({sysctl}): {e}: runts cannot run a container's init (create, run and exec fail); not as root, it loads its addon from an unnamed file in TMPDIR"), "sysctl vm.memfd_noexec=1 (runts asks for executable memfds explicitly) or 0; in a container, its pid namespace inherits the value"),
    }
}

/// TMPDIR matters to runts only where memfds cannot be executable and it runs as another user
/// than root: the addon then goes into an unnamed file (O_TMPFILE) there.
fn tmp_dir(dir: &str, cache: &str, memfd_ok: bool) -> Finding {
    let a = "TMPDIR";
    let flags = match nix::sys::statvfs::statvfs(dir) {
        Ok(v) => v.flags(),
        Err(e) if memfd_ok => return ok(a, format!("statvfs {dir}: {e}: runts does not need it (its addon is mapped from {cache} or a memfd)")),
        Err(e) => return fail(a, format!("statvfs {dir}: {e}, and memfds cannot be executable: the compiled runts cannot load its addon"), "set TMPDIR to a writable directory that allows exec, or allow executable memfds"),
    };
    let why = if flags.contains(nix::sys::statvfs::FsFlags::ST_NOEXEC) {
        Some("is mounted noexec")
    } else if flags.contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
        Some("is read-only")
    } else {
        None
    };
    match (why, memfd_ok) {
        (None, true) => ok(a, format!("{dir} allows exec (runts writes nothing there: its addon is mapped from {cache} or a memfd)")),
        (None, false) => warn(a, format!("{dir} allows exec: memfds cannot be executable, so the compiled runts, not as root, loads its addon from an unnamed file there (gone when it exits)"), "allow executable memfds (vm.memfd_noexec=1)"),
        (Some(why), true) => ok(a, format!("{dir} {why}: runts does not need it (its addon is mapped from {cache} or a memfd)")),
        (Some(why), false) => fail(a, format!("{dir} {why}, and memfds cannot be executable: the compiled runts cannot load its addon"), "set TMPDIR to a writable directory that allows exec, or allow executable memfds (vm.memfd_noexec=1)"),
    }
}

fn nofile() -> Finding {
    let a = "RLIMIT_NOFILE";
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if hard < 4096 => warn(a, format!("soft {soft}, hard {hard}: containers without process.rlimits inherit a small limit"), "raise the hard limit (LimitNOFILE= for a service, limits.conf)"),
        Ok((soft, hard)) => ok(a, format!("soft {soft}, hard {hard} (what a container without process.rlimits gets, as the caller's)")),
        Err(e) => warn(a, format!("getrlimit: {e}"), "none"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finding_is_ok_warn_or_fail_and_says_how_to_fix_what_is_not_ok() {
        let found = host(&ProbeOptions { criu: "/nonexistent/criu".into(), state_root: "/run/runts".into(), tmp_dir: std::env::temp_dir().display().to_string(), addon_cache: "/var/lib/runts/addon".into() });
        assert!(found.len() >= 12, "{found:?}");
        for f in &found {
            assert!(["ok", "warn", "fail"].contains(&f.status.as_str()), "{f:?}");
            assert_eq!(f.status != "ok", f.fix.is_some(), "{f:?}");
            assert!(!f.detail.is_empty());
        }
        let criu = found.iter().find(|f| f.area == "CRIU").unwrap();
        assert_eq!(criu.status, "warn", "{criu:?}");
        assert!(criu.detail.contains("/nonexistent/criu"), "{criu:?}");
    }

    #[test]
    fn unshare_in_child_leaves_our_namespaces_alone() {
        let before = std::fs::read_link("/proc/self/ns/user").unwrap();
        let _ = unshare_in_child(libc::CLONE_NEWUSER);
        assert_eq!(std::fs::read_link("/proc/self/ns/user").unwrap(), before);
        assert_eq!(unshare_in_child(-1), Err(Errno::EINVAL));
    }
}
