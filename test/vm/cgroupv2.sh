#!/usr/bin/env bash
# cgroupv2.sh — runts on pure cgroup v2, with the cgroupfs and the systemd drivers, compared
# with runc on the same configs. Runs INSIDE the VM of ../shared/cgroupv2-vm (Debian 12,
# systemd 252 as PID 1, cgroup_no_v1=all, Debian's runc 1.1.5); start it from the host with
#
#     bash test/vm/run-vm-tests.sh
#
# which builds the VM if needed and the busybox rootfs this reads (the guest has no busybox).
# Plain bash: the guest has no jq, node or python. Its own pass/fail count; the last line is
# exactly "N passed, M failed", and the exit status is 0 only when nothing failed.
#
# Everything in the guest runs under software emulation (several times slower than the
# host): few containers, each doing several checks.
#
#   RUNTS_BIN  the runtime under test (default <repo>/dist/runts; /usr/sbin/runc validates
#              this script against runc itself: the runts-only checks are skipped)
#   RUNC_BIN   the runc to compare with (default /usr/sbin/runc)
#   RECVTTY    test/fixtures/recvtty (a console socket's receiving end, for criu.sh)
#   RUNTS_CORE_TESTS  runts-core's Rust test binary, built on the host by run-vm-tests.sh: its
#              cgroups::tests run here too, where their v2 and systemd cases apply (one check
#              each; on the v1 host those tests exercise the v1 cases and the refusal without
#              systemd)
set -u
T0=$SECONDS
HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
RUNTS_SRC=${RUNTS_BIN:-$REPO/dist/runts}
RUNC=${RUNC_BIN:-/usr/sbin/runc}
BUNDLE=${VM_BUNDLE:-$REPO/build/vm/bundle}
IS_RUNC=0; [ "$(basename "$RUNTS_SRC")" = runc ] && IS_RUNC=1

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
# eq DESC GOT WANT
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
# check DESC CMD...: passes when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
finish() {
  echo "# guest time: $((SECONDS - T0))s"
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
}

[ -f /sys/fs/cgroup/cgroup.controllers ] || { bad "not a cgroup v2 host"; finish; }
[ -x "$RUNTS_SRC" ] || { bad "no runtime binary at $RUNTS_SRC (npm run build on the host)"; finish; }
[ -d "$BUNDLE/rootfs" ] || { bad "no bundle at $BUNDLE (made by run-vm-tests.sh)"; finish; }

W=$(mktemp -d /var/tmp/runts-vm.XXXXXX)
# Local copies: each call would otherwise read the 110 MB binary over 9p, and a rootfs on 9p
# is not what containers run on.
cp "$RUNTS_SRC" "$W/$(basename "$RUNTS_SRC")"
RUNTS=$W/$(basename "$RUNTS_SRC")
cp -a "$BUNDLE/rootfs" "$W/rootfs"

rt() { "$RUNTS" --root "$W/state-runts" "$@"; }
rc() { "$RUNC" --root "$W/state-runc" "$@"; }
rt_sd() { "$RUNTS" --systemd-cgroup --root "$W/state-runts" "$@"; }
rc_sd() { "$RUNC" --systemd-cgroup --root "$W/state-runc" "$@"; }

cleanup() {
  local id
  for id in $(rt list -q 2>/dev/null); do rt delete -f "$id" >/dev/null 2>&1; done
  for id in $(rc list -q 2>/dev/null); do rc delete -f "$id" >/dev/null 2>&1; done
  rm -rf "$W"
}
trap cleanup EXIT

# config ARGS RESOURCES [CGROUPS_PATH]: a config.json on stdout (runc spec's defaults);
# ARGS is a JSON array, RESOURCES a JSON object.
config() {
  cat <<EOF
{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $1,
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "noNewPrivileges": true
  },
  "root": {"path": "$W/rootfs", "readonly": true},
  "hostname": "vm",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": $2,
    "cgroupsPath": "${3:-}",
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
EOF
}

