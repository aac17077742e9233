//! cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program generated from the rules
//! and attached to the container's cgroup directory with BPF_F_ALLOW_MULTI, through bpf(2)
//! directly (no libbpf).
//!
//! The program is the one runc generates (libcontainer/cgroups/devices/devicefilter.go, itself
//! from crun's ebpf.c): load the access type, access bits, major and minor from
//! `struct bpf_cgroup_dev_ctx`, then one block per rule of the emulator's canonical list, each
//! falling through to the next on a mismatch and returning the rule's verdict on a match; the
//! last block returns the default verdict.

use super::{Emulator, Rule};
use crate::error::{InitError, Result};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One eBPF instruction (struct bpf_insn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// include/uapi/linux/bpf.h
const BPF_DEVCG_ACC_MKNOD: i32 = 1;
const BPF_DEVCG_ACC_READ: i32 = 2;
const BPF_DEVCG_ACC_WRITE: i32 = 4;
const BPF_DEVCG_DEV_BLOCK: i32 = 1;
const BPF_DEVCG_DEV_CHAR: i32 = 2;

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

/// The program for a rule list, as runc's DeviceFilter builds it.
pub fn program(rules: &[Rule]) -> Result<Vec<Insn>> {
    let emu = Emulator::from_rules(rules)?;
    let default_allow = emu.default_allow;
    // R2 <- type (low 16 bits of access_type), R3 <- access (high 16 bits), R4 <- major,
    // R5 <- minor (struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }).
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU_AND_K, 2, 0, 0, 0xFFFF),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for r in emu.rules().into_iter().skip(1) {
        if r.allow == default_allow {
            return Err(InitError::msg(
                "build device filter",
                r.cgroup_string(),
                "internal error: no-op rule",
            ));
        }
        let ty = match r.kind {
            b'c' => BPF_DEVCG_DEV_CHAR,
            b'b' => BPF_DEVCG_DEV_BLOCK,
            _ => {
                return Err(InitError::msg(
                    "build device filter",
                    r.cgroup_string(),
                    "invalid device type",
                ))
            }
        };
        if r.major > u32::MAX as i64 || r.minor > u32::MAX as i64 {
            return Err(InitError::msg(
                "build device filter",
                r.cgroup_string(),
                "invalid major or minor",
            ));
        }
        let mut access = 0;
        if r.perms.0 & super::Perms::R != 0 {
            access |= BPF_DEVCG_ACC_READ;
        }
        if r.perms.0 & super::Perms::W != 0 {
            access |= BPF_DEVCG_ACC_WRITE;
        }
        if r.perms.0 & super::Perms::M != 0 {
            access |= BPF_DEVCG_ACC_MKNOD;
        }
        // Jumps to the next block are patched once the block's length is known.
        let mut block = vec![insn(JMP_JNE_K, 2, 0, 0, ty)];
        if access != BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD {
            // if (R3 & access) != R3 goto next  (R1 is free as a temporary)
            block.push(insn(ALU_MOV_X, 1, 3, 0, 0));
            block.push(insn(ALU_AND_K, 1, 0, 0, access));
            block.push(insn(JMP_JNE_X, 1, 3, 0, 0));
        }
        if r.major >= 0 {
            block.push(insn(JMP_JNE_K, 4, 0, 0, r.major as u32 as i32));
        }
        if r.minor >= 0 {
            block.push(insn(JMP_JNE_K, 5, 0, 0, r.minor as u32 as i32));
        }
        block.push(insn(ALU_MOV_K, 0, 0, 0, r.allow as i32));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JMP_JNE_K || ins.code == JMP_JNE_X {
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(ALU_MOV_K, 0, 0, 0, default_allow as i32));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    Ok(p)
}

/// A listing in cilium/ebpf's notation (what runc's devicefilter tests print), for tests and
/// debugging.
pub fn listing(p: &[Insn]) -> String {
    let mut out = String::new();
    for (i, x) in p.iter().enumerate() {
        let s = match x.code {
            LDX_MEM_W => format!(
                "LdXMemW dst: r{} src: r{} off: {} imm: {}",
                x.dst, x.src, x.off, x.imm
            ),
            ALU_AND_K => format!("AndImm32 dst: r{} imm: {}", x.dst, x.imm),
            ALU_RSH_K => format!("RShImm32 dst: r{} imm: {}", x.dst, x.imm),
            ALU_MOV_K => format!("MovImm32 dst: r{} imm: {}", x.dst, x.imm),
            ALU_MOV_X => format!("MovReg32 dst: r{} src: r{}", x.dst, x.src),
            JMP_JNE_K => format!("JNEImm dst: r{} off: {} imm: {}", x.dst, x.off, x.imm),
            JMP_JNE_X => format!("JNEReg dst: r{} off: {} src: r{}", x.dst, x.off, x.src),
            JMP_EXIT => "Exit".to_string(),
            c => format!("op {c:#x}"),
        };
        out.push_str(&format!("{i}: {s}\n"));
    }
    out
}

fn encode(p: &[Insn]) -> Vec<u64> {
    p.iter()
        .map(|x| {
            let mut b = [0u8; 8];
            b[0] = x.code;
            b[1] = (x.dst & 0xf) | (x.src << 4);
            b[2..4].copy_from_slice(&x.off.to_le_bytes());
            b[4..8].copy_from_slice(&x.imm.to_le_bytes());
            u64::from_le_bytes(b)
        })
        .collect()
}

// bpf(2) commands and constants.
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> std::result::Result<libc::c_long, Errno> {
    // SAFETY: attr is a properly laid out bpf_attr prefix of the size we pass.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

fn load(p: &[Insn]) -> Result<OwnedFd> {
    let code = encode(p);
    let license = b"Apache\0";
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: code.len() as u32,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: a new descriptor owned by us.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => {
            // Load again with the verifier log, for the error message.
            let mut log = vec![0u8; 64 * 1024];
            let mut attr = ProgLoadAttr {
                log_level: 1,
                log_size: log.len() as u32,
                log_buf: log.as_mut_ptr() as u64,
                ..attr
            };
            let _ = bpf(BPF_PROG_LOAD, &mut attr);
            let end = log.iter().position(|b| *b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end])
                .trim()
                .replace('\n', "; ");
            Err(
                InitError::sys("load device filter", "BPF_PROG_TYPE_CGROUP_DEVICE", e)
                    .with_detail(text),
            )
        }
    }
}

