//! Root tests on a real host: make a real cgroup, put a process in it, read it back, and
//! compare the files with what Debian's runc writes for the same `linux.resources`.
//!
//! Every test here is `#[ignore]`d with what it needs (root; runc and the bundle fixture for
//! the comparisons, both installed by test/setup.sh): a plain `cargo test` lists them as
//! ignored with that reason, and `cargo test -- --include-ignored` as root runs them, where a
//! missing requirement fails the test. None of them skips at run time.
//!
//! Each test runs on the host's own layout, and which one it exercised is on stderr
//! (`--nocapture`): v1 (hybrid) here, pure v2 with systemd as PID 1 in the VM of
//! ../shared/cgroupv2-vm, where test/vm/run-vm-tests.sh runs this module with the test binary
//! built on the host. The cases of the other layout (the v2 files and refusals, the systemd
//! driver) run only there; by hand:
//!
//! ```text
//! cargo test -p runts-core --no-run          # prints target/debug/deps/runts_core-<hash>
//! ../shared/cgroupv2-vm/vm-run.sh $PWD target/debug/deps/runts_core-<hash> --include-ignored cgroups::tests --test-threads=1
//! ```

use super::config::*;
use super::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Fails the test unless it runs as root (the tests are `#[ignore]`d for that reason, so this
/// only happens with `--ignored` / `--include-ignored` as another user).
fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (real cgroups): run `cargo test -- --include-ignored` as root"
    );
}

fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "runts-cgtest-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn sleeper() -> Child {
    Command::new("sleep")
        .arg("1000")
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_gone(child: &mut Child) -> std::process::ExitStatus {
    child.wait().unwrap()
}

fn read(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim_end().to_string())
}

fn dev(
    allow: bool,
    t: Option<&str>,
    maj: Option<i64>,
    min: Option<i64>,
    access: &str,
) -> DeviceRule {
    DeviceRule {
        allow,
        dev_type: t.map(String::from),
        major: maj,
        minor: min,
        access: Some(access.into()),
    }
}

/// The default spec's device rules (deny all; runc's defaults are appended by the core).
fn default_devices() -> Option<Vec<DeviceRule>> {
    Some(vec![dev(false, None, None, None, "rwm")])
}

/// Our Resources from an OCI `linux.resources` JSON (what src/spec/convert.ts does).
fn from_oci(v: &serde_json::Value) -> Resources {
    let i = |v: &serde_json::Value| v.as_i64().or_else(|| v.as_u64().map(|u| u as i64));
    let oi = |v: &serde_json::Value, k: &str| v.get(k).and_then(i);
    let throttle = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|a| a.as_array()).map(|a| {
            a.iter()
                .map(|t| ThrottleDevice {
                    major: oi(t, "major").unwrap(),
                    minor: oi(t, "minor").unwrap(),
                    rate: oi(t, "rate").unwrap(),
                })
                .collect()
        })
    };
    Resources {
        devices: v.get("devices").and_then(|d| d.as_array()).map(|a| {
            a.iter()
                .map(|d| DeviceRule {
                    allow: d["allow"].as_bool().unwrap(),
                    dev_type: d.get("type").and_then(|t| t.as_str()).map(String::from),
                    major: oi(d, "major"),
                    minor: oi(d, "minor"),
                    access: d.get("access").and_then(|t| t.as_str()).map(String::from),
                })
                .collect()
        }),
        memory: v.get("memory").map(|m| Memory {
            limit: oi(m, "limit"),
            reservation: oi(m, "reservation"),
            swap: oi(m, "swap"),
            kernel: oi(m, "kernel"),
            kernel_tcp: oi(m, "kernelTCP"),
            swappiness: oi(m, "swappiness"),
            disable_oom_killer: m.get("disableOOMKiller").and_then(|b| b.as_bool()),
            ..Default::default()
        }),
        cpu: v.get("cpu").map(|c| Cpu {
            shares: oi(c, "shares"),
            quota: oi(c, "quota"),
            burst: oi(c, "burst"),
            period: oi(c, "period"),
            realtime_runtime: oi(c, "realtimeRuntime"),
            realtime_period: oi(c, "realtimePeriod"),
            cpus: c.get("cpus").and_then(|s| s.as_str()).map(String::from),
            mems: c.get("mems").and_then(|s| s.as_str()).map(String::from),
            idle: oi(c, "idle"),
        }),
        pids_limit: v.get("pids").and_then(|p| oi(p, "limit")),
        block_io: v.get("blockIO").map(|b| BlockIo {
            weight: oi(b, "weight"),
            leaf_weight: oi(b, "leafWeight"),
            weight_device: b.get("weightDevice").and_then(|a| a.as_array()).map(|a| {
                a.iter()
                    .map(|w| WeightDevice {
                        major: oi(w, "major").unwrap(),
                        minor: oi(w, "minor").unwrap(),
                        weight: oi(w, "weight"),
                        leaf_weight: oi(w, "leafWeight"),
                    })
                    .collect()
            }),
            throttle_read_bps_device: throttle(b, "throttleReadBpsDevice"),
            throttle_write_bps_device: throttle(b, "throttleWriteBpsDevice"),
            throttle_read_iops_device: throttle(b, "throttleReadIOPSDevice"),
            throttle_write_iops_device: throttle(b, "throttleWriteIOPSDevice"),
        }),
        hugepage_limits: v.get("hugepageLimits").and_then(|a| a.as_array()).map(|a| {
            a.iter()
                .map(|h| HugepageLimit {
                    page_size: h["pageSize"].as_str().unwrap().into(),
                    limit: oi(h, "limit").unwrap(),
                })
                .collect()
        }),
        unified: v.get("unified").and_then(|u| u.as_object()).map(|o| {
            o.iter()
                .map(|(k, v)| UnifiedEntry {
                    key: k.clone(),
                    value: v.as_str().unwrap().into(),
                })
                .collect()
        }),
        ..Default::default()
    }
}

