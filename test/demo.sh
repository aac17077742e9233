#!/usr/bin/env bash
# Sets up runts on a fresh Debian machine (as root) and runs a demo container: a busybox bundle
# assembled from Debian's busybox-static, run in the foreground by dist/runts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh
bundle=${1:-/tmp/runts-demo}
rm -rf "$bundle"
bash test/fixtures/make-bundle.sh "$bundle"
exec dist/runts run -b "$bundle" "demo-$$"
