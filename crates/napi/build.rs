//! Builds the init program (crates/core/src/bin/runts-init.rs) and hands its path to the addon,
//! which embeds it (`include_bytes!`) and runs it from a sealed memfd (runts_core::process::
//! InitProgram). The addon is the one native artefact the compiled runts executable carries, so
//! the program travels inside it.
//!
//! A separate cargo invocation, because cargo cannot yet depend on another crate's binary
//! (artifact dependencies are unstable), with its own target directory (no lock shared with the
//! outer build), always in the release profile, optimised for size (it is copied into a memfd
//! by every runtime process that creates a container: ~0.5 ms per MB) and linked statically:
//! the program starts without the dynamic loader and needs no library from the host or the
//! container. musl when its Rust target is installed (`rustup target add
//! x86_64-unknown-linux-musl`, test/setup.sh does it: 0.77 MB), else glibc with crt-static
//! (1.5 MB).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    napi_build::setup();
    link_unwinder_statically();

    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let core = manifest_dir.join("../core");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // OUT_DIR is <target>[/<triple>]/<profile>/build/runts-napi-<hash>/out: the program is
    // built in <target>[/<triple>]/init, shared by every profile and kept across rebuilds.
    let target_root = out_dir.ancestors().nth(4).map(Path::to_path_buf).unwrap_or_else(|| out_dir.clone());
    let init_target = target_root.join("init");
    let host = std::env::var("TARGET").unwrap();
    let musl = host.replace("-gnu", "-musl");
    let triple = if musl != host && has_target(&musl) { musl } else { host };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--bin", "runts-init", "-p", "runts-core", "--target"])
        .arg(&triple)
        .arg("--target-dir")
        .arg(&init_target)
        .arg("--manifest-path")
        .arg(core.join("Cargo.toml"))
        // The outer build's flags and settings are not the program's.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env("RUSTFLAGS", "-C target-feature=+crt-static");
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_PROFILE_") || key.starts_with("CARGO_FEATURE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s");
    let status = cmd.status().expect("run cargo for the init program");
    assert!(status.success(), "building the init program (runts-init) failed");
    let program = init_target.join(&triple).join("release/runts-init");
    assert!(program.exists(), "{} was not built", program.display());
    println!("cargo:rustc-env=RUNTS_INIT_PROGRAM={}", program.display());
    for p in ["src", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", core.join(p).display());
    }
    println!("cargo:rerun-if-changed={}", manifest_dir.join("../../Cargo.lock").display());
}

/// Links GCC's unwinder (libgcc_eh.a) into the addon, so that Rust's std takes its `_Unwind_*`
/// symbols from there and the linker (`--as-needed`) drops libgcc_s.so.1: loading the addon
/// then maps no second library, and libgcc_s's constructor (`__cpu_indicator_init`, a series
/// of `cpuid`, each a trap to the hypervisor in a VM) does not run on every runtime call.
/// Without a libgcc_eh.a (another C toolchain), the addon links libgcc_s as before.
fn link_unwinder_statically() {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc).arg("-print-file-name=libgcc_eh.a").output() else {
        return;
    };
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if let (true, Some(dir)) = (path.is_absolute() && path.exists(), path.parent()) {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static=gcc_eh");
    }
}

/// Whether the Rust standard library for `triple` is installed (rustup's layout).
fn has_target(triple: &str) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot).join("lib/rustlib").join(triple).join("lib").is_dir()
}