/// The bundle fixture (test/fixtures/make-bundle.sh), made once under target/ so that the VM,
/// which shares the work tree but lacks busybox, finds it too (test/vm/run-vm-tests.sh makes
/// it on the host). Fails the test when it cannot be made.
fn bundle_dir() -> String {
    // Once per test process (the tests run in parallel threads), and made under a temporary
    // name then renamed, so that another process never sees a half-made bundle.
    static MADE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let root = format!("{}/../../target/cgtest-bundle", env!("CARGO_MANIFEST_DIR"));
    if std::path::Path::new(&format!("{root}/config.json")).exists() {
        return root;
    }
    let script = format!(
        "{}/../../test/fixtures/make-bundle.sh",
        env!("CARGO_MANIFEST_DIR")
    );
    let tmp = format!("{root}.{}", std::process::id());
    let _ = std::fs::remove_dir_all(&tmp);
    let out = Command::new("bash")
        .arg(&script)
        .arg(&tmp)
        .stdout(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("bash {script}: {e}"));
    assert!(
        out.status.success(),
        "the bundle fixture: {script} {tmp} failed ({}; it needs busybox-static, installed by test/setup.sh):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // A half-made bundle from an interrupted earlier run is replaced.
    if !std::path::Path::new(&format!("{root}/config.json")).exists() {
        let _ = std::fs::remove_dir_all(&root);
        std::fs::rename(&tmp, &root).unwrap_or_else(|e| panic!("rename {tmp} {root}: {e}"));
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    root
}

/// Fails the test unless runc (installed by test/setup.sh) runs.
fn require_runc() {
    let r = Command::new("runc")
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    assert!(
        matches!(&r, Ok(s) if s.success()),
        "runc --version: {r:?}: the comparisons need Debian's runc in PATH (test/setup.sh installs it)"
    );
}

/// Runs `runc create` with `resources` and returns (cgroup paths, Ok) or runc's error text.
fn runc_create(
    id: &str,
    resources: &serde_json::Value,
    systemd: bool,
    cgroups_path: &str,
) -> std::result::Result<BTreeMap<String, String>, String> {
    let base = bundle_dir();
    let dir = format!("{}/../../target/{id}", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{base}/config.json")).unwrap())
            .unwrap();
    cfg["root"]["path"] = json!(format!("{base}/rootfs"));
    cfg["process"]["args"] = json!(["sleep", "1000"]);
    cfg["linux"]["resources"] = resources.clone();
    if !cgroups_path.is_empty() {
        cfg["linux"]["cgroupsPath"] = json!(cgroups_path);
    }
    std::fs::write(
        format!("{dir}/config.json"),
        serde_json::to_string_pretty(&cfg).unwrap(),
    )
    .unwrap();
    let mut cmd = Command::new("runc");
    if systemd {
        cmd.arg("--systemd-cgroup");
    }
    // The container inherits runc's stdio: files, not pipes, or reading them would wait for
    // the container to exit.
    let errf = format!("{dir}.stderr");
    let status = cmd
        .args(["create", "--bundle", &dir, id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&errf).unwrap())
        .status()
        .unwrap();
    let stderr = std::fs::read_to_string(&errf).unwrap_or_default();
    let _ = std::fs::remove_file(&errf);
    if !status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(stderr);
    }
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("/run/runc/{id}/state.json")).unwrap(),
    )
    .unwrap();
    let paths = state["cgroup_paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    Ok(paths)
}

fn runc_delete(id: &str) {
    let _ = Command::new("runc").args(["delete", "-f", id]).status();
    let _ = std::fs::remove_dir_all(format!("{}/../../target/{id}", env!("CARGO_MANIFEST_DIR")));
}

/// The files compared with runc, per subsystem ("" on v2).
const V1_FILES: &[(&str, &str)] = &[
    ("memory", "memory.limit_in_bytes"),
    ("memory", "memory.soft_limit_in_bytes"),
    ("memory", "memory.memsw.limit_in_bytes"),
    ("memory", "memory.swappiness"),
    ("memory", "memory.oom_control"),
    ("cpu", "cpu.shares"),
    ("cpu", "cpu.cfs_quota_us"),
    ("cpu", "cpu.cfs_period_us"),
    ("cpu", "cpu.rt_runtime_us"),
    ("cpu", "cpu.rt_period_us"),
    ("cpu", "cpu.idle"),
    ("cpuset", "cpuset.cpus"),
    ("cpuset", "cpuset.mems"),
    ("pids", "pids.max"),
    ("blkio", "blkio.bfq.weight"),
    ("blkio", "blkio.bfq.weight_device"),
    ("blkio", "blkio.weight"),
    ("blkio", "blkio.throttle.read_bps_device"),
    ("blkio", "blkio.throttle.write_bps_device"),
    ("blkio", "blkio.throttle.read_iops_device"),
    ("blkio", "blkio.throttle.write_iops_device"),
    ("devices", "devices.list"),
    ("freezer", "freezer.state"),
];

const V2_FILES: &[&str] = &[
    "memory.max",
    "memory.low",
    "memory.high",
    "memory.swap.max",
    "cpu.weight",
    "cpu.max",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "io.weight",
    "io.bfq.weight",
    "io.max",
    "hugetlb.2MB.max",
    "hugetlb.2MB.rsvd.max",
    "cgroup.freeze",
    "cgroup.type",
    "cgroup.subtree_control",
];

fn snapshot(paths: &[(String, String)], v2: bool) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    if v2 {
        let dir = &paths.iter().find(|(s, _)| s.is_empty()).unwrap().1;
        for f in V2_FILES {
            out.insert(f.to_string(), read(&format!("{dir}/{f}")));
        }
        out.insert(
            "device programs (tags)".into(),
            devices::ebpf::attached_tags(dir).ok().map(|t| t.join(",")),
        );
        return out;
    }
    for (sub, f) in V1_FILES {
        let v = paths
            .iter()
            .find(|(s, _)| s == sub)
            .and_then(|(_, d)| read(&format!("{d}/{f}")));
        // Only the configured part of memory.oom_control (under_oom and the kill count vary).
        let v = if *f == "memory.oom_control" {
            v.and_then(|s| s.lines().next().map(String::from))
        } else {
            v
        };
        out.insert(format!("{sub}/{f}"), v);
    }
    out
}