# bundle NAME ARGS RESOURCES [CGROUPS_PATH] -> prints the bundle dir
bundle() {
  local d=$W/bundles/$1
  mkdir -p "$d"
  config "$2" "$3" "${4:-}" > "$d/config.json"
  echo "$d"
}

# pid_of RUNTIME_FN ID: the init's pid from `state`
pid_of() { "$1" state "$2" 2>/dev/null | sed -n 's/^ *"pid": *\([0-9]*\),*$/\1/p'; }
status_of() { "$1" state "$2" 2>/dev/null | sed -n 's/^ *"status": *"\([a-z]*\)",*$/\1/p'; }
# cgdir PID: the host directory of PID's (only) cgroup
cgdir() { echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$1/cgroup")"; }
val() { cat "$1" 2>/dev/null || echo "<absent>"; }

# knobs_diff DIR_A DIR_B: one line per setting file whose content differs (counters, usage,
# pressure and membership left out: they differ between any two cgroups)
knobs_diff() {
  local f va vb
  for f in $( (ls "$1"; ls "$2") | sort -u); do
    case $f in
      cgroup.procs | cgroup.threads | cgroup.events | cgroup.stat | cgroup.kill | memory.reclaim) continue ;;
      *stat | *stat.local | *.current | *.peak | *pressure | *.events | *.events.local) continue ;;
    esac
    va=$(cat "$1/$f" 2>/dev/null) || va="<unreadable or absent>"
    vb=$(cat "$2/$f" 2>/dev/null) || vb="<unreadable or absent>"
    [ "$va" = "$vb" ] || echo "$f: runts '$va' runc '$vb'"
  done
}

# the key names of a JSON document, sorted and unique (the shape of `events` output)
json_keys() { grep -o '"[A-Za-z_]*":' | sort -u; }
# json_keys without those Go's omitempty drops when zero, joined on one line
omitempty() { grep -vxE '"(cache|max|ioServiceBytesRecursive|ioServicedRecursive|major|minor|op|value|throttledPeriods|throttledTime)":' | tr '\n' ' '; }

MiB=1048576
RES='{"memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728},
  "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
  "pids": {"limit": 50}, "blockIO": {"weight": 300}, "unified": {"memory.high": "58720256"}}'
SLEEP='["sleep", "1000"]'

echo "# runts: $RUNTS_SRC; runc: $("$RUNC" --version | head -1)"
echo "# host: $(uname -r), $(systemctl --version | head -1), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

# ---------------------------------------------------------------- runts check
if [ "$IS_RUNC" = 0 ]; then
  echo "# runts check (the host diagnosis) on pure cgroup v2 with systemd and a working CRIU"
  chk=$(rt check 2>&1); chk_rc=$?
  eq "check: exit 0 (nothing FAILs)" "$chk_rc" 0
  check "check: cgroup v2 and its controllers" grep -qE '^OK +cgroups +cgroup v2 \(unified\); controllers: .*memory' <<< "$chk"
  check "check: systemd running, with its version" grep -qE '^OK +systemd +running \(systemd [0-9]+' <<< "$chk"
  check "check: clone3 with CLONE_INTO_CGROUP works" grep -qE '^OK +clone3 +clone3 with CLONE_INTO_CGROUP works' <<< "$chk"
  check "check: criu check passes" grep -qE '^OK +CRIU +.* criu check passes' <<< "$chk"
  # The guest's 6.1 has no MFD_EXEC (Linux 6.3): the addon's memfd is made without it.
  check "check: executable memfds (6.1: made without MFD_EXEC)" grep -qE '^OK +memfd +executable memfds work \(no vm.memfd_noexec' <<< "$chk"
  check "check: the addon left no copy in /tmp or \$TMPDIR" bash -c '! ls /tmp/.bun-* "${TMPDIR:-/tmp}"/.bun-* >/dev/null 2>&1'
  [ "$chk_rc" = 0 ] && grep -qE '^OK +CRIU .*passes' <<< "$chk" || echo "$chk" | sed 's/^/#   /'
fi

