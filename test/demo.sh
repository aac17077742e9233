#!/usr/bin/env bash
# Sets up runts on a fresh Debian machine (as root) and runs a demo container: a busybox bundle
# assembled from Debian's busybox-static, run in the foreground by dist/runts. On a terminal it
# is an interactive shell on the container's own pty (type `exit` to leave); otherwise the
# container prints a few facts about itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh
bundle=${1:-/tmp/runts-demo}
rm -rf "$bundle"
bash test/fixtures/make-bundle.sh "$bundle" >/dev/null
config="$bundle/config.json"
if [ -t 0 ] && [ -t 1 ]; then
  jq '.process.terminal = true' "$config" > "$config.new"
else
  jq '.process.args = ["sh", "-c", "echo hello from $(hostname), pid $$; id; cat /proc/self/cgroup | head -3"]' \
    "$config" > "$config.new"
fi
mv "$config.new" "$config"
echo "runts run -b $bundle demo-$$" >&2
exec dist/runts run -b "$bundle" "demo-$$"
