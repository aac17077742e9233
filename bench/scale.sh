# bench/scale.sh — the rows of bench/run.sh that are not one call at a time (sourced by it, in
# its private mount namespace beneath `harness -S`, with $harness, $work, $prefix and the
# runtimes set):
#
#   scale_parallel   100 containers, 8 at a time: create+start, then kill+delete all (wall)
#   scale_quiet      `run` and the cycle with 100 ms of quiet before every call (isolated
#                    calls, as an engine makes them; in the tight loop of the main table one
#                    call's cgroup-join grace period can serve the next)
#   scale_sleepers   `run` with 2000 extra (sleeping) processes on the host
#   scale_crowded    create/start/delete and state with 1000 other containers under --root
#   scale_memory     the smallest memory limit (pids.max 1) under which `run /bin/true`
#                    succeeds 20 times out of 20
#   scale_floors     the Bun floor (an empty compiled Bun binary, one with an empty napi module
#                    and the least `state` through the addon, beside each `state`), and the
#                    memory floor of a program that only exits
#
# Each prints a markdown table with a ratio column per other runtime (the first is the one
# under test). Runtimes are given as NAME=PATH words in $scale_rts.

# scale_bundle DIR ARGS_JSON [JQ_FILTER]: a copy of the bench bundle running ARGS_JSON.
scale_bundle() {
	mkdir -p "$1"
	[[ -e $1/rootfs ]] || cp -a "$work/bundle/rootfs" "$1/rootfs"
	jq --argjson a "$2" ".process.args = \$a ${3:+| $3}" "$work/bundle/config.json" >"$1/config.json"
}

scale_now_ms() { echo $(($(date +%s%N) / 1000000)); }

scale_median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }

# scale_ratio_row LABEL UNIT VALUE... : "| LABEL | v1 | v2 | ... | v1/v2 | ... |"
scale_ratio_row() {
	local label=$1 unit=$2
	shift 2
	local first=$1 row="| $label |" v
	for v in "$@"; do row+=" $v$unit |"; done
	shift
	for v in "$@"; do
		row+=" $(awk -v a="$first" -v b="$v" 'BEGIN { if (a == "" || b == "" || b == 0) print "–"; else printf "%.2f", a / b }') |"
	done
	echo "$row"
}

scale_header() {
	local names=() n
	for n in $scale_rts; do names+=("${n%%=*}"); done
	local h="| $1 |" s="|---|"
	for n in "${names[@]}"; do h+=" $n |"; s+="--:|"; done
	for n in "${names[@]:1}"; do h+=" ${names[0]}/$n |"; s+="--:|"; done
	echo "$h"
	echo "$s"
}

# xargs workers: create+start, and kill+delete, of one container each.
scale_up='"$0" --root "$1" create -b "$2" "$3" >/dev/null 2>>"$4" </dev/null && "$0" --root "$1" start "$3" 2>>"$4"'
scale_down='"$0" --root "$1" kill "$2" KILL 2>>"$3"; "$0" --root "$1" delete --force "$2" 2>>"$3"'