# ---------------------------------------------------------------- cgroupfs driver
echo "# cgroupfs driver: resources"
ba=$(bundle a "$SLEEP" "$RES")
bb=$(bundle b "$SLEEP" "$RES")
rt create -b "$ba" v2a; eq "create with resources" "$?" 0
rc create -b "$bb" v2b >/dev/null || bad "runc create failed"
pa=$(pid_of rt v2a); pb=$(pid_of rc v2b)
da=$(cgdir "$pa"); db=$(cgdir "$pb")
eq "cgroup location as runc's (no cgroupsPath)" "${da%/v2a}" "${db%/v2b}"
eq "the init's cgroup is named after the id" "$(basename "$da")" v2a
eq "memory.max" "$(val "$da/memory.max")" 67108864
eq "memory.low (reservation)" "$(val "$da/memory.low")" 33554432
eq "memory.high (unified)" "$(val "$da/memory.high")" 58720256
eq "memory.swap.max (swap - limit)" "$(val "$da/memory.swap.max")" $((64 * MiB))
eq "pids.max" "$(val "$da/pids.max")" 50
eq "cpu.max" "$(val "$da/cpu.max")" "50000 100000"
eq "cpu.weight (from shares 512) as runc" "$(val "$da/cpu.weight")" "$(val "$db/cpu.weight")"
eq "cpuset.cpus" "$(val "$da/cpuset.cpus")" 0
if [ -e "$db/io.bfq.weight" ] || [ -e "$db/io.weight" ]; then
  eq "io weight as runc (io.bfq.weight or io.weight)" "$(val "$da/io.bfq.weight") $(val "$da/io.weight")" "$(val "$db/io.bfq.weight") $(val "$db/io.weight")"
else
  echo "# no io.weight/io.bfq.weight in the guest: io weight not compared"
fi
eq "every setting file equals runc's" "$(knobs_diff "$da" "$db")" ""

# pids.limit 1: the init is the only process the container may have (runc manages it)
bp=$(bundle pids1 '["/bin/true"]' '{"pids": {"limit": 1}}')
out=$(rc run -b "$bp" pids1-runc 2>&1); runc_status=$?
[ $runc_status = 0 ] || echo "# runc cannot run /bin/true with pids.limit 1 either: $out"
out=$(rt run -b "$bp" pids1 2>&1); eq "pids.limit 1 runs /bin/true, as runc (${out:-no output})" "$?" "$runc_status"
if [ $IS_RUNC = 0 ]; then
  bs=$(bundle small '["/bin/true"]' '{"memory": {"limit": 524288}, "pids": {"limit": 1}}')
  out=$(rt run -b "$bs" small 2>&1); eq "512 KiB + pids.limit 1 runs /bin/true (${out:-no output})" "$?" 0
fi

echo "# pause, resume, ps, events, update"
rt start v2a; rc start v2b
rt pause v2a; eq "pause" "$?" 0
eq "pause: cgroup.freeze" "$(val "$da/cgroup.freeze")" 1
eq "pause: cgroup.events frozen" "$(grep '^frozen' "$da/cgroup.events")" "frozen 1"
eq "pause: state" "$(status_of rt v2a)" paused
rt resume v2a; eq "resume" "$?" 0
eq "resume: cgroup.freeze" "$(val "$da/cgroup.freeze")" 0
eq "resume: state" "$(status_of rt v2a)" running

eq "ps -f json: the cgroup's pids" "$(rt ps -f json v2a)" "[$(paste -sd, "$da/cgroup.procs")]"

