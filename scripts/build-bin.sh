#!/usr/bin/env bash
# scripts/build-bin.sh [OUT] — builds the runts executable (`npm run build:bin`; default
# dist/runts) with `bun build --compile`: the one place its flags are written (bench/run.sh's
# BENCH_BUILD builds through here too).
#
# Flags: no .env/bunfig.toml/tsconfig/package.json autoloading (a root runtime must not read
# preload scripts from its working directory: test/integration/hardening.test.ts), the JIT
# tier-up deferred (--compile-jit-policy=1000, docs/benchmarks.md), the commit baked in.
# (--bytecode-order, laid out from records of the engines' calls, was measured against this
# build side by side: no difference, docs/benchmarks.md.)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/runts}
commit=$(git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
mkdir -p "$(dirname "$out")"
exec node_modules/.bin/bun build --compile --format=esm --splitting --minify --bytecode \
	--no-compile-autoload-dotenv --no-compile-autoload-bunfig \
	--no-compile-autoload-tsconfig --no-compile-autoload-package-json \
	--compile-jit-policy=1000 \
	--define "RUNTS_COMMIT=\"$commit\"" \
	src/main.ts --outfile "$out"
