#!/usr/bin/env bash
# bench/profile.sh — where runts's time goes, for docs/benchmarks.md ("Where the time goes").
#
#   sudo bash bench/profile.sh        # BENCH_N=60 rounds per table, BENCH_TIMELINE_N=20 runs
#
# Everything is built from the current tree into a temporary directory (dist/runts is not
# touched) and timed by bench/harness.c (-X: commands interleaved, medians, peak RSS, CPU):
#
#   1. Start-up ladder: `bun build --compile` baselines from bench/profile/*.ts, each adding
#      one thing — a bare binary, the Node built-ins commander loads, commander, runts's whole
#      commander program, the napi addon, the spec pipeline — next to runts's own `state` and
#      `--version`, a prototype fast path for `state`, and crun's and runc's `state`.
#   2. The .node addon: extracted to $TMPDIR on first use; is it written on every start?
#      (strace), how big is it, and what does extracting it on every start cost.
#   3. Build flags: runts's `state` built as `npm run build:bin` does, without --bytecode,
#      without the .env/bunfig.toml autoload (also from a working directory with 5000
#      entries), with a recorded --bytecode-order, with a JIT tier-up policy, and with the JIT
#      off (BUN_JSC_useJIT=false).
#   4. Timeline of `run` for runts, runc and crun from scheduler tracepoints (perf trace):
#      CLI start-up, container setup, the user process, teardown.
#   5. The same timeline with 2000 extra (sleeping) processes on the host.
#
# Needs what bench/run.sh needs, plus strace and perf (linux-perf) for sections 2, 4 and 5
# (skipped without them). The report goes to stdout and to bench/out/profile-<UTC time>.md.
# TMPDIR points into the work directory for the whole script, so Bun's extracted addon copies
# are removed with it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_enter_namespace "$@"

n=${BENCH_N:-60}
tn=${BENCH_TIMELINE_N:-20}
runc=${RUNC:-/usr/sbin/runc}
crun=${CRUN:-/usr/bin/crun}
bun=$repo/node_modules/.bin/bun
[[ -x $bun ]] || { echo "bench/profile.sh: $bun missing (npm ci)" >&2; exit 1; }