# exec: the process joins the container's cgroup (the host's view of it), or a sub-cgroup
exec_cgroup() { # RUNTIME ID [FLAGS...]: the cgroup of a process exec'd into the container
  local f=$W/exec-$2.pid r=$1 id=$2; shift 2
  rm -f "$f"; $r exec -d --pid-file "$f" "$@" "$id" sleep 30 || return
  sed -n 's/^0:://p' "/proc/$(cat "$f")/cgroup"; kill -9 "$(cat "$f")"
}
eq "exec: in the init's cgroup" "$(exec_cgroup rt v2a)" "$(sed -n 's/^0:://p' "/proc/$(pid_of rt v2a)/cgroup")"
eq "exec: as runc's" "$(exec_cgroup rt v2a | sed 's/v2a/ID/')" "$(exec_cgroup rc v2b | sed 's/v2b/ID/')"
mkdir -p "$da/sub" "$db/sub"
eq "exec --cgroup sub: in the sub-cgroup, as runc" "$(exec_cgroup rt v2a --cgroup sub | sed 's/v2a/ID/')" "$(exec_cgroup rc v2b --cgroup sub | sed 's/v2b/ID/')"
eq "exec --cgroup pids:sub: refused on cgroup v2" "$(rt exec --cgroup pids:sub v2a true 2>/dev/null; echo $?)" 255
eq "exec: born in the cgroup (CLONE_INTO_CGROUP), not moved" "$(rt --debug exec v2a true 2>&1 | grep -c 'spawned into it (CLONE_INTO_CGROUP)')" 1
# pids.max with room for the process alone: stage 1, born in the cgroup, cannot clone it there
# (EAGAIN); runts then starts it from outside and moves only the process in. (runc 1.1.5 fails
# here: its `runc init` joins the cgroup early and its Go threads count.)
bp2=$(bundle pids2 "$SLEEP" '{"pids": {"limit": 2}}')
rt run -d -b "$bp2" p2a; rc run -d -b "$bp2" p2b
eq "exec under a pids.max with room for one more" "$(rt exec p2a true; echo $?)" 0
echo "# runc exec there: status $(rc exec p2b true >/dev/null 2>&1; echo $?)"
rt exec -d p2a sleep 30 # pids.current 2: the cgroup is full
eq "exec into a full pids.max: the process is moved in (migration is not limited)" "$(rt exec p2a true 2>&1; echo $?)" 0
rt delete -f p2a; rc delete -f p2b
# --ignore-paused: stage 1 is born frozen in the frozen cgroup; the process runs once thawed
rt pause v2a
rt exec --ignore-paused v2a sh -c 'exit 4' & xp=$!
sleep 1; eq "exec --ignore-paused: waits while frozen" "$(kill -0 $xp 2>/dev/null && echo waiting)" waiting
rt resume v2a; wait $xp; eq "exec --ignore-paused: runs once thawed" "$?" 4
for _ in 1 2 3 4 5 6 7 8 9 10; do # the killed processes leave their cgroups once reaped
  rmdir "$da/sub" 2>/dev/null; rmdir "$db/sub" 2>/dev/null
  [ -e "$da/sub" ] || [ -e "$db/sub" ] || break; sleep 0.2
done

ev=$(rt events --stats v2a); evc=$(rc events --stats v2b)
eq "events --stats: one line" "$(printf '%s\n' "$ev" | wc -l)" 1
case $ev in '{"type":"stats","id":"v2a","data":{'*) ok "events --stats: type, id, data" ;; *) bad "events --stats: $ev" ;; esac
# Go omits zero values of some fields (memory.cache, blkio entries, the throttling counts: they
# come with the IO and CPU pressure a container had) and runc 1.1.5 reads no memory.peak
# ("max"): compare the other keys.
eq "events --stats: the keys runc prints" "$(printf '%s' "$ev" | json_keys | omitempty)" "$(printf '%s' "$evc" | json_keys | omitempty)"
eq "events --stats: swap limit (memory + swap) as runc" "$(printf '%s' "$ev" | grep -o '"swap":{"limit":[0-9]*')" "$(printf '%s' "$evc" | grep -o '"swap":{"limit":[0-9]*')"
case $ev in *'"pids":{"current":1,"limit":50}'*) ok "events --stats: pids" ;; *) bad "events --stats: no pids current 1 limit 50: $ev" ;; esac

