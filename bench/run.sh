#!/usr/bin/env bash
# bench/run.sh — time runts against Debian's runc and crun on the same busybox bundle, in one
# run, and print medians, p90s, peak RSS, CPU time and the ratios runts/runc and runts/crun.
#
#   sudo bash bench/run.sh            # N=50 iterations after 5 warm-up ones
#   BENCH_N=200 BENCH_WARMUP=10 sudo bash bench/run.sh
#
# Then the rows at scale (bench/scale.sh): 100 containers 8 at a time, isolated calls (100 ms
# of quiet before each), `run` with 2000 extra processes on the host, create/state with 1000
# other containers under --root, and the smallest memory limit that runs /bin/true with
# pids.max 1 (BENCH_SCALE=0 skips them; BENCH_PAR_ROUNDS, BENCH_QUIET_N, BENCH_SLEEPERS_N,
# BENCH_CROWDED_N and BENCH_CROWDED (1000) size them).
#
# Environment: BENCH_N, BENCH_WARMUP; RUNTS (default dist/runts), RUNC (default
# /usr/sbin/runc), CRUN (default /usr/bin/crun); BENCH_BUILD=1 benchmarks a runts built from
# the checkout with scripts/build-bin.sh (npm run build:bin) into the temporary directory instead (dist/runts
# is left alone); CC (default cc); BUSYBOX as for test/fixtures/make-bundle.sh. The report goes to stdout and to bench/out/<UTC time>.md
# (bench/out/ is git-ignored; docs/benchmarks.md holds the recorded run).
#
# The main table has a fourth runtime, the floor runtime (bench/profile/floor-runtime.ts): each
# call done by Bun, runts's addon and core, and none of runts's TypeScript. The targets line
# gives each target's Bun floor (harness -F: what a runtime that starts Bun per
# call would take doing crun's work at crun's speed), and the memory-floor row the kernel's own
# floor (bench/memfloor.c). What is measured and how: bench/harness.c. Where runts's time goes: bench/profile.sh.
# Results: docs/benchmarks.md.
#
# All three runtimes run in a private mount namespace without /sys/fs/cgroup/unified (see
# bench_enter_namespace in bench/lib.sh: crun refuses this machine's hybrid layout).
# Requires root, a C compiler, jq, busybox-static, runc and crun (test/setup.sh installs them
# all but the compiler).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_enter_namespace "$@"

runts=${RUNTS:-$repo/dist/runts}
runc=${RUNC:-/usr/sbin/runc}
crun=${CRUN:-/usr/bin/crun}
n=${BENCH_N:-50}
warmup=${BENCH_WARMUP:-5}
for bin in "$runts" "$runc" "$crun"; do
	[[ -x $bin ]] || { echo "bench/run.sh: $bin not found (npm run build:bin for dist/runts; apt-get install runc crun)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/runts-bench.XXXXXX)
prefix=rtbench$$
cleanup() {
	bench_clean_cgroups "$prefix-"
	rm -rf "$work"
}
trap cleanup EXIT
bench_make_bundle "$work/bundle"

if [[ -n ${BENCH_BUILD:-} ]]; then
	runts=$work/runts
	bash "$repo/scripts/build-bin.sh" "$runts" >/dev/null
fi
# Which runts this is: what the binary says, and the state of the checkout next to it.
version=$("$runts" --version) || { echo "bench/run.sh: \`$runts --version\` failed" >&2; exit 1; }
binary=$(sed -n 's/^commit: //p' <<<"$version")
checkout=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
changed=$(git -C "$repo" status --porcelain -- src crates package.json 2>/dev/null | awk '{ print $2 }' | cut -d/ -f1-2 | sort -u | tr '\n' ' ')
mkdir -p "$repo/bench/out"
out=$repo/bench/out/$(date -u +%Y%m%dT%H%M%SZ).md
{
	echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- machine: $(bench_machine)"
	echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- runts: ${runts#"$repo"/}${BENCH_BUILD:+ (BENCH_BUILD=1: built from the checkout for this run)}: $(head -1 <<<"$version"), built $(date -u -r "$runts" '+%Y-%m-%d %H:%M UTC') from commit ${binary:0:12}, $(stat -c %s "$runts" | awk '{ printf "%.0f MB", $1 / 1e6 }'), sha256 $(sha256sum "$runts" | cut -c1-12)"
	if [[ -n ${BENCH_BUILD:-} ]]; then
		echo "- embedded addon: runts.linux-x64-gnu.node built $(date -u -r "$repo/runts.linux-x64-gnu.node" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$repo/runts.linux-x64-gnu.node" | cut -c1-12)"
	fi
	echo "- checkout: HEAD $checkout${changed:+, uncommitted changes under $changed}"
	echo "- runc: $("$runc" --version | head -1 | sed 's/^runc version //'); crun: $("$crun" --version | head -1 | sed 's/^crun version //')"
	echo "- cgroups: v1 controllers only (/sys/fs/cgroup/unified unmounted in a private mount namespace)"
	echo "- bundle: busybox (test/fixtures/make-bundle.sh), args [\"/bin/true\"], terminal false"
	echo "- $n iterations after $warmup warm-up ones, runtimes interleaved in rotating order; each binary evicted from the page cache first (bench_evict)"
} | tee "$out"

# The Bun floor (bench/lib.sh), timed beside the runtimes: the targets line gives each
# target's floor for a runtime that starts Bun per call.
floor=()
if bench_bun_floor "$work"; then
	floor=(-F "$work/bun-napi-empty")
else
	echo "(no Bun or no C compiler: the targets are printed without their Bun floor)" | tee -a "$out"
fi
# The floor runtime (bench/profile/floor-runtime.ts), a runtime of its own in the main table:
# Bun, the addon and runts's core doing each call with none of runts's TypeScript.
floor_rt=()
if bench_floor_runtime "$work" "$work/bundle"; then
	floor_rt=(floor="$work/runts-floor")
else
	echo "(no Bun or no built addon: the floor runtime is not measured)" | tee -a "$out"
fi
# Every binary in the same page-cache state: read back from disk by the warm-up calls.
bench_evict "$runts" "$runc" "$crun" ${floor[1]:+"${floor[1]}"} ${floor_rt[0]:+"$work/runts-floor"}
status=0
"$harness" -b "$work/bundle" -d "$work" -p "$prefix" -n "$n" -w "$warmup" "${floor[@]}" \
	runts="$runts" runc="$runc" crun="$crun" "${floor_rt[@]}" | tee -a "$out" || status=$?
# The rows at scale (bench/scale.sh); BENCH_SCALE=0 skips them.
if [[ ${BENCH_SCALE:-1} != 0 && $status == 0 ]]; then
	source "$repo/bench/scale.sh"
	scale_rts="runts=$runts runc=$runc crun=$crun"
	{ scale_parallel && scale_quiet && scale_sleepers && scale_crowded && scale_memory && scale_floors; } 2>&1 | tee -a "$out" || status=1
fi
# Other work on the machine shows up in the p90s and the floor; the load says how much there was.
printf '\nLoad average after the run: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
echo "bench/run.sh: report saved to ${out#"$repo"/}" >&2
exit "$status"