scale_parallel() {
	local rounds=${BENCH_PAR_ROUNDS:-5} count=100 jobs=8 r k i
	scale_bundle "$work/b-sleep" '["sleep","3600"]'
	local -a names paths
	for k in $scale_rts; do names+=("${k%%=*}"); paths+=("${k#*=}"); done
	local -A times
	for ((r = 0; r < rounds; r++)); do
		for ((i = 0; i < ${#names[@]}; i++)); do
			k=$(((i + r) % ${#names[@]}))
			local name=${names[k]} bin=${paths[k]} root=$work/par-${names[k]} err=$work/par-${names[k]}.stderr
			mkdir -p "$root"
			local t0 t1
			t0=$(scale_now_ms)
			seq 0 $((count - 1)) | xargs -P "$jobs" -I{} sh -c "$scale_up" "$bin" "$root" "$work/b-sleep" "$prefix-par{}" "$err"
			seq 0 $((count - 1)) | xargs -P "$jobs" -I{} sh -c "$scale_down" "$bin" "$root" "$prefix-par{}" "$err"
			t1=$(scale_now_ms)
			if [[ -s $err ]]; then
				echo "bench: $name failed calls in the parallel round:" >&2
				head -5 "$err" >&2
				return 1
			fi
			if [[ -n $(ls "$root") ]]; then
				echo "bench: $name left containers in $root after the parallel round: $(ls "$root" | head -3)" >&2
				return 1
			fi
			times[$name]+="$((t1 - t0)) "
		done
	done
	echo
	echo "### $count containers, $jobs at a time: create+start all, then kill+delete all"
	echo
	echo "Wall time of the whole batch, ms: median of $rounds rounds (runtimes interleaved)."
	echo
	scale_header "batch"
	local meds=()
	for k in "${names[@]}"; do meds+=("$(tr ' ' '\n' <<<"${times[$k]}" | grep . | scale_median)"); done
	scale_ratio_row "create+start, kill+delete ×$count" "" "${meds[@]}"
}

scale_quiet() {
	local n=${BENCH_QUIET_N:-$((n / 2 > 10 ? n / 2 : 10))}
	echo
	echo "### Isolated calls: \`run\` and the cycle with 100 ms of quiet before every call"
	"$harness" -g 100 -o run,cycle -b "$work/bundle" -d "$work" -p "$prefix-q" -n "$n" -w 2 $scale_rts >"$work/quiet.txt" 2>"$work/quiet.stderr" || {
		cat "$work/quiet.txt" "$work/quiet.stderr"
		return 1
	}
	# Not the cycle's total: it holds the quiet moments before its steps.
	sed -n '/^Wall time/,/^| cycle: delete/p' "$work/quiet.txt" | grep -v '^| create+start+wait+delete'
}

scale_sleepers() {
	local n=${BENCH_SLEEPERS_N:-$((n / 2 > 10 ? n / 2 : 10))} pids=() i
	for ((i = 0; i < 2000; i++)); do
		sleep 3600 &
		pids+=($!)
	done
	echo
	echo "### \`run\` with $(ls -d /proc/[0-9]* | wc -l) processes on the host (2000 sleeping ones added)"
	"$harness" -o run -b "$work/bundle" -d "$work" -p "$prefix-sl" -n "$n" -w 2 $scale_rts >"$work/sleepers.txt" 2>"$work/sleepers.stderr" || {
		cat "$work/sleepers.txt" "$work/sleepers.stderr"
		return 1
	}
	sed -n '/^Wall time/,/^| run/p' "$work/sleepers.txt"
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null || true
}

scale_crowded() {
	local n=${BENCH_CROWDED_N:-$((n / 2 > 10 ? n / 2 : 10))} count=${BENCH_CROWDED:-1000} k
	scale_bundle "$work/b-crowd" '["sleep","3600"]'
	for k in $scale_rts; do
		local name=${k%%=*} bin=${k#*=}
		mkdir -p "$work/root-$name"
		# Other containers, named outside the harness prefix so that it neither times nor
		# deletes them.
		seq 0 $((count - 1)) | xargs -P 8 -I{} sh -c "$scale_up" "$bin" "$work/root-$name" "$work/b-crowd" "bg$prefix-{}" "$work/crowd-$name.stderr"
		local have
		have=$(find "$work/root-$name" -mindepth 1 -maxdepth 1 -name "bg$prefix-*" | wc -l)
		if ((have != count)); then
			echo "bench: $name made $have of $count background containers:" >&2
			head -5 "$work/crowd-$name.stderr" >&2
			return 1
		fi
	done
	echo
	echo "### With $count other (running) containers under each runtime's --root"
	local status=0
	"$harness" -o cycle,state -b "$work/bundle" -d "$work" -p "$prefix-cr" -n "$n" -w 2 $scale_rts >"$work/crowded.txt" 2>"$work/crowded.stderr" || status=$?
	sed -n '/^Wall time/,/^Harness floor/p' "$work/crowded.txt" | grep -v '^Harness floor'
	for k in $scale_rts; do
		local name=${k%%=*} bin=${k#*=}
		seq 0 $((count - 1)) | xargs -P 8 -I{} sh -c "$scale_down" "$bin" "$work/root-$name" "bg$prefix-{}" "$work/crowd-$name.stderr"
	done
	((status == 0)) || { cat "$work/crowded.txt" "$work/crowded.stderr"; return 1; }
}

scale_memory() {
	local limits=(32 48 64 96 128 192 256 384 512 768 1024 1536 2048 3072 4096 8192) k l i
	local program=${scale_memory_program:-/bin/true}
	local -a floors
	for k in $scale_rts; do
		local name=${k%%=*} bin=${k#*=} floor=""
		mkdir -p "$work/mem-$name"
		for l in "${limits[@]}"; do
			scale_bundle "$work/b-mem" "[\"$program\"]" ".linux.resources.memory.limit = $((l * 1024)) | .linux.resources.pids.limit = 1"
			local ok=1
			for ((i = 0; i < 20; i++)); do
				if ! "$bin" --root "$work/mem-$name" run -b "$work/b-mem" "$prefix-mem$i" >/dev/null 2>>"$work/mem-$name.stderr" </dev/null; then
					ok=0
					"$bin" --root "$work/mem-$name" delete --force "$prefix-mem$i" >/dev/null 2>&1 || true
					break
				fi
			done
			if ((ok)); then
				floor=$l
				break
			fi
		done
		floors+=("${floor:-}")
	done
	echo
	echo "### Smallest memory limit that runs $program (pids.max 1, 20 runs of 20)"
	echo
	echo "Limits tried: ${limits[*]} KiB; – means none of them."
	echo
	scale_header "limit"
	scale_ratio_row "memory.limit, KiB" "" "${floors[@]}"
	# The same search with no runtime (bench/memfloor.c): what the kernel charges for the exec.
	local file=$work/b-mem/rootfs$program kernel
	if command -v "${CC:-cc}" >/dev/null && [[ -e $file ]]; then
		[[ -x $work/memfloor ]] || "${CC:-cc}" -O2 -static -o "$work/memfloor" "$repo/bench/memfloor.c"
		kernel=$("$work/memfloor" "$prefix-memfloor" "$(readlink -f "$file")" "$(basename "$program")" "${limits[@]}")
		echo
		echo "The kernel's own floor, no runtime (bench/memfloor.c: fork, move into a fresh cgroup with the limit and pids.max 1, exec the same file): $kernel KiB."
	fi
}

# scale_floors: what Bun itself costs (an empty `bun build --compile` binary, built with the
# flags of scripts/build-bin.sh, and one that loads an empty napi module, next to each
# runtime's `state` and `kill`), and what the kernel charges a
# container for exec'ing a minimal static program (no libc: one exit system call) under the
# memory-floor search of scale_memory.
scale_floors() {
	local k
	if bench_bun_floor "$work"; then
		local cmds=("bun-empty=$work/bun-empty" "bun-napi-empty=$work/bun-napi-empty")
		for k in $scale_rts; do
			local name=${k%%=*} bin=${k#*=}
			mkdir -p "$work/floor-$name"
			"$bin" --root "$work/floor-$name" create -b "$work/bundle" "$prefix-floor" >/dev/null 2>&1 </dev/null
			cmds+=("$name state=$bin --root $work/floor-$name state $prefix-floor")
			cmds+=("$name kill=$bin --root $work/floor-$name kill $prefix-floor CONT")
		done
		# The state floor (bench/profile/state-floor.ts): the least a Bun binary does for
		# runts's container's `state` through runts's addon, beside the addon it embeds.
		if [[ " $scale_rts" == *" runts="* && -e $repo/runts.linux-x64-gnu.node ]]; then
			cp "$repo/runts.linux-x64-gnu.node" "$work/runts.node"
			cp "$repo/bench/profile/state-floor.ts" "$work/state-floor.ts"
			bench_compile "$work/state-floor.ts" "$work/bun-state-floor"
			cmds+=("bun-state-floor=$work/bun-state-floor $work/floor-runts $prefix-floor")
		fi
		bench_evict "$work/bun-empty" "$work/bun-napi-empty" $([[ -x $work/bun-state-floor ]] && echo "$work/bun-state-floor")
		echo
		echo "### The Bun floor: an empty compiled Bun binary (one loading an empty napi module, one doing the least of \`state\` through the addon) next to each runtime's \`state\` and \`kill\`"
		"$harness" -X -d "$work" -n "${BENCH_N:-50}" -w 5 "${cmds[@]}" 2>/dev/null | sed -n '/^| command/,$p'
		for k in $scale_rts; do
			"${k#*=}" --root "$work/floor-${k%%=*}" delete --force "$prefix-floor" >/dev/null 2>&1 || true
		done
	else
		echo "(no Bun or no C compiler: the Bun floor is not measured)"
	fi
	if command -v "${CC:-cc}" >/dev/null; then
		printf '.globl _start\n_start:\n\tmov $60, %%eax\n\txor %%edi, %%edi\n\tsyscall\n' >"$work/exit0.s"
		"${CC:-cc}" -nostdlib -static -o "$work/exit0" "$work/exit0.s"
		scale_bundle "$work/b-mem" '["/exit0"]'
		cp "$work/exit0" "$work/b-mem/rootfs/exit0"
		scale_memory_program=/exit0 scale_memory
		rm -f "$work/b-mem/rootfs/exit0"
	fi
}
