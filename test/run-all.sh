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