work=$(mktemp -d /tmp/runts-profile.XXXXXX)
prefix=rtprof$$
sleepers=()
cleanup() {
	set +e
	((${#sleepers[@]})) && kill "${sleepers[@]}" 2>/dev/null && wait "${sleepers[@]}" 2>/dev/null
	for rt in "$work/bin/runts" "$runc" "$crun"; do
		[[ -x $rt ]] || continue
		for d in "$work/root-$(basename "$rt")"/"$prefix"-*; do
			[[ -d $d ]] && "$rt" --root "$work/root-$(basename "$rt")" delete --force "$(basename "$d")" >/dev/null 2>&1
		done
	done
	bench_clean_cgroups "$prefix-"
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/bin" "$work/tmp" "$work/h"
export TMPDIR=$work/tmp
bench_make_bundle "$work/bundle"
bundle=$work/bundle

# --- build ------------------------------------------------------------------------------------
# The flags of `npm run build:bin` (package.json), minus the commit define.
flags=(--compile --minify --bytecode)
build() { # build OUT SRC [extra flags...]
	local out=$1 src=$2
	shift 2
	(cd "$repo" && "$bun" build "${flags[@]}" "$@" "$src" --outfile "$work/bin/$out" >/dev/null) ||
		{ echo "bench/profile.sh: bun build $src failed" >&2; exit 1; }
}
echo "bench/profile.sh: building baselines and runts variants with bun $("$bun" --version)" >&2
for b in empty exit builtins commander program addon spec fastpath; do
	build "$b" "bench/profile/$b.ts"
done
build runts src/main.ts
flags=(--compile --minify)
build runts-nobytecode src/main.ts
flags=(--compile --minify --bytecode)
build runts-noautoload src/main.ts --no-compile-autoload-dotenv --no-compile-autoload-bunfig
build runts-jit10 src/main.ts --compile-jit-policy=10
build runts-jit1000 src/main.ts --compile-jit-policy=1000
runts=$work/bin/runts

# One created container per runtime for `state`.
for rt in "$runts" "$runc" "$crun"; do
	root=$work/root-$(basename "$rt")
	mkdir -p "$root"
	"$rt" --root "$root" create -b "$bundle" "$prefix-state" </dev/null >/dev/null
done
# Their inits wait on exec.fifo until the cleanup deletes them with --force; `harness -S`
# above this script reaps them (bench_enter_namespace).

# A bytecode order recorded from the two paths that matter: `state` and `run`.
BUN_BYTECODE_ORDER_OUT=$work/order-state.txt "$runts" --root "$work/root-runts" state "$prefix-state" >/dev/null
BUN_BYTECODE_ORDER_OUT=$work/order-run.txt "$runts" --root "$work/root-runts" run -b "$bundle" "$prefix-order" >/dev/null
build runts-order src/main.ts --bytecode-order "$work/order-state.txt,$work/order-run.txt"

state_args() { echo "--root $work/root-$1 state $prefix-state"; }

mkdir -p "$repo/bench/out"
out=$repo/bench/out/profile-$(date -u +%Y%m%dT%H%M%SZ).md
exec > >(tee "$out")

echo "# Profile of runts, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(bench_machine); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- bun $("$bun" --version); runc $("$runc" --version | head -1 | sed 's/^runc version //'); crun $("$crun" --version | head -1 | sed 's/^crun version //')"

echo
echo "## 1. Start-up ladder"
"$harness" -X -d "$work/h" -n "$n" -w 3 \
	"bare Bun binary (empty.ts)=$work/bin/empty" \
	"bare + process.exit (exit.ts)=$work/bin/exit" \
	"Node built-ins commander requires (builtins.ts)=$work/bin/builtins" \
	"commander, parse 'state x' (commander.ts)=$work/bin/commander state x" \
	"runts's program built (program.ts)=$work/bin/program" \
	"addon loaded (addon.ts)=$work/bin/addon" \
	"spec load+validate+convert (spec.ts)=$work/bin/spec $bundle" \
	"runts --version=$runts --version" \
	"runts state=$runts $(state_args runts)" \
	"fast-path state prototype (fastpath.ts)=$work/bin/fastpath $(state_args runts)" \
	"crun state=$crun $(state_args crun)" \
	"runc state=$runc $(state_args runc)"

echo
echo "## 2. The embedded .node addon"
node_size=$(stat -c %s "$repo/runts.linux-x64-gnu.node")
echo
echo "- runts.linux-x64-gnu.node on disk: $node_size bytes"
if command -v strace >/dev/null; then
	# Start 1 finds no extracted copy (as after a new build), start 2 finds start 1's.
	rm -f "$TMPDIR"/.bun-*.node
	for i in 1 2; do
		strace -f -e trace=openat,newfstatat,rename,renameat,renameat2 -o "$work/strace-addon-$i.txt" "$work/bin/addon"
		echo "- start $i: $(grep -cE 'O_CREAT|rename' "$work/strace-addon-$i.txt" || true) openat(O_CREAT)/rename calls;" \
			"dlopen'ed \$TMPDIR/$(grep -oE '\.bun-[^"/]*\.node", O_RDONLY' "$work/strace-addon-$i.txt" | sed 's/", O_RDONLY//' | sort -u | tr '\n' ' ')"
	done
	ls -l "$TMPDIR"/.bun-*.node 2>/dev/null | awk '{ print "- extracted copy: " $5 " bytes, mode " $1 ", owner " $3 }'
else
	echo "- (strace not installed: skipped)"
fi
# Extraction on every start vs. reuse: both through the same tiny sh wrapper.
printf '#!/bin/sh\nrm -f "$TMPDIR"/.bun-*.node\nexec "$@"\n' >"$work/fresh.sh"
printf '#!/bin/sh\nexec "$@"\n' >"$work/keep.sh"
chmod +x "$work/fresh.sh" "$work/keep.sh"
"$harness" -X -d "$work/h" -n "$n" -w 3 \
	"addon.ts, extracted copy reused (sh wrapper)=$work/keep.sh $work/bin/addon" \
	"addon.ts, extracted on every start (sh wrapper)=$work/fresh.sh $work/bin/addon" \
	"exit.ts (sh wrapper)=$work/keep.sh $work/bin/exit"

echo
echo "## 3. Build flags and JIT (runts state)"
printf '#!/bin/sh\nBUN_JSC_useJIT=false exec "$@"\n' >"$work/nojit.sh"
chmod +x "$work/nojit.sh"
"$harness" -X -d "$work/h" -n "$n" -w 3 \
	"npm run build:bin flags (--minify --bytecode)=$runts $(state_args runts)" \
	"without --bytecode=$work/bin/runts-nobytecode $(state_args runts)" \
	"+ --no-compile-autoload-dotenv/bunfig=$work/bin/runts-noautoload $(state_args runts)" \
	"+ --bytecode-order (state, run)=$work/bin/runts-order $(state_args runts)" \
	"+ --compile-jit-policy 10=$work/bin/runts-jit10 $(state_args runts)" \
	"+ --compile-jit-policy 1000=$work/bin/runts-jit1000 $(state_args runts)" \
	"build:bin flags (sh wrapper)=$work/keep.sh $runts $(state_args runts)" \
	"JIT off, BUN_JSC_useJIT false (sh wrapper)=$work/nojit.sh $runts $(state_args runts)"
echo
echo "The same two builds, started from a working directory with 5000 entries (Bun's .env and"
echo "bunfig.toml autoload reads the directory listing of the working directory and its parents):"
mkdir -p "$work/bigcwd"
(cd "$work/bigcwd" && for ((i = 0; i < 5000; i++)); do : >"f$i"; done)
(cd "$work/bigcwd" && "$harness" -X -d "$work/h" -n "$n" -w 3 \
	"build:bin flags, cwd with 5000 entries=$runts $(state_args runts)" \
	"+ --no-compile-autoload-dotenv/bunfig, same cwd=$work/bin/runts-noautoload $(state_args runts)")
echo
echo "Binary sizes: $(for b in empty commander program runts runts-nobytecode; do printf '%s %s MB; ' "$b" "$(stat -c %s "$work/bin/$b" | awk '{ printf "%.1f", $1 / 1e6 }')"; done)"

if ! command -v perf >/dev/null; then
	echo
	echo "(perf not installed: timelines skipped)"
	echo "bench/profile.sh: report saved to ${out#"$repo"/}" >&2
	exit 0
fi

timeline() { # timeline TITLE
	local i
	perf trace --no-syscalls -e task:task_newtask,sched:sched_process_exec,sched:sched_process_exit \
		-o "$work/perf.txt" -- bash -c '
			for ((i = 0; i < '"$tn"'; i++)); do
				"$1" --root "$4" run -b "$7" '"$prefix"'-tl-a$i >/dev/null
				"$2" --root "$5" run -b "$7" '"$prefix"'-tl-b$i >/dev/null
				"$3" --root "$6" run -b "$7" '"$prefix"'-tl-c$i >/dev/null
			done' _ "$runts" "$runc" "$crun" "$work/root-runts" "$work/root-runc" "$work/root-crun" "$bundle"
	echo
	echo "$1 ($tn runs each, interleaved; perf trace of task_newtask/sched_process_exec/exit)"
	echo
	awk -v rts="runts=$runts,runc=$runc,crun=$crun" -f "$repo/bench/timeline.awk" "$work/perf.txt"
}

echo
echo "## 4. Timeline of \`run\`"
timeline "Host with $(ls -d /proc/[0-9]* | wc -l) processes"

echo
echo "## 5. Timeline of \`run\` with 2000 more processes on the host"
for ((i = 0; i < 2000; i++)); do
	sleep 3600 &
	sleepers+=($!)
done
sleep 3 # let the 2000 forks and execs settle
timeline "Host with $(ls -d /proc/[0-9]* | wc -l) processes"
kill "${sleepers[@]}" 2>/dev/null || true
wait "${sleepers[@]}" 2>/dev/null || true
sleepers=()
echo "bench/profile.sh: report saved to ${out#"$repo"/}" >&2