upd=(--memory 100000000 --memory-swap 200000000 --pids-limit 77 --cpu-quota 30000 --cpu-period 200000 --cpu-share 700)
rt update "${upd[@]}" v2a; eq "update by flags" "$?" 0
rc update "${upd[@]}" v2b
eq "update: memory.max" "$(val "$da/memory.max")" 99999744
eq "update: pids.max" "$(val "$da/pids.max")" 77
eq "update: cpu.max" "$(val "$da/cpu.max")" "30000 200000"
eq "update: every setting file equals runc's" "$(knobs_diff "$da" "$db")" ""
echo '{"pids": {"limit": 33}}' | rt update -r - v2a; eq "update -r -" "$?" 0
eq "update -r -: pids.max" "$(val "$da/pids.max")" 33
eq "update -r -: memory.max kept" "$(val "$da/memory.max")" 99999744

rt delete -f v2a; eq "delete -f" "$?" 0
check "delete removed the cgroup" test ! -e "$da"
rc delete -f v2b

# ---------------------------------------------------------------- systemd driver
echo "# systemd driver"
SDRES='{"memory": {"limit": 67108864}, "cpu": {"shares": 512, "quota": 50000, "period": 100000}, "pids": {"limit": 50}}'
sa=$(bundle sda "$SLEEP" "$SDRES" "system.slice:runts:sd-a")
sb=$(bundle sdb "$SLEEP" "$SDRES" "system.slice:runts:sd-b")
rt_sd run -d -b "$sa" sd-a; eq "--systemd-cgroup run -d" "$?" 0
rc_sd run -d -b "$sb" sd-b || bad "runc --systemd-cgroup run -d failed"
pa=$(pid_of rt sd-a); pb=$(pid_of rc sd-b)
eq "the init is in the scope (as runc names it: <prefix>-<name>.scope)" \
  "$(sed -n 's/^0:://p' "/proc/$pa/cgroup")" "$(sed -n 's/^0:://p' "/proc/$pb/cgroup" | sed 's/sd-b/sd-a/')"
eq "scope's cgroup" "$(sed -n 's/^0:://p' "/proc/$pa/cgroup")" /system.slice/runts-sd-a.scope
# The init joins the scope before it unshares its cgroup namespace: rooted there, as runc's.
eq "systemd + cgroup namespace: the init sees its scope as / (as runc's)" "$(rt_sd exec sd-a cat /proc/1/cgroup)" "$(rc_sd exec sd-b cat /proc/1/cgroup)"
eq "systemctl is-active runts-sd-a.scope" "$(systemctl is-active runts-sd-a.scope)" active
eq "Delegate=yes" "$(systemctl show -p Delegate --value runts-sd-a.scope)" yes
props=(-p Slice -p MemoryMax -p TasksMax -p CPUWeight -p CPUQuotaPerSecUSec -p CPUQuotaPeriodUSec -p Delegate -p DelegateControllers)
eq "unit properties as runc's scope" "$(systemctl show "${props[@]}" runts-sd-a.scope)" "$(systemctl show "${props[@]}" runts-sd-b.scope)"
sda_dir=$(cgdir "$pa"); sdb_dir=$(cgdir "$pb")
eq "scope memory.max" "$(val "$sda_dir/memory.max")" 67108864
eq "scope pids.max" "$(val "$sda_dir/pids.max")" 50
eq "scope cpu.max" "$(val "$sda_dir/cpu.max")" "50000 100000"
eq "scope: every setting file equals runc's" "$(knobs_diff "$sda_dir" "$sdb_dir")" ""
# uint64 as the kernel has it: no swap limit is memory.swap.max "max", 2^64-1 in the stats,
# which a JSON number through a double would print as 18446744073709552000
eq "systemd events --stats: unlimited swap is 18446744073709551615, as runc" \
  "$(rt_sd events --stats sd-a | grep -o '"swap":{"limit":[0-9]*')" "$(rc_sd events --stats sd-b | grep -o '"swap":{"limit":[0-9]*')"
