#!/usr/bin/env bash
# Installs what building and testing runts needs on a fresh Debian 12 machine (as root), then
# builds dist/runts. Idempotent: quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# uidmap: newuidmap/newgidmap, for the rootless tests (test/integration/rootless.test.ts).
for pkg in busybox-static runc crun libseccomp-dev jq podman uidmap; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The engines the integration tests drive runts with (each test starts its own private daemon):
# containerd 1.6 with the CNI plugins and crictl (built once per machine, cached outside the
# checkout in /var/cache/runts-test), and Docker 20.10. No system service is started.
bash test/engines/containerd.sh
bash test/engines/docker.sh
command -v cargo >/dev/null || { echo "setup: cargo (Rust) is required" >&2; exit 1; }
command -v node >/dev/null || { echo "setup: node (>= 20) is required" >&2; exit 1; }
# The init program embedded in the addon is linked statically against musl when Rust's musl
# target is there (0.77 MB; crates/napi/build.rs falls back to glibc with crt-static, 1.5 MB).
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 || echo "setup: rustup target add x86_64-unknown-linux-musl failed: the init program is linked with glibc (crt-static)" >&2
fi

# `npm install`, not `npm ci`: with this machine's npm settings (no resolved URLs in the lock)
# the lock omits the other platforms' optional packages of @napi-rs/cli's dependencies, which
# `npm ci` then reports as missing. With the lock present, `npm install` installs exactly it.
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm install --no-audit --no-fund
# test/runtimes/packages.test.ts installs the packed runts with `npm install --offline`: npm's
# cache must then hold its dependencies' metadata (packuments), which an install from the lock
# does not fetch. One throwaway install of the same ranges fills it.
deps=$(node -p 'Object.entries(require("./package.json").dependencies).map(([n, v]) => `${n}@${v}`).join(" ")')
cachefill=$(mktemp -d)
(cd "$cachefill" && echo '{"private": true}' >package.json && npm install --no-audit --no-fund --no-package-lock --ignore-scripts $deps >/dev/null)
rm -rf "$cachefill"
npm run build