/// The ids of the device programs attached to a cgroup.
fn query(dir_fd: i32) -> Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    for _ in 0..10 {
        let mut q = QueryAttr {
            target_fd: dir_fd as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        match bpf(BPF_PROG_QUERY, &mut q) {
            Ok(_) => {
                ids.truncate(q.prog_cnt as usize);
                return Ok(ids);
            }
            // ENOSPC: prog_cnt now has the real count.
            Err(Errno::ENOSPC) => ids = vec![0u32; q.prog_cnt as usize],
            Err(e) => return Err(InitError::sys("query device filters", "BPF_PROG_QUERY", e)),
        }
    }
    Err(InitError::msg(
        "query device filters",
        "BPF_PROG_QUERY",
        "could not get the complete list",
    ))
}

/// Loads the program for `rules` and attaches it to the cgroup `dir`, then detaches the device
/// programs attached before (so an update replaces the filter; runc LoadAttachCgroupDeviceFilter
/// without BPF_F_REPLACE). Programs we may not open (an LSM says EPERM) are left alone, as runc
/// does: another device program can only restrict further.
pub fn attach(dir: &str, rules: &[Rule]) -> Result<()> {
    let prog = program(rules)?;
    let dirf = std::fs::File::open(dir).map_err(|e| super::fs::io_err("open cgroup", dir, &e))?;
    let dir_fd = dirf.as_raw_fd();
    let old = query(dir_fd)?;
    let fd = load(&prog)?;
    let mut a = AttachAttr {
        target_fd: dir_fd as u32,
        attach_bpf_fd: fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut a).map_err(|e| {
        InitError::sys("attach device filter", dir, e)
            .with_detail("BPF_PROG_ATTACH, BPF_F_ALLOW_MULTI")
    })?;
    for id in old {
        let mut g = GetFdAttr {
            prog_id: id,
            ..Default::default()
        };
        let old_fd = match bpf(BPF_PROG_GET_FD_BY_ID, &mut g) {
            // SAFETY: a new descriptor owned by us.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd as i32) },
            Err(Errno::EPERM) | Err(Errno::EACCES) | Err(Errno::ENOENT) => continue,
            Err(e) => {
                return Err(InitError::sys("open old device filter", dir, e)
                    .with_detail(format!("prog id {id}")))
            }
        };
        let mut d = AttachAttr {
            target_fd: dir_fd as u32,
            attach_bpf_fd: old_fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        bpf(BPF_PROG_DETACH, &mut d).map_err(|e| {
            InitError::sys("detach old device filter", dir, e).with_detail(format!("prog id {id}"))
        })?;
    }
    Ok(())
}

/// The kernel's tags (a hash of the instructions) of the device programs attached to `dir`:
/// equal tags mean identical programs (for tests comparing with runc, and diagnostics).
pub fn attached_tags(dir: &str) -> Result<Vec<String>> {
    const BPF_OBJ_GET_INFO_BY_FD: libc::c_int = 15;
    #[repr(C)]
    #[derive(Default)]
    struct InfoAttr {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    let dirf = std::fs::File::open(dir).map_err(|e| super::fs::io_err("open cgroup", dir, &e))?;
    let mut out = Vec::new();
    for id in query(dirf.as_raw_fd())? {
        let mut g = GetFdAttr {
            prog_id: id,
            ..Default::default()
        };
        let fd = bpf(BPF_PROG_GET_FD_BY_ID, &mut g)
            .map_err(|e| InitError::sys("open device filter", dir, e))?;
        // SAFETY: a new descriptor owned by us.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // struct bpf_prog_info starts with u32 type, u32 id, u8 tag[8].
        let mut info = [0u8; 16];
        let mut a = InfoAttr {
            bpf_fd: fd.as_raw_fd() as u32,
            info_len: 16,
            info: info.as_mut_ptr() as u64,
        };
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a)
            .map_err(|e| InitError::sys("read device filter info", dir, e))?;
        out.push(info[8..16].iter().map(|b| format!("{b:02x}")).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::devices::DEFAULT_ALLOWED;

    fn strip(s: &str) -> String {
        s.lines()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("block-"))
            .map(|l| {
                l.replace(" <block-", "#")
                    .split('#')
                    .next()
                    .unwrap()
                    .replace("off: -1", "off: X")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn ours(rules: &[Rule]) -> String {
        let l = listing(&program(rules).unwrap());
        // runc's listing shows unresolved jump offsets as -1; compare everything else.
        l.lines()
            .map(|l| {
                if l.contains("JNE") {
                    let (a, b) = l.split_once("off: ").unwrap();
                    let rest = b.split_once(' ').map(|x| x.1).unwrap_or("");
                    format!("{a}off: X {rest}").trim_end().to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn builtin_allow_list_matches_runc() {
        // runc devicefilter_test.go TestDeviceFilter_BuiltInAllowList.
        let rules: Vec<Rule> = DEFAULT_ALLOWED.iter().map(|(_, r)| *r).collect();
        let want = "0: LdXMemW dst: r2 src: r1 off: 0 imm: 0
1: AndImm32 dst: r2 imm: 65535
2: LdXMemW dst: r3 src: r1 off: 0 imm: 0
3: RShImm32 dst: r3 imm: 16
4: LdXMemW dst: r4 src: r1 off: 4 imm: 0
5: LdXMemW dst: r5 src: r1 off: 8 imm: 0
6: JNEImm dst: r2 off: -1 imm: 1 <block-1>
7: MovReg32 dst: r1 src: r3
8: AndImm32 dst: r1 imm: 1
9: JNEReg dst: r1 off: -1 src: r3 <block-1>
10: MovImm32 dst: r0 imm: 1
11: Exit
12: JNEImm dst: r2 off: -1 imm: 2 <block-2>
13: MovReg32 dst: r1 src: r3
14: AndImm32 dst: r1 imm: 1
15: JNEReg dst: r1 off: -1 src: r3 <block-2>
16: MovImm32 dst: r0 imm: 1
17: Exit
18: JNEImm dst: r2 off: -1 imm: 2 <block-3>
19: JNEImm dst: r4 off: -1 imm: 1 <block-3>
20: JNEImm dst: r5 off: -1 imm: 3 <block-3>
21: MovImm32 dst: r0 imm: 1
22: Exit
23: JNEImm dst: r2 off: -1 imm: 2 <block-4>
24: JNEImm dst: r4 off: -1 imm: 1 <block-4>
25: JNEImm dst: r5 off: -1 imm: 5 <block-4>
26: MovImm32 dst: r0 imm: 1
27: Exit
28: JNEImm dst: r2 off: -1 imm: 2 <block-5>
29: JNEImm dst: r4 off: -1 imm: 1 <block-5>
30: JNEImm dst: r5 off: -1 imm: 7 <block-5>
31: MovImm32 dst: r0 imm: 1
32: Exit
33: JNEImm dst: r2 off: -1 imm: 2 <block-6>
34: JNEImm dst: r4 off: -1 imm: 1 <block-6>
35: JNEImm dst: r5 off: -1 imm: 8 <block-6>
36: MovImm32 dst: r0 imm: 1
37: Exit
38: JNEImm dst: r2 off: -1 imm: 2 <block-7>
39: JNEImm dst: r4 off: -1 imm: 1 <block-7>
40: JNEImm dst: r5 off: -1 imm: 9 <block-7>
41: MovImm32 dst: r0 imm: 1
42: Exit
43: JNEImm dst: r2 off: -1 imm: 2 <block-8>
44: JNEImm dst: r4 off: -1 imm: 5 <block-8>
45: JNEImm dst: r5 off: -1 imm: 0 <block-8>
46: MovImm32 dst: r0 imm: 1
47: Exit
48: JNEImm dst: r2 off: -1 imm: 2 <block-9>
49: JNEImm dst: r4 off: -1 imm: 5 <block-9>
50: JNEImm dst: r5 off: -1 imm: 2 <block-9>
51: MovImm32 dst: r0 imm: 1
52: Exit
53: JNEImm dst: r2 off: -1 imm: 2 <block-10>
54: JNEImm dst: r4 off: -1 imm: 10 <block-10>
55: JNEImm dst: r5 off: -1 imm: 200 <block-10>
56: MovImm32 dst: r0 imm: 1
57: Exit
58: JNEImm dst: r2 off: -1 imm: 2 <block-11>
59: JNEImm dst: r4 off: -1 imm: 136 <block-11>
60: MovImm32 dst: r0 imm: 1
61: Exit
62: MovImm32 dst: r0 imm: 0
63: Exit";
        assert_eq!(ours(&rules), strip(want));
    }

    #[test]
    fn jumps_land_on_the_next_block() {
        let rules: Vec<Rule> = DEFAULT_ALLOWED.iter().map(|(_, r)| *r).collect();
        let p = program(&rules).unwrap();
        // Block starts are the instructions after each Exit (and index 6).
        let mut starts = vec![6usize];
        for (i, x) in p.iter().enumerate() {
            if x.code == JMP_EXIT && i + 1 < p.len() {
                starts.push(i + 1);
            }
        }
        for (i, x) in p.iter().enumerate() {
            if x.code == JMP_JNE_K || x.code == JMP_JNE_X {
                let target = (i as i64 + 1 + x.off as i64) as usize;
                let next = *starts.iter().find(|s| **s > i).unwrap();
                assert_eq!(target, next, "insn {i}");
            }
        }
    }

    #[test]
    fn privileged_except_one_and_weird() {
        let r = |s: &str, allow| Rule {
            allow,
            ..Rule::parse_list_line(s).unwrap()
        };
        let p = ours(&[r("a *:* rwm", true), r("b 8:0 rwm", false)]);
        assert!(p.ends_with("6: JNEImm dst: r2 off: X imm: 1\n7: JNEImm dst: r4 off: X imm: 8\n8: JNEImm dst: r5 off: X imm: 0\n9: MovImm32 dst: r0 imm: 0\n10: Exit\n11: MovImm32 dst: r0 imm: 1\n12: Exit"), "{p}");
        // 8/1 allowed (the "a" rule reset it), 8/2 denied: runc v1.0.0-rc9 (cgroup1) behaviour.
        let p = ours(&[
            r("b 8:1 rwm", false),
            r("a *:* rwm", true),
            r("b 8:2 rwm", false),
        ]);
        assert!(p.contains("imm: 2\n9: MovImm32 dst: r0 imm: 0"), "{p}");
        assert!(!p.contains("imm: 1\n9:"));
        let nil = ours(&[]);
        assert!(nil.ends_with("6: MovImm32 dst: r0 imm: 0\n7: Exit"));
    }
}