eq "systemd ps -f json" "$(rt_sd ps -f json sd-a)" "[$(paste -sd, "$sda_dir/cgroup.procs")]"
rt_sd update --memory 100000000 --pids-limit 77 sd-a; eq "systemd update" "$?" 0
rc_sd update --memory 100000000 --pids-limit 77 sd-b
eq "systemd update: memory.max" "$(val "$sda_dir/memory.max")" 99999744
eq "systemd update: unit properties as runc's" "$(systemctl show "${props[@]}" runts-sd-a.scope)" "$(systemctl show "${props[@]}" runts-sd-b.scope)"
eq "systemd update: every setting file equals runc's" "$(knobs_diff "$sda_dir" "$sdb_dir")" ""
eq "systemd exec: in the scope" "$(exec_cgroup rt_sd sd-a)" /system.slice/runts-sd-a.scope
eq "systemd exec: born in the scope (CLONE_INTO_CGROUP)" "$(rt_sd --debug exec sd-a true 2>&1 | grep -c 'spawned into it (CLONE_INTO_CGROUP)')" 1
rt_sd pause sd-a; eq "systemd pause: cgroup.freeze" "$(val "$sda_dir/cgroup.freeze")" 1
rt_sd resume sd-a; eq "systemd resume: cgroup.freeze" "$(val "$sda_dir/cgroup.freeze")" 0
rt_sd delete -f sd-a; eq "systemd delete -f" "$?" 0
rc_sd delete -f sd-b
check "systemd delete removed the cgroup" test ! -e "$sda_dir"
eq "systemd delete: the scope is gone (as runc's)" \
  "$(systemctl show -p LoadState -p ActiveState runts-sd-a.scope)" "$(systemctl show -p LoadState -p ActiveState runts-sd-b.scope)"
eq "systemd delete: not active" "$(systemctl is-active runts-sd-a.scope)" inactive

