#!/usr/bin/env bash
# The whole test suite: Rust unit tests, TypeScript unit tests, the other JavaScript runtimes,
# and the integration tests that run real containers (as root) and compare with runc.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh

echo "== cargo test"
# As root, the #[ignore]d tests that mount in a private mount namespace run too.
cargo test --workspace --quiet -- --include-ignored 2>&1

echo "== node --test: unit, runtimes (Node, Deno), integration"
node --test --test-concurrency=1 --test-timeout=300000 build/test/unit/ build/test/runtimes/ build/test/integration/ build/test/stress/

# cgroup v2 and the systemd cgroup driver cannot be exercised on a cgroup v1 host: they run in
# the Debian guest of ../shared/cgroupv2-vm (built on first use, ~2 min; then ~45 s a run).
if [ -x ../shared/cgroupv2-vm/vm-run.sh ]; then
  echo "== cgroup v2 and the systemd driver, in the VM of ../shared/cgroupv2-vm"
  bash test/vm/run-vm-tests.sh
else
  echo "== skipped: cgroup v2 / systemd tests (no ../shared/cgroupv2-vm beside this checkout)"
fi
