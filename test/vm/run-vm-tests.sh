#!/usr/bin/env bash
# run-vm-tests.sh — the cgroup v2 and systemd-driver tests (test/vm/cgroupv2.sh), run inside
# the VM of ../shared/cgroupv2-vm: pure cgroup v2, systemd 252 as PID 1, Debian's runc.
# This machine (cgroup v1, hybrid) cannot exercise either; see ../shared/cgroupv2-vm/README.md.
#
#     npm run build && bash test/vm/run-vm-tests.sh
#
# 1. builds the VM if needed (build.sh is idempotent: ~2 min the first time on a machine,
#    well under a second afterwards);
# 2. makes the busybox bundle under build/vm/ (the guest has no busybox; the repository is
#    shared into the guest at the same path), and the one runts-core's Rust tests read
#    (target/cgtest-bundle);
# 3. builds runts-core's Rust test binary (cargo test --no-run), for its cgroups::tests: their
#    v2 and systemd cases can only run in the guest;
# 4. boots the VM once (~15 s) and runs cgroupv2.sh there against dist/runts, and the Rust
#    cgroup tests.
# Exits with the guest script's status (0: all passed); 124/125 are vm-run.sh's (timeout, VM
# failure). RUNTS_BIN (under the repository) and RUNC_BIN are passed into the guest.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd -P))
vm=${CGROUPV2_VM_TOOLS:-$repo/../shared/cgroupv2-vm}

if [[ ! -x $vm/vm-run.sh || ! -f $vm/build.sh ]]; then
  echo "run-vm-tests: no VM tools at $vm (expected ../shared/cgroupv2-vm beside the repository; set CGROUPV2_VM_TOOLS)" >&2
  exit 1
fi
bin=${RUNTS_BIN:-$repo/dist/runts}
if [[ ! -x $bin ]]; then
  echo "run-vm-tests: $bin not found: run \`npm run build\` first" >&2
  exit 1
fi
case $(realpath "$bin") in
  "$repo"/* | /usr/sbin/runc) ;;
  *) echo "run-vm-tests: RUNTS_BIN must be under $repo (only the repository is shared into the guest)" >&2; exit 1 ;;
esac

t0=$SECONDS
echo "== cgroup v2 VM: build (if needed)"
# dbus-user-session: the user bus of a lingering user's systemd (the rootless systemd driver);
# criu: CRIU works on the guest's 6.1 kernel (not on the host's), for checkpoint and restore
# (test/vm/criu.sh) and runts-core's criu tests; podman: its checkpoint/restore through runts.
EXTRA_PKGS="${EXTRA_PKGS:-} dbus-user-session criu podman" bash "$vm/build.sh"
t_build=$((SECONDS - t0))

echo "== cgroup v2 VM: busybox bundle"
rm -rf "$repo/build/vm/bundle"
mkdir -p "$repo/build/vm"
bash "$repo/test/fixtures/make-bundle.sh" "$repo/build/vm/bundle" 2>/dev/null

echo "== cgroup v2 VM: test/fixtures/recvtty (static: the guest has no compiler)"
cc -static -O2 -Wall -o "$repo/build/vm/recvtty" "$repo/test/fixtures/recvtty.c"

echo "== cgroup v2 VM: runts-core's Rust test binary"
# crates/core/src/cgroups/tests.rs finds its bundle here (the guest cannot make it: no busybox).
if [[ ! -f $repo/target/cgtest-bundle/config.json ]]; then
  bash "$repo/test/fixtures/make-bundle.sh" "$repo/target/cgtest-bundle" 2>/dev/null
fi
core_tests=$(cd "$repo" && cargo test -p runts-core --lib --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\/runts_core-[0-9a-f]*\)".*/\1/p' | tail -n 1)
if [[ -z $core_tests || ! -x $core_tests ]]; then
  echo "run-vm-tests: cargo test -p runts-core --lib --no-run gave no test binary" >&2
  exit 1
fi
# A copy of its own, so a rebuild on the host during the run cannot change it.
cp "$core_tests" "$repo/build/vm/runts-core-tests"
export RUNTS_CORE_TESTS=$repo/build/vm/runts-core-tests

echo "== cgroup v2 VM: test/vm/cgroupv2.sh in the guest"
export RUNTS_BIN=$bin
[[ -n ${RUNC_BIN:-} ]] && envs="RUNTS_BIN RUNC_BIN RUNTS_CORE_TESTS" || envs="RUNTS_BIN RUNTS_CORE_TESTS"
t1=$SECONDS
rc=0
VM_RUN_TIMING=1 VM_RUN_ENV=$envs "$vm/vm-run.sh" "$repo" bash "$repo/test/vm/cgroupv2.sh" || rc=$?
echo "== cgroup v2 VM: build ${t_build}s, VM run $((SECONDS - t1))s, total $((SECONDS - t0))s (exit $rc)"
exit $rc