# ---------------------------------------------------------------- rootless, the user's systemd
echo "# rootless: a user with a lingering systemd instance (its delegated cgroup v2 subtree)"
RL=runts-vm-rl
id "$RL" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$RL"
RLU=$(id -u "$RL")
loginctl enable-linger "$RL"
for _ in $(seq 100); do [ -S "/run/user/$RLU/bus" ] && break; sleep 0.2; done
check "rootless: the user's bus is up" test -S "/run/user/$RLU/bus"
RLW=$W/rootless; mkdir -p "$RLW/b"; cp -a "$W/rootfs" "$RLW/rootfs"; chown -R "$RL:" "$RLW"; chmod 755 "$W"
# as_rl CMD...: as the user, in a scope of its own systemd (as from its session)
as_rl() {
  runuser -u "$RL" -- env XDG_RUNTIME_DIR="/run/user/$RLU" DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$RLU/bus" \
    systemd-run --user --scope --quiet "$@"
}
(cd "$RLW/b" && runuser -u "$RL" -- "$RUNTS" spec --rootless)
sed -i "s#\"path\": \"rootfs\"#\"path\": \"$RLW/rootfs\"#; s#\"sh\"#\"sleep\", \"1000\"#; s#\"terminal\": true#\"terminal\": false#" "$RLW/b/config.json"
sed -i 's#"linux": {#"linux": {"resources": {"pids": {"limit": 20}},#' "$RLW/b/config.json"
rl_cg() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
as_rl "$RUNTS" --systemd-cgroup run -d -b "$RLW/b" rl-a; eq "rootless --systemd-cgroup run -d" "$?" 0
as_rl "$RUNC" --systemd-cgroup run -d -b "$RLW/b" rl-b >/dev/null 2>&1 || echo "# runc rootless --systemd-cgroup run -d failed"
rla=$(as_rl "$RUNTS" state rl-a | sed -n 's/^ *"pid": *\([0-9]*\),*$/\1/p')
rlb=$(as_rl "$RUNC" state rl-b 2>/dev/null | sed -n 's/^ *"pid": *\([0-9]*\),*$/\1/p')
# (No cgroupsPath: runc's default unit name, runc-<id>.scope, as for root.)
eq "rootless systemd: the scope is below the user's manager" "$(rl_cg "$rla")" "/user.slice/user-$RLU.slice/user@$RLU.service/user.slice/runc-rl-a.scope"
[ -n "$rlb" ] && eq "rootless systemd: as runc's" "$(rl_cg "$rla" | sed 's/rl-a/X/')" "$(rl_cg "$rlb" | sed 's/rl-b/X/')"
eq "rootless systemd: pids.max" "$(val "/sys/fs/cgroup$(rl_cg "$rla")/pids.max")" 20
eq "rootless systemd: exec into the scope" "$(as_rl "$RUNTS" exec rl-a sh -c 'sed -n "s/^0:://p" /proc/self/cgroup' | sed 's#.*/##')" "runc-rl-a.scope"
as_rl "$RUNTS" pause rl-a; eq "rootless systemd: pause" "$(val "/sys/fs/cgroup$(rl_cg "$rla")/cgroup.freeze")" 1
as_rl "$RUNTS" resume rl-a; eq "rootless systemd: resume" "$(val "/sys/fs/cgroup$(rl_cg "$rla")/cgroup.freeze")" 0
rl_dir="/sys/fs/cgroup$(rl_cg "$rla")"
as_rl "$RUNTS" --systemd-cgroup delete -f rl-a; eq "rootless systemd: delete -f" "$?" 0
check "rootless systemd: the scope's cgroup is gone" test ! -e "$rl_dir"
[ -n "$rlb" ] && as_rl "$RUNC" --systemd-cgroup delete -f rl-b
# cgroupfs in the delegated subtree: a cgroupsPath below the user's manager
sed -i "s#\"linux\": {#\"linux\": {\"cgroupsPath\": \"/user.slice/user-$RLU.slice/user@$RLU.service/rl-c\",#" "$RLW/b/config.json"
as_rl "$RUNTS" run -d -b "$RLW/b" rl-c; eq "rootless cgroupfs in the delegated subtree: run -d" "$?" 0
rlc=$(as_rl "$RUNTS" state rl-c | sed -n 's/^ *"pid": *\([0-9]*\),*$/\1/p')
eq "rootless cgroupfs: the cgroup" "$(rl_cg "$rlc")" "/user.slice/user-$RLU.slice/user@$RLU.service/rl-c"
eq "rootless cgroupfs: pids.max" "$(val "/sys/fs/cgroup/user.slice/user-$RLU.slice/user@$RLU.service/rl-c/pids.max")" 20
as_rl "$RUNTS" delete -f rl-c; eq "rootless cgroupfs: delete -f" "$?" 0
check "rootless cgroupfs: the cgroup is gone" test ! -e "/sys/fs/cgroup/user.slice/user-$RLU.slice/user@$RLU.service/rl-c"
loginctl disable-linger "$RL"

# ---------------------------------------------------------------- checkpoint and restore
. "$HERE/criu.sh"

# ---------------------------------------------------------------- runts-core's Rust tests
echo "# runts-core cgroups::tests and criu::tests (Rust, built on the host): the v2 and systemd cases, CRIU's RPC where CRIU works"
if [ -z "${RUNTS_CORE_TESTS:-}" ] || [ ! -x "$RUNTS_CORE_TESTS" ]; then
  bad "no runts-core test binary (RUNTS_CORE_TESTS='${RUNTS_CORE_TESTS:-}'; run-vm-tests.sh builds it)"
else
  # As root with --include-ignored, every test of the module runs; each result is one check.
  RUNTS_EXPECT_CRIU=1 "$RUNTS_CORE_TESTS" --include-ignored --test-threads=1 cgroups::tests criu::tests > "$W/core-tests.log" 2>&1
  core_rc=$?
  n=0
  while read -r _ name _ result; do
    n=$((n + 1))
    if [ "$result" = ok ]; then ok "rust $name"; else bad "rust $name: $result"; fi
  done < <(grep -E '^test (cgroups|criu)::tests::[a-z0-9_]+ \.\.\. ' "$W/core-tests.log")
  if [ "$core_rc" != 0 ] || [ "$n" = 0 ]; then
    bad "runts-core cgroups::tests: exit $core_rc, $n test(s):"
    sed 's/^/#   /' "$W/core-tests.log"
  fi
fi

finish