/// What runc and runts both did with a `linux.resources`.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Both accepted it and wrote the same files.
    SameFiles,
    /// Both refused it.
    BothRefuse,
}

/// Creates a cgroup for `resources` with runc and with us, and compares the files. Panics
/// when they differ, when only one of them refuses, or when it cannot run here (not root,
/// no runc, no bundle fixture); the caller asserts which of the two agreements it expects.
fn compare_with_runc(name: &str, resources: serde_json::Value, systemd: bool) -> Outcome {
    require_root();
    require_runc();
    bundle_dir();
    let v2 = Layout::detect() == Layout::Unified;
    eprintln!("{name}: on {:?}", Layout::detect());
    let rid = unique(&format!("runc-{name}"));
    let oid = unique(&format!("ours-{name}"));
    let (rpath, opath) = if systemd {
        (
            format!("system.slice:runts-test:{rid}"),
            format!("system.slice:runts-test:{oid}"),
        )
    } else {
        (String::new(), String::new())
    };
    let runc = runc_create(&rid, &resources, systemd, &rpath);
    // The same directories as runc's, with the container id swapped.
    if let (Ok(rp), false) = (&runc, systemd) {
        let ours = Manager::new(&CgroupSpec {
            id: rid.clone(),
            ..Default::default()
        })
        .unwrap()
        .paths();
        let ours: BTreeMap<String, String> = ours.into_iter().collect();
        assert_eq!(&ours, rp, "cgroup paths like runc's");
    }
    let theirs = runc.as_ref().map(|p| {
        let pv: Vec<(String, String)> = p.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        snapshot(&pv, v2)
    });
    runc_delete(&rid);

    let spec = CgroupSpec {
        cgroups_path: opath,
        systemd,
        rootless: false,
        id: oid.clone(),
        resources: Some(from_oci(&resources)),
    };
    let mut child = sleeper();
    let ours = (|| -> Result<BTreeMap<String, Option<String>>> {
        let mut m = Manager::new(&spec)?;
        let r = m
            .create(Some(child.id() as i32))
            .and_then(|_| m.apply_resources(spec.resources.as_ref().unwrap()));
        let snap = snapshot(&m.paths(), v2);
        let _ = child.kill();
        let _ = child.wait();
        m.destroy()?;
        r.map(|_| snap)
    })();
    let _ = child.kill();
    let _ = child.wait();

    match (&theirs, &ours) {
        (Ok(t), Ok(o)) => {
            let mut diffs = Vec::new();
            for (k, tv) in t {
                let ov = o.get(k).cloned().flatten();
                let tv = tv.clone();
                eprintln!("{name}: {k}: runc={tv:?} runts={ov:?}");
                if tv != ov {
                    diffs.push(format!("{k}: runc={tv:?} runts={ov:?}"));
                }
            }
            assert!(
                diffs.is_empty(),
                "{name}: differences from runc:\n{}",
                diffs.join("\n")
            );
            Outcome::SameFiles
        }
        (Err(te), Err(oe)) => {
            eprintln!("{name}: both refuse: runc: {} / runts: {oe}", te.trim());
            Outcome::BothRefuse
        }
        (Err(te), Ok(_)) => panic!("{name}: runc refused ({}) but runts accepted", te.trim()),
        (Ok(_), Err(oe)) => panic!("{name}: runc accepted but runts refused: {oe}"),
    }
}

