# Shared by bench/run.sh and bench/profile.sh (sourced, not run). Sets $repo.
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Builds bench/harness.c into build/bench/harness (build/ is tsc's output dir, never
# committed), as the tests build test/fixtures/subreaper.c; sets $harness.
bench_build_harness() {
	harness=$repo/build/bench/harness
	if [[ ! -x $harness || $repo/bench/harness.c -nt $harness ]]; then
		mkdir -p "$(dirname "$harness")"
		"${CC:-cc}" -O2 -Wall -Wextra -o "$harness.$$" "$repo/bench/harness.c" -lm
		mv "$harness.$$" "$harness"
	fi
}

# Re-runs the calling script ("$0" "$@") as root, beneath `harness -S` (a child subreaper that
# reaps every orphan: the inits of detached containers would otherwise go to a PID 1 that may
# never reap them), in a private mount namespace without /sys/fs/cgroup/unified. Why the
# unmount: crun 1.8 refuses the hybrid cgroup layout (v1 controllers plus cgroup2 at
# /sys/fs/cgroup/unified) that this kind of machine boots with; without it all three runtimes
# see the same pure-v1 layout. --propagation private keeps the unmount out of the host's mount
# table (mount_namespaces(7)). Sets $harness.
bench_enter_namespace() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "$(basename "$0"): must run as root (containers with namespaces)" >&2
		exit 1
	fi
	bench_build_harness
	if [[ -z ${RUNTS_BENCH_IN_NS:-} ]]; then
		RUNTS_BENCH_IN_NS=1 exec unshare -m --propagation private "$harness" -S bash "$0" "$@"
	fi
	if mountpoint -q /sys/fs/cgroup/unified; then
		umount /sys/fs/cgroup/unified
	fi
}

# bench_evict FILE...: drops each file's pages from the page cache (written back first), so
# that the warm-up calls fault the binary in from disk, as after a reboot. How a binary got
# into the page cache moves runts's start-up by 1.5-3 ms a call (a `cp` of it leaves large
# folios, `bun build` and reads from disk small ones: docs/benchmarks.md, Caveats); without
# this, an A/B of a copied binary against a freshly built one measures that, not the code.
bench_evict() {
	local f
	for f in "$@"; do
		sync "$f"
		dd if="$f" iflag=nocache count=0 status=none
	done
}

# bench_compile SRC OUT: a `bun build --compile` binary with scripts/build-bin.sh's flags (less
# --splitting and --define), for the Bun floors.
bench_compile() {
	"$repo/node_modules/.bin/bun" build --compile --format=esm --minify --bytecode --no-compile-autoload-dotenv \
		--no-compile-autoload-bunfig --no-compile-autoload-tsconfig --no-compile-autoload-package-json \
		--compile-jit-policy=1000 "$1" --outfile "$2" >/dev/null
}

# bench_bun_floor DIR: builds DIR/bun-empty (a compiled Bun binary that does nothing) and
# DIR/bun-napi-empty (the same, loading a napi module that exports nothing: what Bun's start-up,
# its napi set-up and a dlopen cost any runtime built on Bun, before it does anything). Fails
# (status 1, nothing printed) without Bun or a C compiler.
bench_bun_floor() {
	local dir=$1
	[[ -x $repo/node_modules/.bin/bun ]] && command -v "${CC:-cc}" >/dev/null || return 1
	[[ -x $dir/bun-empty && -x $dir/bun-napi-empty ]] && return 0
	bench_compile "$repo/bench/profile/empty.ts" "$dir/bun-empty"
	printf 'void *napi_register_module_v1(void *env, void *exports) { return exports; }\n' >"$dir/napi-empty.c"
	"${CC:-cc}" -O2 -shared -fPIC -o "$dir/napi-empty.node" "$dir/napi-empty.c"
	printf 'declare const require: (id: string) => unknown;\nrequire("./napi-empty.node");\n' >"$dir/napi-empty.ts"
	bench_compile "$dir/napi-empty.ts" "$dir/bun-napi-empty"
}

# bench_floor_runtime DIR BUNDLE: builds DIR/runts-floor, the floor runtime
# (bench/profile/floor-runtime.ts, with the checkout's addon embedded), and DIR/runts-floor.json,
# runts's spec pipeline's output for BUNDLE (bench/profile/floor-config.ts, run by Bun from the
# sources). Fails (status 1, nothing printed) without Bun or the built addon.
bench_floor_runtime() {
	local dir=$1 bundle=$2
	[[ -x $repo/node_modules/.bin/bun && -e $repo/runts.linux-x64-gnu.node ]] || return 1
	mkdir -p "$dir/floor-src"
	cp "$repo/bench/profile/floor-runtime.ts" "$dir/floor-src/"
	cp "$repo/runts.linux-x64-gnu.node" "$dir/floor-src/runts.node"
	bench_compile "$dir/floor-src/floor-runtime.ts" "$dir/runts-floor"
	"$repo/node_modules/.bin/bun" "$repo/bench/profile/floor-config.ts" "$bundle" "$dir/runts-floor.json"
}

# bench_make_bundle DIR: the busybox bundle of the tests, running /bin/true without a terminal.
bench_make_bundle() {
	command -v jq >/dev/null || { echo "$(basename "$0"): jq is required (apt-get install jq)" >&2; exit 1; }
	"$repo/test/fixtures/make-bundle.sh" "$1" 2>/dev/null
	jq '.process.args = ["/bin/true"] | .process.terminal = false' "$1/config.json" >"$1/config.json.new"
	mv "$1/config.json.new" "$1/config.json"
}

# bench_clean_cgroups PREFIX: removes what the runtimes left under /sys/fs/cgroup for container
# ids starting with PREFIX, and says so when that is more than crun's known leftover.
bench_clean_cgroups() {
	local prefix=$1 d left
	# crun 1.8 takes the now-empty /sys/fs/cgroup/unified directory for a cgroup2 hierarchy and
	# leaves <id>/cgroup.procs in it after `delete`. That directory is on the host's
	# /sys/fs/cgroup tmpfs, hidden under the cgroup2 mount outside this namespace: remove it.
	for d in /sys/fs/cgroup/unified/"$prefix"*; do
		[[ -d $d ]] || continue
		rm -f "$d/cgroup.procs"
		rmdir "$d" 2>/dev/null || echo "$(basename "$0"): could not remove $d" >&2
	done
	# Every cgroup the runtimes made is named after the container id; none may remain.
	left=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -name "$prefix*" 2>/dev/null || true)
	if [[ -n $left ]]; then
		echo "$(basename "$0"): leak: cgroups left behind (removing):" >&2
		echo "$left" >&2
		echo "$left" | sort -r | xargs -r rmdir 2>/dev/null || true
	fi
}

# One line about the machine, for the record.
bench_machine() {
	local cpu mem os
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
	os=$(. /etc/os-release && echo "$PRETTY_NAME")
	echo "$cpu, $(nproc) cores, $mem RAM; $os, kernel $(uname -r)"
}