fn full_resources() -> serde_json::Value {
    json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 268435456, "reservation": 134217728, "swap": 536870912, "swappiness": 30, "disableOOMKiller": true},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 100},
        "blockIO": {"weight": 300,
                    "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]}
    })
}

fn unlimited_resources() -> serde_json::Value {
    json!({
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 4, "access": "rw"},
            {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "r"}
        ],
        "memory": {"limit": -1},
        "cpu": {"quota": -1, "shares": 2},
        "pids": {"limit": -1}
    })
}

fn rt_resources() -> serde_json::Value {
    json!({"devices": [{"allow": true, "access": "rwm"}], "cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000, "shares": 262144}})
}

/// Whether this kernel's blkio hierarchy has a weight file (CFQ's or BFQ's).
fn v1_has_blkio_weight() -> bool {
    ["blkio.weight", "blkio.bfq.weight"]
        .iter()
        .any(|f| std::path::Path::new("/sys/fs/cgroup/blkio").join(f).exists())
}

fn legacy() -> bool {
    matches!(Layout::detect(), Layout::Legacy { .. })
}

#[test]
#[ignore = "needs root, runc and the bundle fixture: cgroups made by runc and by runts"]
fn files_match_runc_full() {
    if legacy() {
        let mut r = full_resources();
        // A kernel without BFQ (and without CFQ's blkio.weight) has no weight file: both
        // refuse the weight (checked on its own), and the rest is compared without it.
        if !v1_has_blkio_weight() {
            eprintln!("no blkio.weight or blkio.bfq.weight on this kernel: v1full without blockIO.weight");
            r["blockIO"].as_object_mut().unwrap().remove("weight");
            assert_eq!(
                compare_with_runc("v1weight", json!({"blockIO": {"weight": 300}}), false),
                Outcome::BothRefuse
            );
        }
        assert_eq!(compare_with_runc("v1full", r, false), Outcome::SameFiles);
    } else {
        let mut r = full_resources();
        r["blockIO"] = json!({"weight": 300, "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1048576}]});
        r["unified"] = json!({"memory.high": "200000000"});
        assert_eq!(compare_with_runc("v2full", r, false), Outcome::SameFiles);
    }
}

#[test]
#[ignore = "needs root, runc and the bundle fixture: cgroups made by runc and by runts"]
fn files_match_runc_unlimited() {
    let name = if legacy() { "v1unl" } else { "v2unl" };
    assert_eq!(
        compare_with_runc(name, unlimited_resources(), false),
        Outcome::SameFiles
    );
}

#[test]
#[ignore = "needs root, runc and the bundle fixture: cgroups made by runc and by runts"]
fn files_match_runc_realtime() {
    let name = if legacy() { "v1rt" } else { "v2rt" };
    assert_eq!(
        compare_with_runc(name, rt_resources(), false),
        Outcome::SameFiles
    );
}

#[test]
#[ignore = "needs root, runc and the bundle fixture: cgroups made by runc and by runts"]
fn refusals_match_runc() {
    let refuse = |name: &str, r: serde_json::Value| {
        assert_eq!(
            compare_with_runc(name, r, false),
            Outcome::BothRefuse,
            "{name}"
        );
    };
    if legacy() {
        v1_refusals(refuse);
    } else {
        refuse("v2badunified", json!({"unified": {"nosuch.file": "1"}}));
        refuse("v2swapnomem", json!({"memory": {"swap": 1000000}}));
    }
}

fn v1_refusals(refuse: impl Fn(&str, serde_json::Value)) {
    // unified on v1.
    refuse("v1unified", json!({"unified": {"memory.high": "1G"}}));
    refuse("v1swappiness", json!({"memory": {"swappiness": 101}}));
    // BFQ on the CI machines has no per-device weights: blkio.bfq.weight_device says
    // EOPNOTSUPP to both. A kernel that has them fails this: then compare the files instead.
    refuse(
        "v1weightdev",
        json!({"blockIO": {"weightDevice": [{"major": 254, "minor": 0, "weight": 400}]}}),
    );
    // Where hugetlb is not a v1 hierarchy (on the CI machines' hybrid layout it is bound to
    // the cgroup2 mount), both refuse; where it is one, both write the limit.
    let hugetlb = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    if std::path::Path::new("/sys/fs/cgroup/hugetlb").exists() {
        assert_eq!(
            compare_with_runc("v1hugetlb", hugetlb, false),
            Outcome::SameFiles
        );
    } else {
        refuse("v1hugetlb", hugetlb);
    }
}

/// The systemd driver where systemd is PID 1 (the VM of test/vm/run-vm-tests.sh): the unit's
/// cgroup goes through the lifecycle and its files are runc's. Where systemd does not run (the
/// CI machines), asking for the driver is refused, saying why.
#[test]
#[ignore = "needs root (and where systemd runs, runc and the bundle fixture): systemd-driven cgroups"]
fn systemd_driver_on_this_host() {
    require_root();
    if !systemd::is_running() {
        eprintln!("systemd is not running here: checking the refusal only");
        let spec = CgroupSpec {
            systemd: true,
            id: "x".into(),
            ..Default::default()
        };
        let e = Manager::new(&spec).err().expect("an error");
        assert_eq!(
            e.to_string(),
            "systemd cgroup (systemd is not running (no /run/systemd/system))"
        );
    } else {
        let id = unique("sd");
        lifecycle(CgroupSpec {
            cgroups_path: format!("system.slice:runts-test:{id}"),
            systemd: true,
            id,
            resources: Some(lifecycle_resources()),
            ..Default::default()
        });
        let mut r = full_resources();
        r["blockIO"] = json!({"weight": 300});
        assert_eq!(compare_with_runc("sdfull", r, true), Outcome::SameFiles);
    }
}

/// create → pids → freeze/thaw → stats → kill_all → destroy on the host's own layout.
fn lifecycle(spec: CgroupSpec) {
    let mut child = sleeper();
    let pid = child.id() as i32;
    let mut m = Manager::new(&spec).unwrap();
    m.create(Some(pid)).unwrap();
    m.apply_resources(spec.resources.as_ref().unwrap()).unwrap();
    for p in m.procs_paths() {
        let procs = read(&p).unwrap();
        assert!(
            procs.lines().any(|l| l == pid.to_string()),
            "{pid} in {p}: {procs}"
        );
    }
    assert_eq!(m.pids().unwrap(), vec![pid]);
    assert_eq!(m.state().unwrap(), FreezerState::Thawed);
    m.freeze().unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Frozen);
    let st = read(&format!("/proc/{pid}/status")).unwrap();
    eprintln!(
        "frozen child state: {}",
        st.lines().find(|l| l.starts_with("State:")).unwrap()
    );
    m.thaw().unwrap();
    assert_eq!(m.state().unwrap(), FreezerState::Thawed);

    let stats = m.stats().unwrap();
    assert!(stats.pids.current >= 1);
    assert_eq!(stats.pids.limit, 50);
    assert_eq!(stats.memory.usage.limit, 64 << 20);
    let json = stats.to_json();
    eprintln!("stats: {json}");
    assert!(json.starts_with("{\"cpu\":{\"usage\":{"));

    // A reloaded manager sees the same cgroup.
    let saved = m.paths();
    let m2 = Manager::load(&spec, &saved).unwrap();
    assert_eq!(m2.pids().unwrap(), vec![pid]);
    m2.kill_all(libc::SIGKILL).unwrap();
    let status = wait_gone(&mut child);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    // No process is left (systemd may already have removed the scope's cgroup: the manager
    // reports that as no process too).
    let pids = m.pids().expect("pids after kill_all");
    assert!(pids.is_empty(), "{pids:?} left after kill_all");
    m.destroy().unwrap();
    for (_, p) in &saved {
        assert!(!std::path::Path::new(p).exists(), "{p} removed");
    }
    assert!(!m.exists());
}

fn lifecycle_resources() -> Resources {
    Resources {
        devices: default_devices(),
        memory: Some(Memory {
            limit: Some(64 << 20),
            ..Default::default()
        }),
        pids_limit: Some(50),
        cpu: Some(Cpu {
            shares: Some(256),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
#[ignore = "needs root: real cgroups on the host's layout"]
fn lifecycle_on_this_host() {
    require_root();
    lifecycle(CgroupSpec {
        id: unique("life"),
        resources: Some(lifecycle_resources()),
        ..Default::default()
    });
    // An absolute cgroupsPath, one level deeper.
    let abs = format!("/{}/c", unique("abs"));
    lifecycle(CgroupSpec {
        cgroups_path: abs.clone(),
        id: "x".into(),
        resources: Some(lifecycle_resources()),
        ..Default::default()
    });
    let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/{}", abs.trim_end_matches("/c")));
    for (_, p) in Manager::new(&CgroupSpec {
        cgroups_path: abs.clone(),
        id: "x".into(),
        ..Default::default()
    })
    .unwrap()
    .paths()
    {
        let _ = std::fs::remove_dir(p.trim_end_matches("/c"));
    }
}

#[test]
#[ignore = "needs root: a real cgroup"]
fn kill_all_without_cgroup_kill_signals_every_pid() {
    require_root();
    let spec = CgroupSpec {
        id: unique("term"),
        resources: Some(Resources::default()),
        ..Default::default()
    };
    let mut a = sleeper();
    let mut b = sleeper();
    let mut m = Manager::new(&spec).unwrap();
    m.create(Some(a.id() as i32)).unwrap();
    m.add_pid(b.id() as i32).unwrap();
    let mut pids = m.pids().unwrap();
    pids.sort();
    assert_eq!(pids.len(), 2);
    m.kill_all(libc::SIGTERM).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(a.wait().unwrap().signal(), Some(libc::SIGTERM));
    assert_eq!(b.wait().unwrap().signal(), Some(libc::SIGTERM));
    m.destroy().unwrap();
}

#[test]
#[ignore = "needs root: a real cgroup with a memory limit"]
fn oom_is_reported() {
    require_root();
    let spec = CgroupSpec {
        id: unique("oom"),
        resources: Some(Resources {
            memory: Some(Memory {
                limit: Some(16 << 20),
                swap: Some(16 << 20),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut m = Manager::new(&spec).unwrap();
    // A process that waits for its cgroup, then allocates 64 MiB (dd's buffer).
    let mut holder = sleeper();
    m.create(Some(holder.id() as i32)).unwrap();
    m.apply_resources(spec.resources.as_ref().unwrap()).unwrap();
    let w = m.oom_watcher().unwrap();
    let procs = m.procs_paths();
    let script = format!(
        "for p in {}; do echo $$ > $p; done; exec dd if=/dev/zero of=/dev/null bs=64M count=1",
        procs.join(" ")
    );
    let mut hog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ev = w.wait(Some(std::time::Duration::from_secs(20))).unwrap();
    use std::os::unix::process::ExitStatusExt;
    let st = hog.wait().unwrap();
    assert_eq!(ev, OomEvent::Oom, "hog exit {st:?}");
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    let _ = holder.kill();
    let _ = holder.wait();
    // After the last process, v2 reports the cgroup empty; v1 reports nothing until removal.
    if m.is_v2() {
        assert_eq!(
            w.wait(Some(std::time::Duration::from_secs(5))).unwrap(),
            OomEvent::Gone
        );
    } else {
        assert_eq!(
            w.wait(Some(std::time::Duration::from_millis(100))).unwrap(),
            OomEvent::Timeout
        );
    }
    m.destroy().unwrap();
}

/// The v2 device filter, on a v2 host or on the unified hierarchy of a hybrid host (cgroup2
/// device programs apply there too): the default rules let /dev/null through and stop
/// /dev/mem (1:1) and /dev/vda-like block devices.
#[test]
#[ignore = "needs root: a real cgroup2 directory and a BPF device program"]
fn ebpf_device_filter_enforces() {
    require_root();
    let root = match Layout::detect() {
        Layout::Unified => paths::CGROUP_ROOT,
        Layout::Legacy { hybrid: true } => paths::HYBRID_MOUNTPOINT,
        Layout::Legacy { hybrid: false } => {
            panic!("no cgroup2 hierarchy on this host (neither pure v2 nor hybrid)")
        }
    };
    let dir = format!("{root}/{}", unique("bpf"));
    let mut m = v2::V2Manager {
        root: root.into(),
        path: dir.clone(),
        rootless: false,
        explicit_path: true,
        create_resources: Resources::default(),
    };
    m.create(None).unwrap();
    struct Cleanup(String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = fs::remove_path(&self.0);
        }
    }
    let _cleanup = Cleanup(dir.clone());
    let r = Resources {
        devices: default_devices(),
        ..Default::default()
    };
    m.apply_resources(&r).unwrap();
    assert_eq!(devices::ebpf::attached_tags(&dir).unwrap().len(), 1);
    // Applying again replaces the program rather than stacking another.
    m.apply_resources(&r).unwrap();
    assert_eq!(devices::ebpf::attached_tags(&dir).unwrap().len(), 1);
    let run = |cmd: &str| {
        let script = format!("echo $$ > {dir}/cgroup.procs && {cmd}");
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    let ok = run("head -c 1 /dev/null");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // A /dev/mem node (c 1:1) made outside the cgroup: not in the allow-list.
    let node = format!("/tmp/{}", unique("mem"));
    nix::sys::stat::mknod(
        node.as_str(),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o600),
        nix::sys::stat::makedev(1, 1),
    )
    .unwrap();
    let denied = run(&format!("head -c 1 {node}"));
    let err = String::from_utf8_lossy(&denied.stderr).to_string();
    assert!(
        !denied.status.success() && err.contains("Operation not permitted"),
        "{err}"
    );
    // Outside, the open reaches the driver (ENXIO where /dev/mem is not built in).
    let outside = Command::new("head")
        .args(["-c", "1", &node])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&outside.stderr).contains("Operation not permitted"),
        "allowed outside the cgroup"
    );
    let _ = std::fs::remove_file(&node);
    // mknod of a char device is allowed ("c *:* m"), opening it is not.
    let node2 = format!("/tmp/{}", unique("node"));
    let mk = run(&format!("mknod {node2} c 1 1 && ! head -c 1 {node2}"));
    let _ = std::fs::remove_file(&node2);
    assert!(
        mk.status.success(),
        "{}",
        String::from_utf8_lossy(&mk.stderr)
    );
    m.destroy().unwrap();
}
